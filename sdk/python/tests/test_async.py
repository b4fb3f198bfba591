"""AsyncTensorify: every operation, awaited, against the real server (and a dropped log stream)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tensorify import (
    AsyncStoredWorkflow,
    AsyncTensorify,
    AuthenticationError,
    ConflictError,
    InvalidWorkflowError,
    NotFoundError,
    RateLimitError,
    WaitTimeoutError,
)

from .support import ADMIN_KEY, CuttingProxy, FaultProxy, Server, last_event_ids, printer


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_workflow_operations(server: Server, hello: Dict[str, Any], tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncTensorify(api_key=ADMIN_KEY, base_url=server.base_url) as client:
            stored = await client.workflows.create(hello)
            assert isinstance(stored, AsyncStoredWorkflow) and stored.version == 1
            assert await client.workflows.get(stored.id) == stored
            listed = [workflow.id async for workflow in client.workflows.list(page_size=1)]
            assert stored.id == listed[0] and len(listed) == len(set(listed))
            updated = await client.workflows.update(stored.id, hello, name="Async", if_match=1)
            assert updated.version == 2
            with pytest.raises(ConflictError):
                await client.workflows.update(stored.id, hello, if_match=1)
            assert (await client.workflows.validate(hello)).valid
            with pytest.raises(InvalidWorkflowError):
                await client.workflows.create(name="Bad", nodes=[], edges=[])
            files = await client.workflows.export(stored.id, to=tmp_path)
            assert (tmp_path / "main.py").read_text() == files["main.py"]
            assert await stored.export() == files
            archive = zipfile.ZipFile(io.BytesIO(await client.workflows.export_zip(stored.id)))
            assert sorted(archive.namelist()) == sorted(files)
            handle = await (await client.workflows.get(stored.id)).run(inputs={"name": "Ada"})
            execution = await handle.wait(timeout=120)
            assert execution.output == {"result": "Hello, Ada!"}
            again = await client.workflows.execute(stored.id, inputs={"name": "Bo"}, idempotency_key="async-1", timeout_seconds=30)
            assert (await again.wait(timeout=120)).output == {"result": "Hello, Bo!"}
            await client.workflows.delete(stored.id)
            with pytest.raises(NotFoundError):
                await client.workflows.get(stored.id)

    run(scenario())


def test_execution_operations(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncTensorify(api_key=ADMIN_KEY, base_url=server.base_url) as client:
            stored = await client.workflows.create(printer())
            handle = await stored.run(inputs={"lines": 4})
            lines: List[str] = [line async for line in handle.logs()]
            finished = await client.executions.get(handle.id)
            assert finished.succeeded and lines == finished.logs
            assert [line async for line in client.executions.logs(handle.id, after=0)] == lines[1:]
            assert await client.executions.files(handle.id) == await stored.export()
            assert [e.id async for e in client.executions.list(workflow_id=stored.id, status="completed")] == [handle.id]

            slow = await stored.run(inputs={"lines": 1, "pause": 120})
            with pytest.raises(WaitTimeoutError):
                await slow.wait(timeout=0.3)
            assert (await slow.get()).status in ("queued", "running")
            await slow.cancel()
            assert (await client.executions.wait(slow.id, timeout=60)).status == "cancelled"
            with pytest.raises(ConflictError):
                await client.executions.cancel(slow.id)
            await client.executions.delete(slow.id)

    run(scenario())


def test_log_stream_resumes_across_a_dropped_connection(server: Server) -> None:
    proxy = CuttingProxy(server.root, cuts=[3])

    async def scenario() -> None:
        async with AsyncTensorify(api_key=ADMIN_KEY, base_url=server.base_url) as client:
            handle = await (await client.workflows.create(printer())).run(inputs={"lines": 8, "pause": 0.05})
            async with AsyncTensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1") as through:
                stream = through.executions.logs(handle.id)
                lines = [line async for line in stream]
            assert stream.status == "completed"
            assert lines == (await client.executions.get(handle.id)).logs

    try:
        run(scenario())
    finally:
        proxy.close()
    assert last_event_ids(proxy.requests)[:2] == [None, "2"]


def test_access_and_platform_operations(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncTensorify(api_key=ADMIN_KEY, base_url=server.base_url) as client:
            assert (await client.me.get()).workspace.name == "default"
            workspace = await client.workspaces.create("async-team", plan="free")
            assert await client.workspaces.get(workspace.id) == workspace
            assert (await client.workspaces.update(workspace.id, plan="pro")).rate_limit_per_minute == 300
            assert workspace.id in [w.id async for w in client.workspaces.list()]
            key = await client.api_keys.create("async", workspace_id=workspace.id)
            assert [k.id async for k in client.api_keys.list(workspace_id=workspace.id)] == [key.id]
            await client.api_keys.revoke(key.id)
            async with AsyncTensorify(api_key=key.key, base_url=server.base_url) as revoked:
                with pytest.raises(AuthenticationError):
                    await revoked.me.get()
            assert "transform" in {node.type for node in await client.nodes.list()}
            assert (await client.nodes.catalog())["nodes"]
            assert (await client.nodes.packs())[0]["source"] == "builtin"
            assert "local" in {executor.id for executor in await client.executors.list()}
            assert (await client.system.get()).cpu.cores >= 1
            assert (await client.system.health()).status == "ok"
            assert (await client.system.ready()).ready
            assert "# TYPE" in await client.system.metrics()

    run(scenario())


def test_retries_honour_retry_after(proxy: FaultProxy) -> None:
    proxy.add("GET /v1/me", "status", 429, 1)
    for _ in range(3):
        proxy.add("GET /v1/system", "status", 429, 0)

    async def scenario() -> None:
        async with AsyncTensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1") as client:
            assert (await client.me.get()).api_key.scopes == ["admin"]
            with pytest.raises(RateLimitError):
                await client.system.get()

    run(scenario())
    me = [seen for seen in proxy.seen if seen.path == "/v1/me"]
    assert len(me) == 2 and me[1].at - me[0].at >= 1.0
    assert len([seen for seen in proxy.seen if seen.path == "/v1/system"]) == 3

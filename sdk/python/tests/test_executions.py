"""client.executions against the real server: get, list, cancel, files, wait and the live log stream."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from tensorify import ConflictError, NotFoundError, Tensorify, WaitTimeoutError

from .support import ADMIN_KEY, CuttingProxy, Server, last_event_ids, printer


def test_get_returns_status_logs_and_output(client: Tensorify, hello: Dict[str, Any]) -> None:
    handle = client.workflows.create(hello).run(inputs={"name": "Ada"})
    handle.wait(timeout=120)
    execution = client.executions.get(handle.id)
    assert execution.id == handle.id and execution.finished and execution.succeeded
    assert execution.logs and execution.output == {"result": "Hello, Ada!"}
    assert execution.error is None and execution.exit_code == 0
    assert execution.started_at is not None and execution.completed_at is not None


def test_list_filters_by_workflow_and_status(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    ids = [stored.run(inputs={"name": str(i)}).wait(timeout=120).id for i in range(3)]
    listed = list(client.executions.list(workflow_id=stored.id, page_size=2))
    assert [execution.id for execution in listed] == list(reversed(ids))
    assert {execution.status for execution in listed} == {"completed"}
    assert list(client.executions.list(workflow_id=stored.id, status="failed")) == []


def test_a_failed_run_is_returned_by_wait_with_its_error(client: Tensorify) -> None:
    body = printer("Fails")
    body["nodes"][1]["settings"]["code"] = "raise RuntimeError('boom')"
    execution = client.workflows.create(body).run().wait(timeout=120)
    assert execution.status == "failed" and not execution.succeeded
    assert execution.error is not None and execution.error.code == "EXECUTION_FAILED" and "boom" in execution.error.message


def test_files_are_the_exported_files(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    handle = stored.run(inputs={"name": "Ada"})
    handle.wait(timeout=120)
    assert client.executions.files(handle.id) == stored.export()


def test_wait_gives_up_after_its_timeout_and_cancel_stops_the_run(client: Tensorify) -> None:
    handle = client.workflows.create(printer("Slow")).run(inputs={"lines": 1, "pause": 120})
    with pytest.raises(WaitTimeoutError) as caught:
        handle.wait(timeout=0.5)
    assert caught.value.execution_id == handle.id and isinstance(caught.value, TimeoutError)
    cancelled = handle.cancel()
    assert cancelled.status in ("cancelled", "running")
    final = client.executions.wait(handle.id, timeout=60)
    assert final.status == "cancelled"
    with pytest.raises(ConflictError):
        client.executions.cancel(handle.id)
    client.executions.delete(handle.id)
    with pytest.raises(NotFoundError):
        client.executions.get(handle.id)


def test_rerun_queues_a_new_run_of_a_finished_one_and_refuses_a_running_one(client: Tensorify, hello: Dict[str, Any]) -> None:
    first = client.workflows.create(hello).run(inputs={"name": "Ada"}).wait(timeout=120)
    again = client.executions.rerun(first.id)
    assert again.id != first.id and again.status == "queued"
    rerun = again.wait(timeout=120)
    assert rerun.output == {"result": "Hello, Ada!"}
    assert client.executions.files(rerun.id) == client.executions.files(first.id)
    running = client.workflows.create(printer("Slow")).run(inputs={"lines": 1, "pause": 120})
    with pytest.raises(ConflictError):
        client.executions.rerun(running.id)
    running.cancel()
    client.executions.wait(running.id, timeout=60)


def test_unknown_execution_is_not_found(client: Tensorify) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.executions.get("exec_doesnotexist00")
    assert caught.value.code == "EXECUTION_NOT_FOUND"


def test_logs_yields_every_line_then_the_final_status(client: Tensorify) -> None:
    handle = client.workflows.create(printer()).run(inputs={"lines": 5, "pause": 0.05})
    stream = handle.logs()
    lines = list(stream)
    assert stream.status == "completed"
    assert lines == client.executions.get(handle.id).logs
    assert [line for line in lines if line.startswith("line ")] == [f"line {i}" for i in range(5)]


def test_logs_after_a_line_starts_after_it(client: Tensorify) -> None:
    handle = client.workflows.create(printer()).run(inputs={"lines": 3})
    everything = handle.wait(timeout=120).logs
    assert list(client.executions.logs(handle.id, after=1)) == everything[2:]


def test_logs_resume_across_dropped_connections_without_repeating_or_skipping(server: Server, client: Tensorify) -> None:
    handle = client.workflows.create(printer()).run(inputs={"lines": 12, "pause": 0.05})
    # The first connection is cut after 2 lines, the second after 3 more; the third runs to the end.
    proxy = CuttingProxy(server.root, cuts=[2, 3])
    try:
        with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", timeout=30) as through_proxy:
            stream = through_proxy.executions.logs(handle.id)
            lines = list(stream)
    finally:
        proxy.close()
    assert stream.status == "completed"
    assert lines == client.executions.get(handle.id).logs
    assert len(proxy.requests) >= 3
    assert last_event_ids(proxy.requests)[:3] == [None, "1", "4"]


def test_the_log_stream_can_be_closed_early(client: Tensorify) -> None:
    handle = client.workflows.create(printer()).run(inputs={"lines": 200, "pause": 0.2})
    with handle.logs() as stream:
        first = next(stream)
    assert first
    assert stream.status is None
    handle.cancel()
    assert client.executions.wait(handle.id, timeout=60).status == "cancelled"



def test_a_quiet_stream_outlives_a_short_client_timeout(server: Server, client: Tensorify) -> None:
    handle = client.workflows.create(printer()).run(inputs={"lines": 2, "pause": 1.5})
    proxy = CuttingProxy(server.root, cuts=[])  # passes everything through; counts the connections
    try:
        with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", timeout=0.5) as short:
            stream = short.executions.logs(handle.id)
            lines = list(stream)
    finally:
        proxy.close()
    assert stream.status == "completed" and lines == client.executions.get(handle.id).logs
    assert len(proxy.requests) == 1

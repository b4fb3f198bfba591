"""me, workspaces, api_keys, nodes, executors, system, health and metrics against the real server."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import pytest

from tensorify import AuthenticationError, NotFoundError, Tensorify
from tensorify.types import ExecutorWarmProcess

from .support import Server


def test_me_names_the_workspace_and_key(client: Tensorify) -> None:
    me = client.me.get()
    assert (me.workspace.name, me.workspace.plan) == ("default", "enterprise")
    assert me.api_key.scopes == ["admin"] and me.api_key.prefix.startswith("tfy_")


def test_workspaces_create_get_update_list(client: Tensorify) -> None:
    created = client.workspaces.create("team-sdk", plan="pro")
    assert created.id.startswith("ws_") and created.rate_limit_per_minute == 300
    assert client.workspaces.get(created.id) == created
    updated = client.workspaces.update(created.id, plan="enterprise", rate_limit_per_minute=1234)
    assert (updated.plan, updated.rate_limit_per_minute) == ("enterprise", 1234)
    renamed = client.workspaces.update(created.id, name="team-sdk-renamed")
    assert (renamed.name, renamed.plan) == ("team-sdk-renamed", "enterprise")
    assert (created.retention_days, created.retention_days_overridden) == (30, False)
    kept = client.workspaces.update(created.id, retention_days=14)
    assert (kept.retention_days, kept.retention_days_overridden) == (14, True)
    assert client.workspaces.update(created.id, default_retention=True).retention_days == 90
    assert created.id in [workspace.id for workspace in client.workspaces.list(page_size=1)]
    with pytest.raises(NotFoundError) as caught:
        client.workspaces.get("ws_doesnotexist0000")
    assert caught.value.code == "WORKSPACE_NOT_FOUND"


def test_api_keys_create_list_revoke(client: Tensorify, server: Server) -> None:
    workspace = client.workspaces.create("keys-sdk", plan="pro")
    expires = datetime.now(timezone.utc) + timedelta(days=30)
    created = client.api_keys.create("ci", workspace_id=workspace.id, scopes=["workflows:read"], expires_at=expires)
    assert created.key.startswith("tfy_") and created.key not in repr(created)
    assert created.workspace_id == workspace.id and created.expires_at is not None
    listed = list(client.api_keys.list(workspace_id=workspace.id))
    assert [key.id for key in listed] == [created.id] and not hasattr(listed[0], "key")
    with Tensorify(api_key=created.key, base_url=server.base_url) as ci:
        assert ci.me.get().workspace.id == workspace.id
        client.api_keys.revoke(created.id)
        with pytest.raises(AuthenticationError):
            ci.me.get()
    assert next(iter(client.api_keys.list(workspace_id=workspace.id))).revoked_at is not None
    with pytest.raises(NotFoundError) as caught:
        client.api_keys.revoke("key_doesnotexist000")
    assert caught.value.code == "API_KEY_NOT_FOUND"


def test_nodes_list_the_catalogue(client: Tensorify) -> None:
    nodes = {node.type: node for node in client.nodes.list()}
    assert nodes["manual"].trigger and not nodes["transform"].trigger
    assert nodes["transform"].settings_schema["type"] == "object"
    assert [port.id for port in nodes["if"].outputs] == ["true", "false"]
    assert client.nodes.catalog()["nodes"][0]["type"] in nodes
    builtin = client.nodes.packs()[0]
    assert (builtin["name"], builtin["namespace"], builtin["source"]) == ("tensorify-server", None, "builtin")
    assert {"type": "transform", "version": nodes["transform"].version} in builtin["types"]


def test_executors_list_the_local_executor(client: Tensorify) -> None:
    local = next(executor for executor in client.executors.list() if executor.id == "local")
    assert local.healthy and local.load_error is None and local.display_name


def test_executors_show_the_local_executors_warm_zygote(client: Tensorify, hello: Dict[str, Any]) -> None:
    # A first run of the bare interpreter starts its zygote; the list caches an executor's answer for 5 s.
    client.workflows.create(hello).run(inputs={"name": "Ada"}).wait(timeout=120)
    deadline = time.monotonic() + 30
    while True:
        local = next(executor for executor in client.executors.list() if executor.id == "local")
        ready = [zygote for zygote in local.warm if zygote.environment is None and zygote.state == "ready"]
        if ready or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert ready, f"no ready zygote of the bare interpreter: {local.warm}"
    zygote = ready[0]
    assert isinstance(zygote, ExecutorWarmProcess) and zygote.pid and zygote.command
    assert zygote.started_at.tzinfo is not None and zygote.age_seconds >= 0 and "json" in zygote.loaded


def test_system_tells_the_host_facts(client: Tensorify) -> None:
    facts = client.system.get()
    assert facts.server.version and facts.cpu.cores >= 1 and facts.memory.total_mb > 0
    assert len(facts.load_average) == 3 and facts.collected_at.tzinfo is not None
    assert facts.python.executable


def test_health_readiness_and_metrics(client: Tensorify) -> None:
    assert client.system.health().status == "ok"
    ready = client.system.ready()
    assert ready.ready and ready.checks["database"].startswith("ok")
    assert "# TYPE" in client.system.metrics()

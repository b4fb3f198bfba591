"""The ``tensorify`` command, run as the installed console script, with its exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from tensorify import Tensorify

from .support import ADMIN_KEY, Server, printer

SCRIPT = shutil.which("tensorify", path=str(Path(sys.executable).parent))


def tensorify(server: Server, *args: str, stdin: Optional[str] = None, key: Optional[str] = ADMIN_KEY) -> "subprocess.CompletedProcess[str]":
    assert SCRIPT is not None, "the tensorify console script is not installed next to this Python"
    env = {name: value for name, value in os.environ.items() if not name.startswith("TENSORIFY_")}
    env["TENSORIFY_BASE_URL"] = server.base_url
    if key is not None:
        env["TENSORIFY_API_KEY"] = key
    return subprocess.run([SCRIPT, *args], env=env, input=stdin, capture_output=True, text=True, timeout=180)


def test_workflows_list_shows_the_newest_first(server: Server, client: Tensorify, hello: Dict[str, Any]) -> None:
    older = client.workflows.create(hello, name="CLI older")
    newer = client.workflows.create(hello, name="CLI newer")
    result = tensorify(server, "workflows", "list")
    assert result.returncode == 0, result.stderr
    ids = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert ids.index(newer.id) < ids.index(older.id)
    as_json = [json.loads(line) for line in tensorify(server, "workflows", "list", "--json").stdout.splitlines()]
    assert {"id": newer.id, "name": "CLI newer"}.items() <= as_json[0].items()


def test_workflows_create_and_get(server: Server, hello: Dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "hello.json").write_text(json.dumps(hello))
    created = tensorify(server, "workflows", "create", str(tmp_path / "hello.json"))
    assert created.returncode == 0, created.stderr
    workflow_id = created.stdout.strip()
    shown = json.loads(tensorify(server, "workflows", "get", workflow_id).stdout)
    assert (shown["id"], shown["name"], shown["version"]) == (workflow_id, "Hello", 1)


def test_export_writes_the_project(server: Server, client: Tensorify, hello: Dict[str, Any], tmp_path: Path) -> None:
    stored = client.workflows.create(hello)
    result = tensorify(server, "export", stored.id, "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for name, content in stored.export().items():
        assert (tmp_path / "out" / name).read_text() == content


def test_run_prints_the_execution_id_and_returns_at_once(server: Server, client: Tensorify, hello: Dict[str, Any], tmp_path: Path) -> None:
    stored = client.workflows.create(hello)
    (tmp_path / "inputs.json").write_text('{"name": "Ada"}')
    result = tensorify(server, "run", stored.id, "--inputs", str(tmp_path / "inputs.json"))
    assert result.returncode == 0, result.stderr
    execution_id = result.stdout.strip()
    assert execution_id.startswith("exec_")
    assert client.executions.wait(execution_id, timeout=120).output == {"result": "Hello, Ada!"}


def test_run_wait_prints_the_output_and_exits_0(server: Server, client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    result = tensorify(server, "run", stored.id, "--inputs", "-", "--wait", stdin='{"name": "Ada"}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"result": "Hello, Ada!"}
    assert result.stderr.strip().startswith("exec_")


def test_run_follow_prints_the_lines_then_the_output(server: Server, client: Tensorify) -> None:
    stored = client.workflows.create(printer())
    result = tensorify(server, "run", stored.id, "--inputs", "-", "--follow", stdin='{"lines": 3}')
    assert result.returncode == 0, result.stderr
    execution_id = result.stderr.splitlines()[0]
    logs = client.executions.get(execution_id).logs
    assert result.stdout.startswith("\n".join(logs) + "\n")
    assert json.loads(result.stdout[len("\n".join(logs)) + 1 :]) == {"printed": 3}


def failing(client: Tensorify) -> str:
    body = printer("CLI fails")
    body["nodes"][1]["settings"]["code"] = "print('about to fail')\nraise RuntimeError('boom')"
    return client.workflows.create(body).id


def test_a_failed_run_exits_1_with_the_error(server: Server, client: Tensorify) -> None:
    result = tensorify(server, "run", failing(client), "--wait")
    assert result.returncode == 1
    assert "failed" in result.stderr and "boom" in result.stderr


def test_logs_prints_the_lines_and_follow_exits_by_status(server: Server, client: Tensorify) -> None:
    execution = client.workflows.create(printer()).run(inputs={"lines": 2}).wait(timeout=120)
    printed = tensorify(server, "logs", execution.id)
    assert printed.returncode == 0 and printed.stdout.splitlines() == execution.logs
    followed = tensorify(server, "logs", execution.id, "--follow")
    assert followed.returncode == 0 and followed.stdout.splitlines() == execution.logs
    failed = client.workflows.get(failing(client)).run().wait(timeout=120)
    assert tensorify(server, "logs", failed.id, "--follow").returncode == 1


def test_watch_shows_the_status_lines_and_output(server: Server, client: Tensorify) -> None:
    handle = client.workflows.create(printer()).run(inputs={"lines": 3, "pause": 0.1})
    result = tensorify(server, "watch", handle.id)
    assert result.returncode == 0, result.stderr
    logs = client.executions.get(handle.id).logs
    assert result.stdout.splitlines()[: len(logs)] == logs
    assert json.loads("\n".join(result.stdout.splitlines()[len(logs) :])) == {"printed": 3}
    assert f"Execution {handle.id}: completed" in result.stderr
    failed = client.workflows.get(failing(client)).run()
    watched = tensorify(server, "watch", failed.id)
    assert watched.returncode == 1 and "EXECUTION_FAILED" in watched.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["workflows", "get", "wf_doesnotexist000"],
        ["export", "wf_doesnotexist000", "-o", "unused"],
        ["run", "wf_doesnotexist000", "--wait"],
        ["logs", "exec_doesnotexist00"],
        ["watch", "exec_doesnotexist00"],
    ],
)
def test_an_unknown_id_exits_3(server: Server, args: List[str]) -> None:
    result = tensorify(server, *args)
    assert result.returncode == 3
    assert "NOT_FOUND" in result.stderr


@pytest.mark.parametrize(
    "args",
    [[], ["frobnicate"], ["export", "wf_x"], ["run"], ["workflows"]],
)
def test_bad_usage_exits_2(server: Server, args: List[str]) -> None:
    assert tensorify(server, *args).returncode == 2


def test_an_unreadable_inputs_file_exits_2(server: Server, client: Tensorify, hello: Dict[str, Any], tmp_path: Path) -> None:
    stored = client.workflows.create(hello)
    missing = tensorify(server, "run", stored.id, "--inputs", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "Cannot read" in missing.stderr
    (tmp_path / "list.json").write_text("[1, 2]")
    assert tensorify(server, "run", stored.id, "--inputs", str(tmp_path / "list.json")).returncode == 2
    assert list(client.executions.list(workflow_id=stored.id)) == []


def test_no_api_key_exits_2(server: Server) -> None:
    result = tensorify(server, "workflows", "list", key=None)
    assert result.returncode == 2 and "TENSORIFY_API_KEY" in result.stderr


def test_a_refused_key_exits_1(server: Server) -> None:
    result = tensorify(server, "workflows", "list", key="tfy_NotAKey0123456789abcdefghijklmnopqrstuv")
    assert result.returncode == 1 and "UNAUTHORIZED" in result.stderr

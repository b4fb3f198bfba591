"""client.workflows against the real server: every operation, and a builder-like object."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping

import pytest

from tensorify import ConflictError, InvalidWorkflowError, NotFoundError, StoredWorkflow, Tensorify, WorkflowLike

from .support import EXAMPLES_DIR


def test_create_returns_the_stored_workflow_at_version_1(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    assert isinstance(stored, StoredWorkflow)
    assert stored.id.startswith("wf_") and stored.version == 1
    assert stored.name == "Hello" and [node["id"] for node in stored.nodes] == ["trigger", "greeting", "out"]
    assert stored.created_at.tzinfo is not None


def test_create_takes_keywords_over_the_dict(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello, name="Renamed", description="By keyword")
    assert (stored.name, stored.description) == ("Renamed", "By keyword")
    only_keywords = client.workflows.create(name="Kw", nodes=hello["nodes"], edges=hello["edges"])
    assert only_keywords.name == "Kw"


def test_get_returns_what_create_stored(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    fetched = client.workflows.get(stored.id)
    assert fetched == stored


def test_list_follows_next_cursor_across_pages(client: Tensorify, hello: Dict[str, Any]) -> None:
    created = [client.workflows.create(hello, name=f"Page {i}").id for i in range(5)]
    listed = [workflow.id for workflow in client.workflows.list(page_size=2)]
    # Newest first, every one of them, though each page holds two.
    assert [wf_id for wf_id in listed if wf_id in created] == list(reversed(created))
    assert len(listed) == len(set(listed))
    paginator = client.workflows.list(page_size=2)
    assert [next(paginator).id for _ in range(3)] == listed[:3]


class BuilderLike:
    """What the SDK asks of a builder Workflow: to_dict(), and check(catalog) when it has one."""

    def __init__(self, body: Dict[str, Any], refuse: bool = False) -> None:
        self.body = body
        self.refuse = refuse
        self.catalogs: List[Mapping[str, Any]] = []

    def to_dict(self) -> Dict[str, Any]:
        return self.body

    def check(self, catalog: Mapping[str, Any]) -> None:
        self.catalogs.append(catalog)
        if self.refuse:
            raise ValueError("node greeting: setting value is required")


def test_create_checks_a_builder_against_the_catalogue_before_sending(client: Tensorify, hello: Dict[str, Any]) -> None:
    builder = BuilderLike(hello)
    assert isinstance(builder, WorkflowLike)
    stored = client.workflows.create(builder)
    assert stored.name == "Hello"
    assert len(builder.catalogs) == 1
    assert {node["type"] for node in builder.catalogs[0]["nodes"]} >= {"manual", "transform", "return", "code", "if"}


def test_a_builder_that_refuses_stops_the_create(client: Tensorify, hello: Dict[str, Any]) -> None:
    before = {workflow.id for workflow in client.workflows.list()}
    with pytest.raises(ValueError, match="node greeting"):
        client.workflows.create(BuilderLike({**hello, "name": "Refused"}, refuse=True))
    assert {workflow.id for workflow in client.workflows.list()} == before


def test_create_refuses_something_that_is_no_workflow(client: Tensorify) -> None:
    with pytest.raises(TypeError, match="to_dict"):
        client.workflows.create(42)  # type: ignore[arg-type]


def test_create_of_an_invalid_graph_raises_with_the_per_node_problems(client: Tensorify, hello: Dict[str, Any]) -> None:
    body = {**hello, "nodes": hello["nodes"] + [{"id": "ghost", "type": "no-such-type"}]}
    with pytest.raises(InvalidWorkflowError) as caught:
        client.workflows.create(body)
    error = caught.value
    assert error.status == 400 and error.code == "INVALID_WORKFLOW"
    assert "ghost" in error.nodes and error.nodes["ghost"][0]["message"]
    assert error.request_id and error.request_id.startswith("req_")


def test_update_replaces_and_bumps_the_version(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    updated = client.workflows.update(stored.id, stored, name="Hello again", if_match=stored.version)
    assert (updated.version, updated.name) == (2, "Hello again")
    assert client.workflows.get(stored.id).name == "Hello again"


def test_update_with_a_stale_if_match_raises_conflict(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    client.workflows.update(stored.id, hello, if_match=1)
    with pytest.raises(ConflictError) as caught:
        client.workflows.update(stored.id, hello, name="Lost update", if_match=1)
    assert caught.value.status == 409
    assert client.workflows.get(stored.id).version == 2


def test_delete_removes_it(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    client.workflows.delete(stored.id)
    with pytest.raises(NotFoundError) as caught:
        client.workflows.get(stored.id)
    assert caught.value.code == "WORKFLOW_NOT_FOUND"


def test_validate_reports_without_storing(client: Tensorify, hello: Dict[str, Any]) -> None:
    assert client.workflows.validate(hello).valid is True
    report = client.workflows.validate(nodes=hello["nodes"][1:], edges=[{"source": "greeting", "target": "out"}])
    assert report.valid is False
    assert report.graph and report.graph[0].code and report.graph[0].message
    assert "greeting" in report.nodes  # its binding names a node that is not there


def test_export_returns_the_three_files_and_writes_them(client: Tensorify, hello: Dict[str, Any], tmp_path: Path) -> None:
    stored = client.workflows.create(hello)
    files = client.workflows.export(stored.id)
    assert set(files) == {"main.py", "utils.py", "requirements.txt"}
    written = client.workflows.export(stored.id, to=tmp_path / "project")
    assert written == files
    for name, content in files.items():
        assert (tmp_path / "project" / name).read_bytes() == content.encode()
    assert stored.export() == files


def test_export_zip_holds_the_same_files(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    archive = zipfile.ZipFile(io.BytesIO(client.workflows.export_zip(stored.id)))
    assert {name: archive.read(name).decode() for name in archive.namelist()} == client.workflows.export(stored.id)


def test_execute_runs_it_and_wait_returns_the_finished_execution(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    handle = client.workflows.execute(stored.id, inputs={"name": "Ada"}, timeout_seconds=60, executor="local", gpu=False)
    assert handle.id.startswith("exec_") and handle.status in ("queued", "running")
    execution = handle.wait(timeout=120)
    assert execution.succeeded and execution.output == {"result": "Hello, Ada!"}
    assert execution.executor == "local" and execution.workflow_version == 1


def test_the_issue_example_create_run_wait(client: Tensorify, hello: Dict[str, Any]) -> None:
    execution = client.workflows.create(hello).run(inputs={"name": "Ada"}).wait()
    assert execution.status == "completed" and execution.output == {"result": "Hello, Ada!"}


def test_execute_with_the_same_idempotency_key_runs_once(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    first = client.workflows.execute(stored.id, inputs={"name": "Ada"}, idempotency_key="sdk-once-1")
    again = client.workflows.execute(stored.id, inputs={"name": "Ada"}, idempotency_key="sdk-once-1")
    assert again.id == first.id
    assert [execution.id for execution in client.executions.list(workflow_id=stored.id)] == [first.id]
    with pytest.raises(ConflictError):
        client.workflows.execute(stored.id, inputs={"name": "Grace"}, idempotency_key="sdk-once-1")


@pytest.mark.parametrize("name", ["hello", "code-branch"])
def test_the_shared_examples_run_to_their_expected_output(client: Tensorify, name: str) -> None:
    if not EXAMPLES_DIR.is_dir():
        pytest.fail(f"The shared examples are not at {EXAMPLES_DIR}: set TENSORIFY_EXAMPLES_DIR")
    body = json.loads((EXAMPLES_DIR / f"{name}.json").read_text())
    inputs = json.loads((EXAMPLES_DIR / f"{name}.inputs.json").read_text())
    expected = json.loads((EXAMPLES_DIR / f"{name}.expected-output.json").read_text())
    execution = client.workflows.create(body).run(inputs=inputs).wait(timeout=120)
    assert execution.status == "completed", execution.error
    assert execution.output == expected


@pytest.mark.parametrize("name", ["summarize", "classifier"])
def test_the_shared_examples_are_accepted_as_they_are(client: Tensorify, name: str) -> None:
    if not EXAMPLES_DIR.is_dir():
        pytest.fail(f"The shared examples are not at {EXAMPLES_DIR}: set TENSORIFY_EXAMPLES_DIR")
    body = json.loads((EXAMPLES_DIR / f"{name}.json").read_text())
    assert client.workflows.validate(body).valid
    stored = client.workflows.create(body)
    assert "main.py" in stored.export()

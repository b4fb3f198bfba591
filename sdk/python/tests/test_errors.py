"""Every error family: the server's envelope becomes one exception class per family."""

from __future__ import annotations

import socket
from typing import Any, Dict

import pytest

from tensorify import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidWorkflowError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    Tensorify,
    TensorifyError,
)

from .support import ADMIN_KEY, FaultProxy, Server


def test_an_unknown_key_is_an_authentication_error(server: Server) -> None:
    with Tensorify(api_key="tfy_NotAKey0123456789abcdefghijklmnopqrstuv", base_url=server.base_url) as stranger:
        with pytest.raises(AuthenticationError) as caught:
            stranger.me.get()
    error = caught.value
    assert (error.status, error.code) == (401, "UNAUTHORIZED")
    assert error.request_id and error.request_id in str(error) and "UNAUTHORIZED" in str(error)


def test_no_key_at_all_is_refused_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENSORIFY_API_KEY", raising=False)
    with pytest.raises(TensorifyError, match="TENSORIFY_API_KEY"):
        Tensorify()


def test_the_environment_gives_the_key_and_base_url(server: Server, client: Tensorify, monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("TENSORIFY_API_KEY", ADMIN_KEY)
    monkeypatch.setenv("TENSORIFY_BASE_URL", server.base_url)
    with Tensorify() as from_env:
        assert from_env.base_url == server.base_url
        assert from_env.me.get().api_key.scopes == ["admin"]
    monkeypatch.delenv("TENSORIFY_BASE_URL")
    with Tensorify() as default:
        assert default.base_url == "http://localhost:3000/v1"


def test_a_missing_scope_is_permission_denied(client: Tensorify, hello: Dict[str, Any], server: Server) -> None:
    reader = client.api_keys.create("read only", scopes=["workflows:read"])
    with Tensorify(api_key=reader.key, base_url=server.base_url) as read_only:
        assert list(read_only.workflows.list()) is not None
        with pytest.raises(PermissionDeniedError) as caught:
            read_only.workflows.create(hello)
    assert (caught.value.status, caught.value.code) == (403, "FORBIDDEN")
    assert caught.value.details.get("requiredScope") == "workflows:write"


def test_an_unknown_workflow_is_not_found(client: Tensorify) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.workflows.export("wf_doesnotexist000")
    assert (caught.value.status, caught.value.code) == (404, "WORKFLOW_NOT_FOUND")


def test_a_stale_version_is_a_conflict(client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    with pytest.raises(ConflictError) as caught:
        client.workflows.update(stored.id, hello, if_match=7)
    assert (caught.value.status, caught.value.code) == (409, "CONFLICT")


def test_a_bad_field_is_a_bad_request_with_the_fields(client: Tensorify) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.workspaces.create("bad plan", plan="gold")
    error = caught.value
    assert not isinstance(error, InvalidWorkflowError)
    assert (error.status, error.code) == (400, "VALIDATION_ERROR") and "plan" in error.details["fields"]


def test_gpu_without_a_gpu_executor_is_a_bad_request(client: Tensorify, hello: Dict[str, Any]) -> None:
    if any(executor.gpu for executor in client.executors.list()):
        pytest.skip("this machine has a GPU executor")
    stored = client.workflows.create(hello)
    with pytest.raises(BadRequestError) as caught:
        stored.run(gpu=True)
    assert caught.value.code == "GPU_UNAVAILABLE"
    assert list(client.executions.list(workflow_id=stored.id)) == []


def test_an_invalid_graph_carries_nodes_and_graph_problems(client: Tensorify) -> None:
    with pytest.raises(InvalidWorkflowError) as caught:
        client.workflows.create(name="No trigger", nodes=[{"id": "out", "type": "return", "settings": {"value": "{{ nowhere.x }}"}}], edges=[])
    assert caught.value.graph and "out" in caught.value.nodes


def test_the_free_plan_limit_is_a_rate_limit_error_with_retry_after(client: Tensorify, server: Server) -> None:
    workspace = client.workspaces.create("free-plan-sdk", plan="free")
    key = client.api_keys.create("free", workspace_id=workspace.id)
    with Tensorify(api_key=key.key, base_url=server.base_url, max_retries=0) as free:
        with pytest.raises(RateLimitError) as caught:
            # Twice the limit and one: should a minute's window end during the loop, the next one fills too.
            for _ in range(2 * workspace.rate_limit_per_minute + 1):
                free.me.get()
    error = caught.value
    assert (error.status, error.code) == (429, "RATE_LIMITED")
    assert error.retry_after is not None and 0 < error.retry_after <= 60


def test_a_server_that_cannot_be_reached_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Tensorify(api_key="tfy_x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0) as nowhere:
        with pytest.raises(APIConnectionError) as caught:
            nowhere.me.get()
    assert caught.value.status is None and caught.value.code == "CONNECTION_ERROR"


def test_no_answer_in_time_is_a_timeout_error(proxy: FaultProxy, client: Tensorify) -> None:

    proxy.add("GET /v1/me", "hang", 3)
    with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", timeout=0.5, max_retries=0) as impatient:
        with pytest.raises(APITimeoutError) as caught:
            impatient.me.get()
    assert caught.value.code == "TIMEOUT" and isinstance(caught.value, APIConnectionError)


@pytest.mark.parametrize(
    ("status", "family", "code"),
    [(500, InternalServerError, "INTERNAL_ERROR"), (503, ServiceUnavailableError, "NOT_READY")],
)
def test_5xx_answers_are_server_errors(proxy: FaultProxy, status: int, family: type, code: str) -> None:

    proxy.add("GET /v1/me", "status", status, None)
    with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", max_retries=0) as through:
        with pytest.raises(family) as caught:
            through.me.get()
    assert isinstance(caught.value, InternalServerError)
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (status, code, "req_proxy")


def test_an_answer_without_an_envelope_still_raises_with_its_status(proxy: FaultProxy) -> None:

    proxy.add("GET /v1/me", "raw", 502, None)
    with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", max_retries=0) as through:
        with pytest.raises(InternalServerError) as caught:
            through.me.get()
    assert (caught.value.status, caught.value.code) == (502, "HTTP_ERROR")

"""Retries: 429 and 503 honour Retry-After up to max_retries; nothing is repeated that could run twice."""

from __future__ import annotations

from typing import Any, Dict, Iterator

import pytest

from tensorify import APIConnectionError, RateLimitError, ServiceUnavailableError, Tensorify

from .support import ADMIN_KEY, FaultProxy


@pytest.fixture
def through(proxy: FaultProxy) -> Iterator[Tensorify]:
    with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", timeout=30) as client:
        yield client


def requests_to(proxy: FaultProxy, method: str, path: str) -> list:
    return [seen for seen in proxy.seen if seen.method == method and seen.path.split("?")[0] == path]


def test_a_429_is_retried_after_its_retry_after(proxy: FaultProxy, through: Tensorify) -> None:
    proxy.add("GET /v1/me", "status", 429, 1)
    assert through.me.get().api_key.scopes == ["admin"]
    first, second = requests_to(proxy, "GET", "/v1/me")
    assert second.at - first.at >= 1.0


def test_retries_stop_at_max_retries_with_the_rate_limit_error(proxy: FaultProxy, through: Tensorify) -> None:
    for _ in range(4):
        proxy.add("GET /v1/me", "status", 429, 0)
    with pytest.raises(RateLimitError) as caught:
        through.me.get()
    assert caught.value.retry_after == 0
    assert len(requests_to(proxy, "GET", "/v1/me")) == 3  # the call and max_retries=2 retries


def test_max_retries_0_does_not_retry(proxy: FaultProxy) -> None:
    proxy.add("GET /v1/me", "status", 429, 0)
    with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", max_retries=0) as once:
        with pytest.raises(RateLimitError):
            once.me.get()
    assert len(requests_to(proxy, "GET", "/v1/me")) == 1


def test_a_retry_after_longer_than_a_minute_is_raised_at_once(proxy: FaultProxy, through: Tensorify) -> None:
    proxy.add("GET /v1/me", "status", 429, 3600)
    with pytest.raises(RateLimitError) as caught:
        through.me.get()
    assert caught.value.retry_after == 3600
    assert len(requests_to(proxy, "GET", "/v1/me")) == 1


def test_a_503_without_retry_after_is_retried_with_backoff(proxy: FaultProxy, through: Tensorify) -> None:
    proxy.add("GET /v1/executors", "status", 503, None)
    assert [executor.id for executor in through.executors.list() if executor.id == "local"] == ["local"]
    first, second = requests_to(proxy, "GET", "/v1/executors")
    assert second.at - first.at >= 0.375  # the first backoff: 0.5 s less at most a quarter of jitter


def test_a_503_on_create_is_retried_too_the_server_refused_it_before_acting(proxy: FaultProxy, through: Tensorify, hello: Dict[str, Any]) -> None:
    proxy.add("POST /v1/workflows", "status", 503, 0)
    stored = through.workflows.create(hello)
    assert through.workflows.get(stored.id).id == stored.id
    assert len(requests_to(proxy, "POST", "/v1/workflows")) == 2


def test_two_503s_then_give_up(proxy: FaultProxy) -> None:
    for _ in range(2):
        proxy.add("GET /v1/system", "status", 503, 0)
    with Tensorify(api_key=ADMIN_KEY, base_url=proxy.url + "/v1", max_retries=1) as one_retry:
        with pytest.raises(ServiceUnavailableError):
            one_retry.system.get()
    assert len(requests_to(proxy, "GET", "/v1/system")) == 2


def test_execute_retried_after_a_429_keeps_its_idempotency_key(proxy: FaultProxy, through: Tensorify, client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    proxy.add(f"POST /v1/workflows/{stored.id}/execute", "status", 429, 0)
    handle = through.workflows.execute(stored.id, inputs={"name": "Ada"})
    sent = requests_to(proxy, "POST", f"/v1/workflows/{stored.id}/execute")
    assert len(sent) == 2
    assert sent[0].headers["idempotency-key"] == sent[1].headers["idempotency-key"]
    assert sent[0].headers["idempotency-key"].startswith("tensorify-python-")
    assert [execution.id for execution in client.executions.list(workflow_id=stored.id)] == [handle.id]


def test_an_execute_whose_answer_is_lost_is_retried_and_runs_once(proxy: FaultProxy, through: Tensorify, client: Tensorify, hello: Dict[str, Any]) -> None:
    stored = client.workflows.create(hello)
    # The server receives the execute and starts the run; its answer never reaches the SDK.
    proxy.add(f"POST /v1/workflows/{stored.id}/execute", "drop")
    handle = through.workflows.execute(stored.id, inputs={"name": "Ada"})
    assert len(requests_to(proxy, "POST", f"/v1/workflows/{stored.id}/execute")) == 2
    assert [execution.id for execution in client.executions.list(workflow_id=stored.id)] == [handle.id]
    assert handle.wait(timeout=120).output == {"result": "Hello, Ada!"}


def test_a_create_whose_answer_is_lost_is_not_retried(proxy: FaultProxy, through: Tensorify, client: Tensorify, hello: Dict[str, Any]) -> None:
    name = "Created once, answer lost"
    proxy.add("POST /v1/workflows", "drop")
    with pytest.raises(APIConnectionError):
        through.workflows.create(hello, name=name)
    assert len(requests_to(proxy, "POST", "/v1/workflows")) == 1
    assert [workflow.name for workflow in client.workflows.list()].count(name) == 1


def test_a_get_whose_answer_is_lost_is_retried(proxy: FaultProxy, through: Tensorify) -> None:
    proxy.add("GET /v1/me", "drop")
    assert through.me.get().workspace.name == "default"
    assert len(requests_to(proxy, "GET", "/v1/me")) == 2

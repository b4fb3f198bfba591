"""Webhook and schedule triggers through the SDK, against the real server: signed deliveries, rotation, schedules, the CLI."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any, Dict, List, Optional

import httpx
import pytest

from tensorify import (
    AsyncTensorify,
    AuthenticationError,
    ExecutionTrigger,
    HookDelivery,
    NotFoundError,
    Schedule,
    Tensorify,
    TensorifyError,
    Webhook,
    WebhookSecret,
    webhooks,
)

from .support import ADMIN_KEY, HELLO, Server, printer
from .test_cli import tensorify as cli

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def hooked(**settings: Any) -> Dict[str, Any]:
    """A workflow started by its hook, answering what it got: ``{method, body, query}``."""
    return {
        "name": "Hooked",
        "nodes": [
            {"id": "trigger", "type": "webhook", "settings": settings},
            {"id": "out", "type": "return", "settings": {"value": {"method": "{{ trigger.method }}", "body": "{{ trigger.body }}", "query": "{{ trigger.query }}"}}},
        ],
        "edges": [{"source": "trigger", "target": "out"}],
    }


def scheduled(cron: str) -> Dict[str, Any]:
    return {
        "name": "Scheduled",
        "nodes": [
            {"id": "trigger", "type": "schedule", "settings": {"cron": cron, "inputs": {"dataset": "nightly"}}},
            {"id": "out", "type": "return", "settings": {"value": {"dataset": "{{ trigger.dataset }}"}}},
        ],
        "edges": [{"source": "trigger", "target": "out"}],
    }


def test_sign_and_sign_github_give_the_headers_openssl_computes() -> None:
    # printf '%s.%s' 1700000000 '{"id": 42}' | openssl dgst -sha256 -hmac whsec_test
    expected = "t=1700000000,v1=d18bef30c4c79ff50b2c2659152da3877564ab0b7b59a65dbc7d635e3a984e56"
    assert webhooks.sign("whsec_test", '{"id": 42}', 1700000000) == expected
    assert webhooks.sign("whsec_test", b'{"id": 42}', 1700000000) == expected
    # printf '%s' '{"id": 42}' | openssl dgst -sha256 -hmac whsec_test
    assert webhooks.sign_github("whsec_test", '{"id": 42}') == "sha256=61096368df95aebdec69b5a314077814e027cf71f4b35d18f99e34efdb53bf8a"
    now = int(time.time())
    t = int(webhooks.sign("s", b"").split(",")[0][2:])
    assert abs(t - now) <= 5
    with pytest.raises(ValueError):
        webhooks.sign("s", b"", -1)


def test_a_signed_delivery_starts_a_run_with_a_webhook_trigger_and_list_filters_by_trigger(client: Tensorify) -> None:
    stored = client.workflows.create(hooked())
    assert isinstance(stored.webhook, WebhookSecret)
    hook = stored.webhook
    assert hook.url == f"{client.base_url}/hooks/{hook.hook_id}" and hook.hook_id.startswith("hk_") and hook.secret.startswith("whsec_")
    assert hook.secret not in repr(hook)
    assert client.workflows.get(stored.id).webhook is None

    delivery = client.hooks.deliver(hook.url, {"id": 42}, secret=hook.secret, query={"ref": "main"})
    assert isinstance(delivery, HookDelivery) and delivery.http_status == 202 and delivery.execution_id.startswith("exec_")
    execution = client.executions.wait(delivery.execution_id, timeout=120)
    assert execution.status == "completed"
    assert execution.trigger == ExecutionTrigger(type="webhook", hook_id=hook.hook_id)
    assert execution.output == {"method": "POST", "body": {"id": 42}, "query": {"ref": "main"}}

    # By hook id, raw text, with an Idempotency-Key, twice: one run, the second answer a replay.
    first = client.hooks.deliver(hook.hook_id, "plain words", secret=hook.secret, idempotency_key="order-42")
    again = client.hooks.deliver(hook.hook_id, "plain words", secret=hook.secret, idempotency_key="order-42")
    assert again.execution_id == first.execution_id and again.replayed and not first.replayed
    assert client.executions.wait(first.execution_id, timeout=120).output == {"method": "POST", "body": "plain words", "query": {}}

    api = stored.run(inputs={}).wait(timeout=120)
    assert api.trigger == ExecutionTrigger(type="api")

    def ids(trigger: Optional[str]) -> List[str]:
        return sorted(execution.id for execution in client.executions.list(workflow_id=stored.id, trigger=trigger))

    assert ids("webhook") == sorted([delivery.execution_id, first.execution_id])
    assert ids("api") == [api.id]
    assert ids("schedule") == []
    assert {summary.trigger.type for summary in client.executions.list(workflow_id=stored.id) if summary.trigger} == {"api", "webhook"}

    # Refused: a wrong secret, a stale timestamp, no signature; nothing is queued.
    with pytest.raises(AuthenticationError) as refused:
        client.hooks.deliver(hook.url, {"id": 1}, secret="whsec_wrong")
    assert refused.value.status == 401 and refused.value.code == "UNAUTHORIZED"
    with pytest.raises(AuthenticationError):
        client.hooks.deliver(hook.url, {"id": 1}, secret=hook.secret, timestamp=int(time.time()) - 400)
    with pytest.raises(AuthenticationError):
        client.hooks.deliver(hook.url, {"id": 1}, signature="none")
    with pytest.raises(ValueError, match="secret"):
        client.hooks.deliver(hook.url, {"id": 1})
    with pytest.raises(TensorifyError) as not_allowed:
        client.hooks.deliver(hook.url, method="GET", secret=hook.secret)
    assert not_allowed.value.status == 405 and not_allowed.value.code == "METHOD_NOT_ALLOWED"
    assert len(ids("webhook")) == 2


def test_the_api_key_is_not_sent_to_a_hook(server: Server) -> None:
    seen: List[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [seen.append]}) as http, Tensorify(api_key=ADMIN_KEY, base_url=server.base_url, http_client=http) as client:
        hook = client.workflows.create(hooked(signature="none")).webhook
        assert hook is not None
        client.hooks.deliver(hook.url, {"x": 1}, signature="none")
    delivered = [request for request in seen if request.url.path.startswith("/v1/hooks/")]
    assert len(delivered) == 1 and "authorization" not in delivered[0].headers
    assert all("authorization" in request.headers for request in seen if request not in delivered)


def test_every_method_and_the_github_signature_in_wait_mode(client: Tensorify) -> None:
    hook = client.workflows.create(hooked(methods=ALL_METHODS, responseMode="wait", signature="github")).webhook
    assert hook is not None
    for method in ALL_METHODS:
        body = None if method == "GET" else {"n": len(method)}
        delivery = client.hooks.deliver(hook.url, body, secret=hook.secret, signature="github", method=method)
        assert delivery.http_status == 200 and delivery.status == "completed"
        assert delivery.output == {"method": method, "body": body, "query": {}}
    # The signature covers the exact bytes sent: a body signed by hand, sent through deliver as bytes.
    raw = json.dumps({"zen": "Keep it logically awesome."}).encode()
    assert hmac.new(hook.secret.encode(), raw, hashlib.sha256).hexdigest() == webhooks.sign_github(hook.secret, raw)[len("sha256=") :]
    delivered = client.hooks.deliver(hook.hook_id, raw, secret=hook.secret, signature="github", content_type="application/json")
    assert delivered.output == {"method": "POST", "body": {"zen": "Keep it logically awesome."}, "query": {}}
    with pytest.raises(AuthenticationError):
        client.hooks.deliver(hook.url, {"n": 1}, secret="whsec_wrong", signature="github")


def test_a_wait_hook_whose_run_fails_raises_502_naming_the_run(client: Tensorify) -> None:
    body = printer("Fails on delivery")
    body["nodes"][0] = {"id": "trigger", "type": "webhook", "settings": {"responseMode": "wait", "signature": "none"}}
    body["nodes"][1]["settings"]["code"] = "raise RuntimeError('boom')"
    hook = client.workflows.create(body).webhook
    assert hook is not None
    with pytest.raises(TensorifyError) as failed:
        client.hooks.deliver(hook.url, {}, signature="none")
    assert failed.value.status == 502 and failed.value.code == "EXECUTION_FAILED"
    execution_id = failed.value.details["executionId"]
    assert client.executions.get(execution_id).status == "failed"


def test_rotate_gives_a_new_url_and_secret_and_the_old_url_answers_404(client: Tensorify, hello: Dict[str, Any]) -> None:
    manual = client.workflows.create(hello)
    with pytest.raises(NotFoundError):
        client.workflows.webhook(manual.id)
    replaced = client.workflows.update(manual.id, hooked())
    assert replaced.version == 2 and replaced.webhook is not None
    old = replaced.webhook
    assert client.workflows.update(manual.id, hooked(responseMode="ack")).webhook is None  # shown only by the save that made the hook
    shown = client.workflows.webhook(manual.id)
    assert shown == Webhook(url=old.url, hook_id=old.hook_id, signature="tensorify", response_mode="ack", methods=["POST"], wait_seconds=30)

    rotated = client.workflows.rotate_webhook(manual.id)
    assert rotated.hook_id != old.hook_id and rotated.secret != old.secret and rotated.url.endswith(f"/v1/hooks/{rotated.hook_id}")
    assert client.workflows.webhook(manual.id).url == rotated.url
    with pytest.raises(NotFoundError):
        client.hooks.deliver(old.url, {}, secret=old.secret)
    with pytest.raises(AuthenticationError):
        client.hooks.deliver(rotated.url, {}, secret=old.secret)
    delivery = client.hooks.deliver(rotated.url, {"after": "rotation"}, secret=rotated.secret)
    trigger = client.executions.wait(delivery.execution_id, timeout=120).trigger
    assert trigger is not None and trigger.hook_id == rotated.hook_id


def test_schedule_get_pause_resume_and_a_scheduled_run(client: Tensorify) -> None:
    hourly = client.workflows.create(scheduled("0 * * * *"))
    try:
        schedule = client.workflows.schedule(hourly.id)
        assert isinstance(schedule, Schedule)
        assert (schedule.cron, schedule.timezone, schedule.paused) == ("0 * * * *", "UTC", False)
        assert len(schedule.next_runs) == 5 and all(run.minute == 0 and run.second == 0 for run in schedule.next_runs)
        assert schedule.next_runs == sorted(schedule.next_runs) and schedule.last_run_at is None and schedule.last_execution_id is None
        paused = client.workflows.pause_schedule(hourly.id)
        assert paused.paused and paused.next_runs == []
        assert client.workflows.schedule(hourly.id).paused
        resumed = client.workflows.resume_schedule(hourly.id)
        assert not resumed.paused and resumed.next_runs[0] >= schedule.next_runs[0]
        assert client.workflows.set_schedule_paused(hourly.id, True).paused
    finally:
        client.workflows.delete(hourly.id)
    with pytest.raises(NotFoundError) as not_a_schedule:
        client.workflows.schedule(client.workflows.create(HELLO).id)
    assert not_a_schedule.value.code == "SCHEDULE_NOT_FOUND"

    # Every second: the first run comes at the next second; then the schedule is paused.
    every_second = client.workflows.create(scheduled("* * * * * *"))
    try:
        deadline = time.monotonic() + 120
        while client.workflows.schedule(every_second.id).last_execution_id is None:
            assert time.monotonic() < deadline, "the schedule never fired"
            time.sleep(0.2)
        client.workflows.pause_schedule(every_second.id)
        last = client.workflows.schedule(every_second.id)
        assert last.last_execution_id is not None and last.last_run_at is not None
        run = client.executions.wait(last.last_execution_id, timeout=120)
        assert run.output == {"dataset": "nightly"}
        assert run.trigger is not None and run.trigger.type == "schedule" and run.trigger.fire_time == last.last_run_at
        listed = list(client.executions.list(workflow_id=every_second.id, trigger="schedule"))
        assert run.id in [summary.id for summary in listed] and {summary.trigger.type for summary in listed if summary.trigger} == {"schedule"}
        assert list(client.executions.list(workflow_id=every_second.id, trigger="api")) == []
    finally:
        client.workflows.delete(every_second.id)


def test_the_async_client_covers_the_same_operations(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncTensorify(api_key=ADMIN_KEY, base_url=server.base_url) as client:
            stored = await client.workflows.create(hooked(methods=ALL_METHODS, responseMode="wait"))
            assert stored.webhook is not None
            hook = stored.webhook
            assert (await client.workflows.webhook(stored.id)).hook_id == hook.hook_id
            for method in ALL_METHODS:
                body = None if method == "GET" else [method]
                delivery = await client.hooks.deliver(hook.url, body, secret=hook.secret, method=method)
                assert delivery.http_status == 200 and delivery.output == {"method": method, "body": body, "query": {}}
            execution = await client.executions.get(delivery.execution_id)
            assert execution.trigger == ExecutionTrigger(type="webhook", hook_id=hook.hook_id)
            assert [summary.id async for summary in client.executions.list(workflow_id=stored.id, trigger="webhook")][0] == delivery.execution_id
            rotated = await client.workflows.rotate_webhook(stored.id)
            with pytest.raises(NotFoundError):
                await client.hooks.deliver(hook.url, {}, secret=rotated.secret)

            hourly = await client.workflows.create(scheduled("0 * * * *"))
            assert (await client.workflows.schedule(hourly.id)).cron == "0 * * * *"
            assert (await client.workflows.pause_schedule(hourly.id)).paused
            assert not (await client.workflows.resume_schedule(hourly.id)).paused
            assert (await client.workflows.set_schedule_paused(hourly.id, True)).next_runs == []
            await client.workflows.delete(hourly.id)

    asyncio.run(scenario())


def test_the_cli_shows_pauses_and_resumes_a_schedule_and_shows_and_rotates_a_hook(server: Server, client: Tensorify) -> None:
    hourly = client.workflows.create(scheduled("0 * * * *"))
    try:
        shown = cli(server, "schedule", hourly.id)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["cron"] == "0 * * * *" and len(json.loads(shown.stdout)["nextRuns"]) == 5
        paused = cli(server, "schedule", hourly.id, "--pause")
        assert paused.returncode == 0 and json.loads(paused.stdout)["paused"] is True and client.workflows.schedule(hourly.id).paused
        resumed = cli(server, "schedule", hourly.id, "--resume")
        assert resumed.returncode == 0 and json.loads(resumed.stdout)["paused"] is False
        assert cli(server, "schedule", hourly.id, "--pause", "--resume").returncode == 2
    finally:
        client.workflows.delete(hourly.id)

    stored = client.workflows.create(hooked())
    assert stored.webhook is not None
    shown = cli(server, "webhook", stored.id)
    assert shown.returncode == 0 and json.loads(shown.stdout) == {
        "url": stored.webhook.url,
        "hookId": stored.webhook.hook_id,
        "signature": "tensorify",
        "responseMode": "ack",
        "methods": ["POST"],
        "waitSeconds": 30,
    }
    rotated = cli(server, "webhook", stored.id, "--rotate")
    assert rotated.returncode == 0
    secret = json.loads(rotated.stdout)
    assert secret["hookId"] != stored.webhook.hook_id and secret["secret"].startswith("whsec_")
    assert client.hooks.deliver(secret["url"], {"via": "cli"}, secret=secret["secret"]).http_status == 202
    assert cli(server, "webhook", client.workflows.create(HELLO).id).returncode == 3
    assert cli(server, "schedule", stored.id).returncode == 3

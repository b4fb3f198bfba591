"""``client.hooks``: deliveries to webhook triggers, signed the way the server checks them."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import unquote, urlsplit

import httpx

from .. import _routes as routes
from .. import webhooks
from .._http import AsyncTransport, SyncTransport
from ..types import HookDelivery

#: What a delivery sends: text or bytes as they are, anything else as JSON.
HookBody = Any

_HOOK_PATH = re.compile(r"^(.*)/v1/hooks/([^/]+)/?$")


def _target(url_or_hook_id: str) -> Tuple[Optional[str], str]:
    """``https://host/v1/hooks/hk_…`` → (``https://host``, ``hk_…``); a bare hook id → (None: the client's server, the id)."""
    if not re.match(r"^https?://", url_or_hook_id, re.IGNORECASE):
        return None, url_or_hook_id
    parts = urlsplit(url_or_hook_id)
    match = _HOOK_PATH.match(parts.path)
    if match is None:
        raise ValueError(f"Not a hook URL (…/v1/hooks/<hookId>): {url_or_hook_id}")
    return f"{parts.scheme}://{parts.netloc}{match.group(1)}", unquote(match.group(2))


def _prepare(
    url_or_hook_id: str,
    body: HookBody,
    secret: Optional[str],
    signature: str,
    method: str,
    content_type: Optional[str],
    idempotency_key: Optional[str],
    timestamp: Optional[int],
    headers: Optional[Mapping[str, str]],
) -> Dict[str, Any]:
    """The keyword arguments of the transport's ``request`` for one delivery (less the route)."""
    root_url, hook_id = _target(url_or_hook_id)
    verb = method.upper()
    if verb not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise ValueError(f"A hook takes GET, POST, PUT, PATCH or DELETE, not {method!r}")
    if verb == "GET" and body is not None:
        raise ValueError("A GET delivery carries no body")
    if body is None:
        content: Optional[bytes] = None
    elif isinstance(body, (str, bytes, bytearray)):
        content = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    else:
        content = json.dumps(body, separators=(",", ":")).encode("utf-8")
    sent: Dict[str, str] = dict(headers or {})
    if content is not None:
        sent["Content-Type"] = content_type or ("text/plain; charset=utf-8" if isinstance(body, (str, bytes, bytearray)) else "application/json")
    if idempotency_key is not None:
        sent["Idempotency-Key"] = idempotency_key
    if signature == "tensorify" or signature == "github":
        if secret is None:
            raise ValueError(f'A "{signature}" signature needs the hook\'s secret')
        signed = content or b""
        if signature == "tensorify":
            sent["Tensorify-Signature"] = webhooks.sign(secret, signed, timestamp)
        else:
            sent["X-Hub-Signature-256"] = webhooks.sign_github(secret, signed)
    elif signature != "none":
        raise ValueError(f'signature must be "tensorify", "github" or "none", not {signature!r}')
    return {
        "verb": verb,
        "path": {"hookId": hook_id},
        # The very bytes that were signed; an empty body is sent as b"" so no JSON "null" is made of it.
        "content": content if content is not None else b"",
        "headers": sent,
        "root_url": root_url,
        "anonymous": True,
        # A delivery starts a run whatever its method: after a lost answer it is sent again only with an Idempotency-Key.
        "repeatable": False,
    }


def _delivery(response: httpx.Response) -> HookDelivery:
    data: Any = response.json() if response.content else None
    location = response.headers.get("location") or ""
    execution_id = location.rsplit("/", 1)[-1] or (data or {}).get("executionId")
    if not execution_id:
        raise ValueError(f"The hook answered {response.status_code} without naming its execution")
    replayed = response.headers.get("idempotency-replayed") == "true"
    if response.status_code == 202:
        return HookDelivery(http_status=202, execution_id=execution_id, status=str(data["status"]), replayed=replayed)
    return HookDelivery(http_status=response.status_code, execution_id=execution_id, status="completed", output=data, replayed=replayed)


class Hooks:
    """Deliveries to ``/v1/hooks/{hookId}``: no API key is sent, the signature with the hook's secret proves the sender."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport
        self._routes = {
            "GET": routes.HOOKS_GET,
            "POST": routes.HOOKS_POST,
            "PUT": routes.HOOKS_PUT,
            "PATCH": routes.HOOKS_PATCH,
            "DELETE": routes.HOOKS_DELETE,
        }

    def deliver(
        self,
        url_or_hook_id: str,
        body: HookBody = None,
        *,
        secret: Optional[str] = None,
        signature: str = "tensorify",
        method: str = "POST",
        content_type: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        timestamp: Optional[int] = None,
        query: Optional[Mapping[str, Union[str, int]]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> HookDelivery:
        """Delivers ``body`` to a hook (its ``url``, or its hook id on this client's server), signed, and returns what it started.

        ``body``: text or bytes are sent as they are (``text/plain`` unless ``content_type``
        says), anything else as JSON. ``signature``: as the trigger's setting, ``tensorify`` (the
        default), ``github`` or ``none``; ``secret`` is the hook's (from the save that made it or
        :meth:`~tensorify.resources.workflows.Workflows.rotate_webhook`). ``idempotency_key``: a
        redelivery with it answers the first delivery's execution (``replayed``) and runs nothing.

        Raises :class:`~tensorify.AuthenticationError` for a refused signature,
        :class:`~tensorify.NotFoundError` for an unknown (or rotated) hook, and
        :class:`~tensorify.TensorifyError` with status 405 for a method the trigger does not take,
        502 ``EXECUTION_FAILED`` when the run of a ``wait`` hook failed (``details["executionId"]``).
        """
        prepared = _prepare(url_or_hook_id, body, secret, signature, method, content_type, idempotency_key, timestamp, headers)
        route = self._routes[prepared.pop("verb")]
        return _delivery(self._transport.request(route, params=dict(query or {}), **prepared))


class AsyncHooks:
    """Deliveries to webhook triggers, async (see :class:`Hooks`)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport
        self._routes = {
            "GET": routes.HOOKS_GET,
            "POST": routes.HOOKS_POST,
            "PUT": routes.HOOKS_PUT,
            "PATCH": routes.HOOKS_PATCH,
            "DELETE": routes.HOOKS_DELETE,
        }

    async def deliver(
        self,
        url_or_hook_id: str,
        body: HookBody = None,
        *,
        secret: Optional[str] = None,
        signature: str = "tensorify",
        method: str = "POST",
        content_type: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        timestamp: Optional[int] = None,
        query: Optional[Mapping[str, Union[str, int]]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> HookDelivery:
        """Delivers ``body`` to a hook, signed (see :meth:`Hooks.deliver`)."""
        prepared = _prepare(url_or_hook_id, body, secret, signature, method, content_type, idempotency_key, timestamp, headers)
        route = self._routes[prepared.pop("verb")]
        return _delivery(await self._transport.request(route, params=dict(query or {}), **prepared))

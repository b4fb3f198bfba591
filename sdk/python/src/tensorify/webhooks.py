"""Signatures of deliveries to webhook triggers, computed exactly as the server checks them.

::

    import httpx
    from tensorify import webhooks

    body = b'{"id": 42}'
    httpx.post(webhook.url, content=body, headers={
        "Content-Type": "application/json",
        "Tensorify-Signature": webhooks.sign(webhook.secret, body),
    })

``client.hooks.deliver(url, {"id": 42}, secret=…)`` does the same in one call.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Optional, Union

__all__ = ["SIGNATURE_HEADERS", "TOLERANCE_SECONDS", "sign", "sign_github"]

#: The header each signature scheme sends (``none`` sends none: the URL is the secret).
SIGNATURE_HEADERS = {"tensorify": "Tensorify-Signature", "github": "X-Hub-Signature-256"}
#: How far a ``tensorify`` signature's timestamp may be from the server's clock before it is refused as a replay.
TOLERANCE_SECONDS = 300

Body = Union[str, bytes]


def _bytes(body: Body) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def sign(secret: str, body: Body, timestamp: Optional[int] = None) -> str:
    """The ``Tensorify-Signature`` header of a delivery of ``body`` (its exact bytes; text is UTF-8).

    ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>``. ``timestamp``
    defaults to now: the server refuses one more than 300 s from its clock, so sign each delivery
    when you send it.
    """
    t = int(time.time()) if timestamp is None else timestamp
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise ValueError(f"timestamp must be whole unix seconds, got {timestamp!r}")
    digest = hmac.new(secret.encode("utf-8"), f"{t}.".encode("ascii") + _bytes(body), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def sign_github(secret: str, body: Body) -> str:
    """The ``X-Hub-Signature-256`` header GitHub sends (for a trigger with ``signature: github``): ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), _bytes(body), hashlib.sha256).hexdigest()

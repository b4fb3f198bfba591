"""The exceptions the SDK raises.

Every error the server answers with carries the envelope of the REST contract
(``{"error": {"code", "message", "details", "requestId"}}``); the SDK turns it into one
exception per family, all subclasses of :class:`TensorifyError`, so callers can catch as
broadly or as narrowly as they like::

    try:
        client.workflows.get("wf_missing")
    except tensorify.NotFoundError as error:
        print(error.code, error.request_id)
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

__all__ = [
    "TensorifyError",
    "APIConnectionError",
    "APITimeoutError",
    "BadRequestError",
    "InvalidWorkflowError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "WaitTimeoutError",
]


class TensorifyError(Exception):
    """Base of every exception of the SDK.

    Attributes:
        code: The server's stable SCREAMING_SNAKE code (``WORKFLOW_NOT_FOUND``…), or one of the
            SDK's own for failures with no answer (``CONNECTION_ERROR``, ``TIMEOUT``, ``WAIT_TIMEOUT``).
        message: What went wrong, for people.
        status: The HTTP status, or ``None`` when no response arrived.
        details: The envelope's structured ``details`` (``{}`` when it has none).
        request_id: The server's request id (``X-Request-Id``), to quote when reporting a problem.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: Optional[int] = None,
        details: Optional[Mapping[str, Any]] = None,
        request_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details: Dict[str, Any] = dict(details or {})
        self.request_id = request_id

    def __str__(self) -> str:
        suffix = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.code}: {self.message}{suffix}"


class APIConnectionError(TensorifyError):
    """The server could not be reached, or the connection broke before an answer arrived."""

    def __init__(self, message: str, *, code: str = "CONNECTION_ERROR") -> None:
        super().__init__(message, code=code)


class APITimeoutError(APIConnectionError):
    """The request took longer than the client's ``timeout``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="TIMEOUT")


class BadRequestError(TensorifyError):
    """400: the request was refused as malformed (``VALIDATION_ERROR``, ``INVALID_JSON``, ``GPU_UNAVAILABLE``…)."""


class InvalidWorkflowError(BadRequestError):
    """400 ``INVALID_WORKFLOW``: the graph has problems.

    Attributes:
        nodes: Problems keyed by node id, each ``{"code", "message", "path"?}``.
        graph: Problems of the whole graph (for example, not exactly one trigger).
    """

    @property
    def nodes(self) -> Dict[str, List[Dict[str, Any]]]:
        nodes = self.details.get("nodes")
        return dict(nodes) if isinstance(nodes, dict) else {}

    @property
    def graph(self) -> List[Dict[str, Any]]:
        graph = self.details.get("graph")
        return list(graph) if isinstance(graph, list) else []


class AuthenticationError(TensorifyError):
    """401: the API key is missing, malformed, unknown, revoked or expired."""


class PermissionDeniedError(TensorifyError):
    """403: the API key lacks the scope the operation needs."""


class NotFoundError(TensorifyError):
    """404: no such object in the key's workspace (or no such route)."""


class ConflictError(TensorifyError):
    """409: a stale ``If-Match`` version, an execution already finished, an idempotency key reused."""


class RateLimitError(TensorifyError):
    """429: the workspace's rate limit is reached.

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), when it said.
    """

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(TensorifyError):
    """5xx: the server failed; quote ``request_id`` when reporting it."""


class ServiceUnavailableError(InternalServerError):
    """503: the server or the chosen executor cannot take the request now (``NOT_READY``, ``EXECUTOR_UNAVAILABLE``).

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), when it said.
    """

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class WaitTimeoutError(TensorifyError, TimeoutError):
    """``executions.wait(…, timeout=…)`` ran out of time before the execution finished.

    Attributes:
        execution_id: The execution that is still running (it is not cancelled).
    """

    def __init__(self, execution_id: str, timeout: float) -> None:
        super().__init__(f"Execution {execution_id} did not finish within {timeout:g} s", code="WAIT_TIMEOUT")
        self.execution_id = execution_id


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


def error_from_response(status: int, body: Any, request_id: Optional[str], retry_after: Optional[float]) -> TensorifyError:
    """The exception for an error response: its envelope when it has one, else a generic message."""
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict) and isinstance(envelope.get("code"), str):
        code: str = envelope["code"]
        message = str(envelope.get("message") or code)
        details = envelope.get("details") if isinstance(envelope.get("details"), dict) else None
        request_id = envelope.get("requestId") if isinstance(envelope.get("requestId"), str) else request_id
    else:
        code = "HTTP_ERROR"
        message = f"The server answered with status {status} and no error envelope"
        details = None
    kwargs: Dict[str, Any] = {"code": code, "status": status, "details": details, "request_id": request_id}
    if status == 429:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    if status == 503:
        return ServiceUnavailableError(message, retry_after=retry_after, **kwargs)
    if status >= 500:
        return InternalServerError(message, **kwargs)
    if status == 400 and code == "INVALID_WORKFLOW":
        return InvalidWorkflowError(message, **kwargs)
    return _BY_STATUS.get(status, TensorifyError)(message, **kwargs)

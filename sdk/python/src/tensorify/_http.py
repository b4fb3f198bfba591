"""The HTTP layer: one request with authentication, retries and error mapping, sync and async.

What is retried, and why it never runs anything twice:

- 429 and 503 answers, for every method: the server refused the request before acting on it.
  The wait is the answer's ``Retry-After`` when it gives one (at most ``MAX_RETRY_AFTER``
  seconds; a longer wait is raised to the caller as it is), else an exponential backoff.
- A connection that could not be opened, for every method: nothing was sent.
- A connection that broke or timed out after the request was sent, only for a request that
  is safe to repeat: GET, PUT, DELETE, or one that carries an ``Idempotency-Key`` (execute
  sends one of its own), which the server answers with the first run instead of a second.

At most ``max_retries`` retries per call.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import time
from typing import Any, Dict, Mapping, Optional, Union

import httpx

from ._routes import Route
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, TensorifyError, error_from_response

DEFAULT_BASE_URL = "http://localhost:3000/v1"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
#: Longest Retry-After the client waits on its own (a free plan's window is a minute).
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({429, 503})
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

Params = Mapping[str, Union[str, int, None]]


def retry_after_seconds(response: httpx.Response) -> Optional[float]:
    """The ``Retry-After`` header in seconds (a number or an HTTP date), or ``None``."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_seconds(attempt: int) -> float:
    """0.5 s, 1 s, 2 s… with jitter, capped at 8 s: the wait before retry number ``attempt + 1``."""
    return float(min(8.0, 0.5 * 2**attempt) * random.uniform(0.75, 1.0))


def error_for(response: httpx.Response) -> TensorifyError:
    """The exception for an error response (read already)."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return error_from_response(response.status_code, body, response.headers.get("x-request-id"), retry_after_seconds(response))


class Config:
    """What both transports share: the key, the base URL, timeouts, retries, headers."""

    def __init__(
        self,
        api_key: Optional[str],
        base_url: Optional[str],
        timeout: Union[float, httpx.Timeout, None],
        max_retries: int,
        default_headers: Optional[Mapping[str, str]],
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("TENSORIFY_API_KEY")
        if not key:
            raise TensorifyError(
                "No API key: pass api_key=… or set the TENSORIFY_API_KEY environment variable",
                code="MISSING_API_KEY",
            )
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.api_key = key
        url = (base_url or os.environ.get("TENSORIFY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = url
        # The routes carry their full path (/v1/…, /health): requests go to the server's root.
        self.root_url = url[: -len("/v1")] if url.endswith("/v1") else url
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.max_retries = max_retries
        self.headers = {
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
            "User-Agent": f"tensorify-python/{__version__}",
            **(default_headers or {}),
        }

    def build(
        self,
        route: Route,
        path_params: Mapping[str, str],
        params: Optional[Params],
        body: Any,
        headers: Optional[Mapping[str, str]],
        timeout: Optional[httpx.Timeout] = None,
    ) -> Dict[str, Any]:
        """Keyword arguments of ``httpx.Client.build_request`` for one call."""
        query = {name: value for name, value in (params or {}).items() if value is not None}
        return {
            "method": route.method,
            "url": self.root_url + route.format(**path_params),
            "params": query or None,
            "json": body,
            "headers": dict(headers or {}),
            "timeout": timeout or self.timeout,
        }

    def retry_delay(self, route: Route, headers: Mapping[str, str], attempt: int, response: Optional[httpx.Response], error: Optional[Exception]) -> Optional[float]:
        """Seconds to wait before retrying, or ``None`` when this outcome is final."""
        if attempt >= self.max_retries:
            return None
        if response is not None:
            if response.status_code not in RETRY_STATUSES:
                return None
            wait = retry_after_seconds(response)
            if wait is None:
                return backoff_seconds(attempt)
            return wait if wait <= MAX_RETRY_AFTER else None
        if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
            return backoff_seconds(attempt)
        repeatable = route.method in SAFE_METHODS or any(name.lower() == "idempotency-key" for name in headers)
        return backoff_seconds(attempt) if repeatable else None


def connection_error(error: httpx.HTTPError) -> APIConnectionError:
    """The SDK's exception for a transport failure of httpx."""
    if isinstance(error, httpx.TimeoutException):
        return APITimeoutError(f"The request timed out: {error}")
    return APIConnectionError(f"Could not reach the Tensorify server: {error or type(error).__name__}")


class SyncTransport:
    """Sends requests with :class:`httpx.Client`, retrying as the module docstring says."""

    def __init__(self, config: Config, http_client: Optional[httpx.Client] = None) -> None:
        self.config = config
        self._owns_client = http_client is None
        self.http = http_client or httpx.Client(timeout=config.timeout, headers=config.headers)
        if http_client is not None:
            self.http.headers.update(config.headers)

    def request(
        self,
        route: Route,
        *,
        path: Optional[Mapping[str, str]] = None,
        params: Optional[Params] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = False,
        timeout: Optional[httpx.Timeout] = None,
    ) -> httpx.Response:
        """Sends one call and returns its successful response; raises a :class:`TensorifyError` otherwise.

        With ``stream=True`` the body is not read: the caller must close the response.
        ``timeout`` replaces the client's for this call.
        """
        request = self.http.build_request(**self.config.build(route, path or {}, params, body, headers, timeout))
        attempt = 0
        while True:
            try:
                response = self.http.send(request, stream=stream)
            except httpx.HTTPError as error:
                delay = self.config.retry_delay(route, request.headers, attempt, None, error)
                if delay is None:
                    raise connection_error(error) from error
            else:
                if response.is_success:
                    return response
                try:
                    response.read()
                finally:
                    response.close()
                delay = self.config.retry_delay(route, request.headers, attempt, response, None)
                if delay is None:
                    raise error_for(response)
            time.sleep(delay)
            attempt += 1

    def json(self, route: Route, **kwargs: Any) -> Any:
        """The JSON body of a successful call (``None`` for 204)."""
        response = self.request(route, **kwargs)
        return response.json() if response.content else None

    def close(self) -> None:
        if self._owns_client:
            self.http.close()


class AsyncTransport:
    """Sends requests with :class:`httpx.AsyncClient`, retrying as the module docstring says."""

    def __init__(self, config: Config, http_client: Optional[httpx.AsyncClient] = None) -> None:
        self.config = config
        self._owns_client = http_client is None
        self.http = http_client or httpx.AsyncClient(timeout=config.timeout, headers=config.headers)
        if http_client is not None:
            self.http.headers.update(config.headers)

    async def request(
        self,
        route: Route,
        *,
        path: Optional[Mapping[str, str]] = None,
        params: Optional[Params] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = False,
        timeout: Optional[httpx.Timeout] = None,
    ) -> httpx.Response:
        """Sends one call and returns its successful response; raises a :class:`TensorifyError` otherwise.

        With ``stream=True`` the body is not read: the caller must close the response.
        ``timeout`` replaces the client's for this call.
        """
        request = self.http.build_request(**self.config.build(route, path or {}, params, body, headers, timeout))
        attempt = 0
        while True:
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.HTTPError as error:
                delay = self.config.retry_delay(route, request.headers, attempt, None, error)
                if delay is None:
                    raise connection_error(error) from error
            else:
                if response.is_success:
                    return response
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                delay = self.config.retry_delay(route, request.headers, attempt, response, None)
                if delay is None:
                    raise error_for(response)
            await asyncio.sleep(delay)
            attempt += 1

    async def json(self, route: Route, **kwargs: Any) -> Any:
        """The JSON body of a successful call (``None`` for 204)."""
        response = await self.request(route, **kwargs)
        return response.json() if response.content else None

    async def close(self) -> None:
        if self._owns_client:
            await self.http.aclose()

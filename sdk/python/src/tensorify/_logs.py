"""Following an execution's log over Server-Sent Events, across dropped connections.

``GET /v1/executions/:id/logs`` sends one event per log line, its ``id`` the line's index from 0,
and ends with an ``end`` event carrying the final status. When the connection drops (or the
server ends it with an ``error`` event), the stream reconnects with ``Last-Event-ID`` set to the
last line it yielded: the server resumes after that line, and a line at or below it is skipped
should one arrive anyway, so no line is ever repeated or skipped. An event only counts once its
closing blank line has arrived, so a line cut in half by a dropped connection is fetched again.

SSE parsing is httpx-sse's (the WHATWG rules: multi-line ``data``, comments, CR/LF variants).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncGenerator, AsyncIterator, Dict, Generator, Iterator, Optional

import httpx
from httpx_sse import EventSource, ServerSentEvent

from . import _routes as routes
from ._http import AsyncTransport, SyncTransport, backoff_seconds
from .errors import APIConnectionError

#: Reconnects in a row that bring no new line before the stream gives up with APIConnectionError.
MAX_RECONNECTS_WITHOUT_PROGRESS = 5
#: The server writes a comment every 15 s on a quiet stream: this long without a byte means the
#: connection is gone (a client ``timeout`` shorter than that would cut a healthy, quiet stream).
MIN_READ_TIMEOUT = 60.0


def _stream_timeout(timeout: httpx.Timeout) -> httpx.Timeout:
    if timeout.read is None or timeout.read >= MIN_READ_TIMEOUT:
        return timeout
    return httpx.Timeout(timeout.connect, read=MIN_READ_TIMEOUT, write=timeout.write, pool=timeout.pool)


class _Cursor:
    """The position in the log, shared by the sync and async streams."""

    def __init__(self, after: Optional[int]) -> None:
        self.last_id = after
        self.status: Optional[str] = None
        self.failures = 0

    def headers(self) -> Dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = str(self.last_id)
        return headers

    def accept(self, event: ServerSentEvent) -> Optional[str]:
        """The new line an event carries, or ``None`` (a repeat, or not a line)."""
        if event.event != "message" or not event.id.isdigit():
            return None
        index = int(event.id)
        if self.last_id is not None and index <= self.last_id:
            return None
        self.last_id = index
        self.failures = 0
        return event.data

    def finish(self, event: ServerSentEvent) -> bool:
        """Whether the event ends the stream (``end``, recording the final status)."""
        if event.event != "end":
            return False
        try:
            self.status = str(json.loads(event.data)["status"])
        except (ValueError, KeyError, TypeError):
            self.status = "unknown"
        return True

    def failed(self, execution_id: str, cause: Optional[BaseException]) -> float:
        """Counts a connection that ended without ``end``; the wait before reconnecting, or raises when hopeless."""
        self.failures += 1
        if self.failures > MAX_RECONNECTS_WITHOUT_PROGRESS:
            raise APIConnectionError(
                f"Lost the log stream of {execution_id} {self.failures} times in a row without a new line"
                + (f": {cause}" if cause else "")
            ) from cause
        return backoff_seconds(self.failures - 1)


class LogStream:
    """The lines of an execution's log, live: iterate it; it ends when the execution does.

    After the loop, :attr:`status` is the execution's final status. :meth:`close` stops early.

    Attributes:
        status: The final status from the stream's ``end`` event (``None`` until then).
        last_id: The index of the last line yielded (``None`` before the first).
    """

    def __init__(self, transport: SyncTransport, execution_id: str, after: Optional[int] = None) -> None:
        self._transport = transport
        self._execution_id = execution_id
        self._cursor = _Cursor(after)
        self._response: Optional[httpx.Response] = None
        self._lines = self._generate()

    @property
    def status(self) -> Optional[str]:
        return self._cursor.status

    @property
    def last_id(self) -> Optional[int]:
        return self._cursor.last_id

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._lines)

    def close(self) -> None:
        """Stops following: closes the connection."""
        self._lines.close()

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _generate(self) -> Generator[str, None, None]:
        cursor = self._cursor
        while True:
            cause: Optional[BaseException] = None
            try:
                response = self._transport.request(
                    routes.EXECUTIONS_LOGS,
                    path={"id": self._execution_id},
                    headers=cursor.headers(),
                    stream=True,
                    timeout=_stream_timeout(self._transport.config.timeout),
                )
            except APIConnectionError as error:
                cause = error
            else:
                try:
                    for event in EventSource(response).iter_sse():
                        if cursor.finish(event):
                            return
                        line = cursor.accept(event)
                        if line is not None:
                            yield line
                        elif event.event == "error":
                            break
                except httpx.HTTPError as error:
                    cause = error
                finally:
                    response.close()
            time.sleep(cursor.failed(self._execution_id, cause))


class AsyncLogStream:
    """The lines of an execution's log, live, for ``async for``; it ends when the execution does.

    After the loop, :attr:`status` is the execution's final status. :meth:`aclose` stops early.
    """

    def __init__(self, transport: AsyncTransport, execution_id: str, after: Optional[int] = None) -> None:
        self._transport = transport
        self._execution_id = execution_id
        self._cursor = _Cursor(after)
        self._lines = self._generate()

    @property
    def status(self) -> Optional[str]:
        """The final status from the stream's ``end`` event (``None`` until then)."""
        return self._cursor.status

    @property
    def last_id(self) -> Optional[int]:
        """The index of the last line yielded (``None`` before the first)."""
        return self._cursor.last_id

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        return await self._lines.__anext__()

    async def aclose(self) -> None:
        """Stops following: closes the connection."""
        await self._lines.aclose()

    async def _generate(self) -> AsyncGenerator[str, None]:
        cursor = self._cursor
        while True:
            cause: Optional[BaseException] = None
            try:
                response = await self._transport.request(
                    routes.EXECUTIONS_LOGS,
                    path={"id": self._execution_id},
                    headers=cursor.headers(),
                    stream=True,
                    timeout=_stream_timeout(self._transport.config.timeout),
                )
            except APIConnectionError as error:
                cause = error
            else:
                try:
                    async for event in EventSource(response).aiter_sse():
                        if cursor.finish(event):
                            return
                        line = cursor.accept(event)
                        if line is not None:
                            yield line
                        elif event.event == "error":
                            break
                except httpx.HTTPError as error:
                    cause = error
                finally:
                    await response.aclose()
            await asyncio.sleep(cursor.failed(self._execution_id, cause))

"""``client.executions``: runs of workflows, their status, files and live logs."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from .. import _routes as routes
from .._http import AsyncTransport, SyncTransport
from .._logs import AsyncLogStream, LogStream
from .._pagination import AsyncPaginator, Paginator, split_page
from ..errors import WaitTimeoutError
from ..types import Execution, ExecutionSummary

#: First pause between two polls of ``wait``; it grows by half each poll up to the maximum.
POLL_FIRST = 0.2
POLL_MAX = 2.0
POLL_GROWTH = 1.5


def _list_params(
    workflow_id: Optional[str], status: Optional[str], trigger: Optional[str], limit: Optional[int], cursor: Optional[str]
) -> Dict[str, Any]:
    return {"workflowId": workflow_id, "status": status, "trigger": trigger, "limit": limit, "cursor": cursor}


def _poll_pause(previous: float) -> float:
    return min(POLL_MAX, previous * POLL_GROWTH)


class Executions:
    """Executions of the key's workspace (needs ``executions:read``; ``cancel`` and ``rerun`` need ``executions:run``)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def get(self, execution_id: str) -> Execution:
        """The execution as it is now: status, log lines so far, output, error."""
        return Execution.from_json(self._transport.json(routes.EXECUTIONS_GET, path={"id": execution_id}))

    def list(
        self,
        *,
        workflow_id: Optional[str] = None,
        status: Optional[str] = None,
        trigger: Optional[str] = None,
        page_size: Optional[int] = None,
    ) -> Paginator[ExecutionSummary]:
        """Every execution, newest first; pages are fetched lazily.

        Filters: ``workflow_id``, ``status``, and ``trigger`` (``api``, ``webhook`` or ``schedule``: what started the run).
        """

        def fetch(cursor: Optional[str]) -> Any:
            data = self._transport.json(routes.EXECUTIONS_LIST, params=_list_params(workflow_id, status, trigger, page_size, cursor))
            return split_page(data, "executions", ExecutionSummary.from_json)

        return Paginator(fetch)

    def cancel(self, execution_id: str) -> Execution:
        """Asks the run to stop; the answer is ``cancelled``, or still ``running`` while the process stops.

        Raises :class:`~tensorify.ConflictError` when the execution has already finished.
        """
        return Execution.from_json(self._transport.json(routes.EXECUTIONS_CANCEL, path={"id": execution_id}))

    def rerun(self, execution_id: str) -> ExecutionHandle:
        """Queues a new run of what a finished execution ran (its files, inputs, executor, retry policy).

        The new execution's ``trigger`` is ``{"type": "rerun", "executionId": execution_id}``.
        Raises :class:`~tensorify.ConflictError` while the execution has not finished.
        """
        data = self._transport.json(routes.EXECUTIONS_RERUN, path={"id": execution_id})
        return ExecutionHandle(id=data["executionId"], status=data["status"], _executions=self)

    def delete(self, execution_id: str) -> None:
        """Deletes a finished execution now, with its logs and files (the server also does so after the workspace's ``retention_days``).

        Raises :class:`~tensorify.ConflictError` while it is queued or running (cancel it first).
        """
        self._transport.request(routes.EXECUTIONS_DELETE, path={"id": execution_id})

    def files(self, execution_id: str) -> Dict[str, str]:
        """The exact files that ran (file name → content), identical to an export of that workflow version."""
        return dict(self._transport.json(routes.EXECUTIONS_FILES, path={"id": execution_id})["files"])

    def callbacks(self, execution_id: str) -> Dict[str, Any]:
        """The completion callback to the run's ``callbackUrl``: ``{"executionId", "callbackUrl", "delivery", "attempts"}``."""
        return dict(self._transport.json(routes.EXECUTIONS_CALLBACKS, path={"id": execution_id}))

    def wait(self, execution_id: str, *, timeout: Optional[float] = None) -> Execution:
        """Polls the execution, with a growing pause (0.2 s up to 2 s), until it finishes; returns it.

        A failed, cancelled or timed-out run is returned, not raised: look at ``status`` and ``error``.
        Raises :class:`~tensorify.WaitTimeoutError` when ``timeout`` seconds pass first (the run goes on).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = POLL_FIRST
        while True:
            execution = self.get(execution_id)
            if execution.finished:
                return execution
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeoutError(execution_id, timeout or 0.0)
                time.sleep(min(pause, remaining))
            else:
                time.sleep(pause)
            pause = _poll_pause(pause)

    def logs(self, execution_id: str, *, after: Optional[int] = None) -> LogStream:
        """The log lines, live, until the execution ends (see :class:`~tensorify.LogStream`).

        ``after``: the index of a line already seen, to start after it.
        """
        return LogStream(self._transport, execution_id, after)


class AsyncExecutions:
    """Executions of the key's workspace, async (see :class:`Executions`)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def get(self, execution_id: str) -> Execution:
        """The execution as it is now: status, log lines so far, output, error."""
        return Execution.from_json(await self._transport.json(routes.EXECUTIONS_GET, path={"id": execution_id}))

    def list(
        self,
        *,
        workflow_id: Optional[str] = None,
        status: Optional[str] = None,
        trigger: Optional[str] = None,
        page_size: Optional[int] = None,
    ) -> AsyncPaginator[ExecutionSummary]:
        """Every execution, newest first (``async for``), filtered as :meth:`Executions.list` is."""

        async def fetch(cursor: Optional[str]) -> Any:
            data = await self._transport.json(routes.EXECUTIONS_LIST, params=_list_params(workflow_id, status, trigger, page_size, cursor))
            return split_page(data, "executions", ExecutionSummary.from_json)

        return AsyncPaginator(fetch)

    async def cancel(self, execution_id: str) -> Execution:
        """Asks the run to stop (see :meth:`Executions.cancel`)."""
        return Execution.from_json(await self._transport.json(routes.EXECUTIONS_CANCEL, path={"id": execution_id}))

    async def rerun(self, execution_id: str) -> AsyncExecutionHandle:
        """Queues a new run of what a finished execution ran (see :meth:`Executions.rerun`)."""
        data = await self._transport.json(routes.EXECUTIONS_RERUN, path={"id": execution_id})
        return AsyncExecutionHandle(id=data["executionId"], status=data["status"], _executions=self)

    async def delete(self, execution_id: str) -> None:
        """Deletes a finished execution now (see :meth:`Executions.delete`)."""
        await self._transport.request(routes.EXECUTIONS_DELETE, path={"id": execution_id})

    async def files(self, execution_id: str) -> Dict[str, str]:
        """The exact files that ran (file name → content)."""
        return dict((await self._transport.json(routes.EXECUTIONS_FILES, path={"id": execution_id}))["files"])

    async def callbacks(self, execution_id: str) -> Dict[str, Any]:
        """The completion callback of the run and its attempts (see :meth:`Executions.callbacks`)."""
        return dict(await self._transport.json(routes.EXECUTIONS_CALLBACKS, path={"id": execution_id}))

    async def wait(self, execution_id: str, *, timeout: Optional[float] = None) -> Execution:
        """Polls until the execution finishes and returns it (see :meth:`Executions.wait`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = POLL_FIRST
        while True:
            execution = await self.get(execution_id)
            if execution.finished:
                return execution
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeoutError(execution_id, timeout or 0.0)
                await asyncio.sleep(min(pause, remaining))
            else:
                await asyncio.sleep(pause)
            pause = _poll_pause(pause)

    def logs(self, execution_id: str, *, after: Optional[int] = None) -> AsyncLogStream:
        """The log lines, live, for ``async for`` (see :class:`~tensorify.AsyncLogStream`)."""
        return AsyncLogStream(self._transport, execution_id, after)


@dataclass(frozen=True)
class ExecutionHandle:
    """A run just started by ``execute`` or ``run``: its id and status at the start, and what to do next.

    ``client.workflows.execute(wf_id, inputs={…}).wait()`` waits for its end.
    """

    id: str
    status: str
    _executions: Executions = field(repr=False, compare=False)

    def wait(self, *, timeout: Optional[float] = None) -> Execution:
        """Waits for the end of the run and returns it (see :meth:`Executions.wait`)."""
        return self._executions.wait(self.id, timeout=timeout)

    def get(self) -> Execution:
        """The execution as it is now."""
        return self._executions.get(self.id)

    def logs(self, *, after: Optional[int] = None) -> LogStream:
        """Its log lines, live."""
        return self._executions.logs(self.id, after=after)

    def cancel(self) -> Execution:
        """Asks the run to stop."""
        return self._executions.cancel(self.id)


@dataclass(frozen=True)
class AsyncExecutionHandle:
    """A run just started, async (see :class:`ExecutionHandle`)."""

    id: str
    status: str
    _executions: AsyncExecutions = field(repr=False, compare=False)

    async def wait(self, *, timeout: Optional[float] = None) -> Execution:
        """Waits for the end of the run and returns it."""
        return await self._executions.wait(self.id, timeout=timeout)

    async def get(self) -> Execution:
        """The execution as it is now."""
        return await self._executions.get(self.id)

    def logs(self, *, after: Optional[int] = None) -> AsyncLogStream:
        """Its log lines, live."""
        return self._executions.logs(self.id, after=after)

    async def cancel(self) -> Execution:
        """Asks the run to stop."""
        return await self._executions.cancel(self.id)

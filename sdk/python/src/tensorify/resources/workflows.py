"""``client.workflows``: store, validate, export and run workflows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Mapping, Optional, Protocol, Union, runtime_checkable

from .. import _routes as routes
from .._http import AsyncTransport, SyncTransport
from .._pagination import AsyncPaginator, Paginator, split_page
from ..types import Schedule, ValidationReport, Webhook, WebhookSecret, WorkflowData, WorkflowSummary
from .executions import AsyncExecutionHandle, AsyncExecutions, ExecutionHandle, Executions


@runtime_checkable
class WorkflowLike(Protocol):
    """Anything that turns into a workflow body: a builder :class:`tensorify.Workflow`, a stored workflow…

    When the object also has a ``check(catalog)`` method, ``create`` and ``update`` call it with
    the server's node catalogue (the ``GET /v1/nodes`` payload, ``{"nodes": […]}``) before sending,
    so a builder mistake raises before any workflow is stored.
    """

    def to_dict(self) -> Mapping[str, Any]: ...


WorkflowInput = Union[WorkflowLike, Mapping[str, Any]]


def _body(
    workflow: Optional[WorkflowInput],
    name: Optional[str],
    description: Optional[str],
    nodes: Optional[List[Mapping[str, Any]]],
    edges: Optional[List[Mapping[str, Any]]],
) -> Dict[str, Any]:
    """The request body: the workflow's dict, with any keyword given on top."""
    if workflow is None:
        body: Dict[str, Any] = {}
    elif isinstance(workflow, Mapping):
        body = dict(workflow)
    elif isinstance(workflow, WorkflowLike):
        body = dict(workflow.to_dict())
    else:
        raise TypeError(f"Expected a workflow (an object with to_dict()) or a dict, got {type(workflow).__name__}")
    for key, value in (("name", name), ("description", description), ("nodes", nodes), ("edges", edges)):
        if value is not None:
            body[key] = value
    return body


def _wants_check(workflow: Optional[WorkflowInput]) -> bool:
    return workflow is not None and not isinstance(workflow, Mapping) and callable(getattr(workflow, "check", None))


def _execute_request(
    inputs: Optional[Mapping[str, Any]],
    gpu: Optional[bool],
    timeout_seconds: Optional[float],
    executor: Optional[str],
    idempotency_key: Optional[str],
    callback_url: Optional[str] = None,
) -> Dict[str, Any]:
    body = {"inputs": inputs, "gpu": gpu, "timeoutSeconds": timeout_seconds, "executor": executor, "callbackUrl": callback_url}
    # A key of our own when the caller gives none, so that a retry after a lost answer replays
    # the first run instead of starting a second.
    key = idempotency_key if idempotency_key is not None else f"tensorify-python-{uuid.uuid4()}"
    return {"body": {name: value for name, value in body.items() if value is not None}, "headers": {"Idempotency-Key": key}}


def _webhook(data: Mapping[str, Any]) -> Optional[WebhookSecret]:
    """The ``webhook`` of a save that gave the workflow its hook, else ``None``."""
    webhook = data.get("webhook")
    return WebhookSecret.from_json(webhook) if isinstance(webhook, Mapping) else None


def _if_match(version: Union[int, str, None]) -> Optional[Dict[str, str]]:
    return None if version is None else {"If-Match": str(version)}


def write_files(files: Mapping[str, str], to: Union[str, Path]) -> List[Path]:
    """Writes exported files under the directory ``to`` (created when missing); returns their paths.

    A file name that is absolute or climbs out with ``..`` is refused (``ValueError``).
    """
    root = Path(to)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"Refusing to write the exported file {name!r} outside {root}")
        path = root.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="" writes the bytes of the export as they are (an export is deterministic).
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        written.append(path)
    return written


class Workflows:
    """Workflows of the key's workspace (reading needs ``workflows:read``, writing ``workflows:write``)."""

    def __init__(self, transport: SyncTransport, executions: Executions) -> None:
        self._transport = transport
        self._executions = executions

    def list(self, *, page_size: Optional[int] = None) -> Paginator[WorkflowSummary]:
        """Every workflow, newest first; the next page is fetched when the loop reaches it (``nextCursor``)."""

        def fetch(cursor: Optional[str]) -> Any:
            data = self._transport.json(routes.WORKFLOWS_LIST, params={"limit": page_size, "cursor": cursor})
            return split_page(data, "workflows", WorkflowSummary.from_json)

        return Paginator(fetch)

    def get(self, workflow_id: str) -> StoredWorkflow:
        """The stored workflow: graph, version, timestamps. It can ``.run(inputs=…)`` itself."""
        return self._stored(self._transport.json(routes.WORKFLOWS_GET, path={"id": workflow_id}))

    def create(
        self,
        workflow: Optional[WorkflowInput] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        nodes: Optional[List[Mapping[str, Any]]] = None,
        edges: Optional[List[Mapping[str, Any]]] = None,
    ) -> StoredWorkflow:
        """Stores a new workflow (``version`` 1) and returns it.

        ``workflow`` is a builder :class:`tensorify.Workflow` (checked against the node catalogue
        first), any object with ``to_dict()``, or a dict like ``../examples/hello.json``; the
        keywords set or override single fields. Raises :class:`~tensorify.InvalidWorkflowError`
        with the per-node problems when the server refuses the graph.
        """
        self._check(workflow)
        return self._stored(self._transport.json(routes.WORKFLOWS_CREATE, body=_body(workflow, name, description, nodes, edges)))

    def update(
        self,
        workflow_id: str,
        workflow: Optional[WorkflowInput] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        nodes: Optional[List[Mapping[str, Any]]] = None,
        edges: Optional[List[Mapping[str, Any]]] = None,
        if_match: Union[int, str, None] = None,
    ) -> StoredWorkflow:
        """Replaces a workflow's graph (``version`` + 1) and returns it.

        ``if_match``: the version you read; when the stored one is newer the server refuses with
        :class:`~tensorify.ConflictError` instead of overwriting someone else's change.
        """
        self._check(workflow)
        body = _body(workflow, name, description, nodes, edges)
        return self._stored(self._transport.json(routes.WORKFLOWS_REPLACE, path={"id": workflow_id}, body=body, headers=_if_match(if_match)))

    def delete(self, workflow_id: str) -> None:
        """Deletes a workflow."""
        self._transport.request(routes.WORKFLOWS_DELETE, path={"id": workflow_id})

    def validate(
        self,
        workflow: Optional[WorkflowInput] = None,
        *,
        nodes: Optional[List[Mapping[str, Any]]] = None,
        edges: Optional[List[Mapping[str, Any]]] = None,
    ) -> ValidationReport:
        """The server's report on a graph, without storing it: ``valid`` and the problems per node."""
        return ValidationReport.from_json(self._transport.json(routes.WORKFLOWS_VALIDATE, body=_body(workflow, None, None, nodes, edges)))

    def export(self, workflow_id: str, *, to: Union[str, Path, None] = None) -> Dict[str, str]:
        """The workflow as a Python project: ``{"main.py": …, "utils.py": …, "requirements.txt": …}``.

        With ``to``, the files are also written into that directory (created when missing).
        """
        files: Dict[str, str] = dict(self._transport.json(routes.WORKFLOWS_EXPORT, path={"id": workflow_id})["files"])
        if to is not None:
            write_files(files, to)
        return files

    def export_zip(self, workflow_id: str) -> bytes:
        """The same files as :meth:`export`, as the bytes of a zip archive."""
        return self._transport.request(routes.WORKFLOWS_EXPORT, path={"id": workflow_id}, params={"format": "zip"}).content

    def execute(
        self,
        workflow_id: str,
        *,
        inputs: Optional[Mapping[str, Any]] = None,
        gpu: Optional[bool] = None,
        timeout_seconds: Optional[float] = None,
        idempotency_key: Optional[str] = None,
        executor: Optional[str] = None,
        callback_url: Optional[str] = None,
    ) -> ExecutionHandle:
        """Starts a run of the stored workflow and returns its handle (``.wait()``, ``.logs()``, ``.cancel()``).

        The request carries an ``Idempotency-Key`` (yours, or a fresh one), so a retry after a lost
        answer never starts the workflow twice. ``gpu=True`` needs an executor with a GPU, else
        :class:`~tensorify.BadRequestError` ``GPU_UNAVAILABLE``; ``executor`` picks one by id.
        ``callback_url``: the server POSTs a signed ``execution.finished`` there when the run ends.
        """
        request = _execute_request(inputs, gpu, timeout_seconds, executor, idempotency_key, callback_url)
        data = self._transport.json(routes.WORKFLOWS_EXECUTE, path={"id": workflow_id}, **request)
        return ExecutionHandle(id=data["executionId"], status=data["status"], _executions=self._executions)

    def schedule(self, workflow_id: str) -> Schedule:
        """The schedule of a workflow whose trigger is ``schedule``: cron, time zone, ``paused``, next 5 fire times, last run.

        Raises :class:`~tensorify.NotFoundError` (``SCHEDULE_NOT_FOUND``) for another trigger.
        """
        return Schedule.from_json(self._transport.json(routes.WORKFLOWS_SCHEDULE_GET, path={"id": workflow_id}))

    def set_schedule_paused(self, workflow_id: str, paused: bool) -> Schedule:
        """Pauses (``True``) or resumes (``False``) a schedule; resumed, it fires next at its next time after now."""
        return Schedule.from_json(self._transport.json(routes.WORKFLOWS_SCHEDULE_UPDATE, path={"id": workflow_id}, body={"paused": paused}))

    def pause_schedule(self, workflow_id: str) -> Schedule:
        """Pauses a schedule: no runs until it is resumed (edits of the workflow keep it paused)."""
        return self.set_schedule_paused(workflow_id, True)

    def resume_schedule(self, workflow_id: str) -> Schedule:
        """Resumes a schedule from its next fire time after now (missed ones are not run)."""
        return self.set_schedule_paused(workflow_id, False)

    def webhook(self, workflow_id: str) -> Webhook:
        """The hook of a workflow whose trigger is ``webhook``: URL and settings, never the secret.

        Raises :class:`~tensorify.NotFoundError` for another trigger.
        """
        return Webhook.from_json(self._transport.json(routes.WORKFLOWS_WEBHOOK_GET, path={"id": workflow_id}))

    def rotate_webhook(self, workflow_id: str) -> WebhookSecret:
        """Gives the hook a new id (a new URL) and a new secret, shown this once; the old URL answers 404 from then on."""
        return WebhookSecret.from_json(self._transport.json(routes.WORKFLOWS_WEBHOOK_ROTATE, path={"id": workflow_id}))

    def _check(self, workflow: Optional[WorkflowInput]) -> None:
        if _wants_check(workflow):
            getattr(workflow, "check")(self._transport.json(routes.NODES_LIST))

    def _stored(self, data: Mapping[str, Any]) -> StoredWorkflow:
        return StoredWorkflow(**WorkflowData.fields_from_json(data), _workflows=self, webhook=_webhook(data))


class AsyncWorkflows:
    """Workflows of the key's workspace, async (see :class:`Workflows`)."""

    def __init__(self, transport: AsyncTransport, executions: AsyncExecutions) -> None:
        self._transport = transport
        self._executions = executions

    def list(self, *, page_size: Optional[int] = None) -> AsyncPaginator[WorkflowSummary]:
        """Every workflow, newest first, for ``async for``."""

        async def fetch(cursor: Optional[str]) -> Any:
            data = await self._transport.json(routes.WORKFLOWS_LIST, params={"limit": page_size, "cursor": cursor})
            return split_page(data, "workflows", WorkflowSummary.from_json)

        return AsyncPaginator(fetch)

    async def get(self, workflow_id: str) -> AsyncStoredWorkflow:
        """The stored workflow; it can ``await .run(inputs=…)`` itself."""
        return self._stored(await self._transport.json(routes.WORKFLOWS_GET, path={"id": workflow_id}))

    async def create(
        self,
        workflow: Optional[WorkflowInput] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        nodes: Optional[List[Mapping[str, Any]]] = None,
        edges: Optional[List[Mapping[str, Any]]] = None,
    ) -> AsyncStoredWorkflow:
        """Stores a new workflow (see :meth:`Workflows.create`)."""
        await self._check(workflow)
        return self._stored(await self._transport.json(routes.WORKFLOWS_CREATE, body=_body(workflow, name, description, nodes, edges)))

    async def update(
        self,
        workflow_id: str,
        workflow: Optional[WorkflowInput] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        nodes: Optional[List[Mapping[str, Any]]] = None,
        edges: Optional[List[Mapping[str, Any]]] = None,
        if_match: Union[int, str, None] = None,
    ) -> AsyncStoredWorkflow:
        """Replaces a workflow's graph (see :meth:`Workflows.update`)."""
        await self._check(workflow)
        body = _body(workflow, name, description, nodes, edges)
        data = await self._transport.json(routes.WORKFLOWS_REPLACE, path={"id": workflow_id}, body=body, headers=_if_match(if_match))
        return self._stored(data)

    async def delete(self, workflow_id: str) -> None:
        """Deletes a workflow."""
        await self._transport.request(routes.WORKFLOWS_DELETE, path={"id": workflow_id})

    async def validate(
        self,
        workflow: Optional[WorkflowInput] = None,
        *,
        nodes: Optional[List[Mapping[str, Any]]] = None,
        edges: Optional[List[Mapping[str, Any]]] = None,
    ) -> ValidationReport:
        """The server's report on a graph, without storing it."""
        data = await self._transport.json(routes.WORKFLOWS_VALIDATE, body=_body(workflow, None, None, nodes, edges))
        return ValidationReport.from_json(data)

    async def export(self, workflow_id: str, *, to: Union[str, Path, None] = None) -> Dict[str, str]:
        """The workflow as a Python project; with ``to``, also written into that directory."""
        files: Dict[str, str] = dict((await self._transport.json(routes.WORKFLOWS_EXPORT, path={"id": workflow_id}))["files"])
        if to is not None:
            write_files(files, to)
        return files

    async def export_zip(self, workflow_id: str) -> bytes:
        """The exported files as the bytes of a zip archive."""
        return (await self._transport.request(routes.WORKFLOWS_EXPORT, path={"id": workflow_id}, params={"format": "zip"})).content

    async def execute(
        self,
        workflow_id: str,
        *,
        inputs: Optional[Mapping[str, Any]] = None,
        gpu: Optional[bool] = None,
        timeout_seconds: Optional[float] = None,
        idempotency_key: Optional[str] = None,
        executor: Optional[str] = None,
        callback_url: Optional[str] = None,
    ) -> AsyncExecutionHandle:
        """Starts a run of the stored workflow (see :meth:`Workflows.execute`)."""
        request = _execute_request(inputs, gpu, timeout_seconds, executor, idempotency_key, callback_url)
        data = await self._transport.json(routes.WORKFLOWS_EXECUTE, path={"id": workflow_id}, **request)
        return AsyncExecutionHandle(id=data["executionId"], status=data["status"], _executions=self._executions)

    async def schedule(self, workflow_id: str) -> Schedule:
        """The schedule of a workflow whose trigger is ``schedule`` (see :meth:`Workflows.schedule`)."""
        return Schedule.from_json(await self._transport.json(routes.WORKFLOWS_SCHEDULE_GET, path={"id": workflow_id}))

    async def set_schedule_paused(self, workflow_id: str, paused: bool) -> Schedule:
        """Pauses (``True``) or resumes (``False``) a schedule."""
        data = await self._transport.json(routes.WORKFLOWS_SCHEDULE_UPDATE, path={"id": workflow_id}, body={"paused": paused})
        return Schedule.from_json(data)

    async def pause_schedule(self, workflow_id: str) -> Schedule:
        """Pauses a schedule."""
        return await self.set_schedule_paused(workflow_id, True)

    async def resume_schedule(self, workflow_id: str) -> Schedule:
        """Resumes a schedule from its next fire time after now."""
        return await self.set_schedule_paused(workflow_id, False)

    async def webhook(self, workflow_id: str) -> Webhook:
        """The hook of a workflow whose trigger is ``webhook``: URL and settings, never the secret."""
        return Webhook.from_json(await self._transport.json(routes.WORKFLOWS_WEBHOOK_GET, path={"id": workflow_id}))

    async def rotate_webhook(self, workflow_id: str) -> WebhookSecret:
        """Gives the hook a new URL and secret (see :meth:`Workflows.rotate_webhook`)."""
        return WebhookSecret.from_json(await self._transport.json(routes.WORKFLOWS_WEBHOOK_ROTATE, path={"id": workflow_id}))

    async def _check(self, workflow: Optional[WorkflowInput]) -> None:
        if _wants_check(workflow):
            getattr(workflow, "check")(await self._transport.json(routes.NODES_LIST))

    def _stored(self, data: Mapping[str, Any]) -> AsyncStoredWorkflow:
        return AsyncStoredWorkflow(**WorkflowData.fields_from_json(data), _workflows=self, webhook=_webhook(data))


@dataclass(frozen=True)
class StoredWorkflow(WorkflowData):
    """A workflow as the server stores it, bound to the client that fetched it.

    ``client.workflows.create(wf).run(inputs={"name": "Ada"}).wait()`` stores, runs and waits.
    """

    _workflows: Workflows = field(repr=False, compare=False)
    #: Only from the create or update that gave the workflow its hook (its trigger became
    #: ``webhook``): the hook's ``url``, ``hook_id`` and ``secret``, the secret shown this once.
    webhook: Optional[WebhookSecret] = field(default=None, compare=False)

    def run(
        self,
        *,
        inputs: Optional[Mapping[str, Any]] = None,
        gpu: Optional[bool] = None,
        timeout_seconds: Optional[float] = None,
        idempotency_key: Optional[str] = None,
        executor: Optional[str] = None,
        callback_url: Optional[str] = None,
    ) -> ExecutionHandle:
        """Starts a run of this workflow (see :meth:`Workflows.execute`)."""
        return self._workflows.execute(
            self.id, inputs=inputs, gpu=gpu, timeout_seconds=timeout_seconds, idempotency_key=idempotency_key, executor=executor
        )

    def export(self, *, to: Union[str, Path, None] = None) -> Dict[str, str]:
        """This workflow as a Python project (see :meth:`Workflows.export`)."""
        return self._workflows.export(self.id, to=to)


@dataclass(frozen=True)
class AsyncStoredWorkflow(WorkflowData):
    """A stored workflow bound to an async client: ``await (await client.workflows.create(wf)).run(…)``."""

    _workflows: AsyncWorkflows = field(repr=False, compare=False)
    #: As :attr:`StoredWorkflow.webhook`.
    webhook: Optional[WebhookSecret] = field(default=None, compare=False)

    async def run(
        self,
        *,
        inputs: Optional[Mapping[str, Any]] = None,
        gpu: Optional[bool] = None,
        timeout_seconds: Optional[float] = None,
        idempotency_key: Optional[str] = None,
        executor: Optional[str] = None,
        callback_url: Optional[str] = None,
    ) -> AsyncExecutionHandle:
        """Starts a run of this workflow."""
        return await self._workflows.execute(
            self.id, inputs=inputs, gpu=gpu, timeout_seconds=timeout_seconds, idempotency_key=idempotency_key, executor=executor
        )

    async def export(self, *, to: Union[str, Path, None] = None) -> Dict[str, str]:
        """This workflow as a Python project."""
        return await self._workflows.export(self.id, to=to)

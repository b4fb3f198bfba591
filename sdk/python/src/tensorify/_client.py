"""The clients: :class:`Tensorify` (sync) and :class:`AsyncTensorify`."""

from __future__ import annotations

from typing import Mapping, Optional, Union

import httpx

from ._http import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncTransport, Config, SyncTransport
from .resources.access import ApiKeys, AsyncApiKeys, AsyncMeResource, AsyncWorkspaces, MeResource, Workspaces
from .resources.executions import AsyncExecutions, Executions
from .resources.platform import AsyncExecutors, AsyncNodes, AsyncSystem, Executors, Nodes, System
from .resources.workflows import AsyncWorkflows, Workflows


class Tensorify:
    """A client of a Tensorify Server.

    ::

        from tensorify import Tensorify

        client = Tensorify()  # TENSORIFY_API_KEY, TENSORIFY_BASE_URL (default http://localhost:3000/v1)
        for workflow in client.workflows.list():
            print(workflow.id, workflow.name)

    Args:
        api_key: A ``tfy_…`` key; default: the ``TENSORIFY_API_KEY`` environment variable.
        base_url: The API's base URL; default: ``TENSORIFY_BASE_URL``, else ``http://localhost:3000/v1``.
        timeout: Seconds per request (or an :class:`httpx.Timeout`); ``None`` waits forever.
        max_retries: Retries of a request refused with 429 or 503 (honouring ``Retry-After``) or
            that lost its connection where repeating it is safe.
        default_headers: Headers sent with every request.
        http_client: An :class:`httpx.Client` of your own (proxies, certificates…); the client
            then leaves closing it to you.

    Use it as a context manager, or call :meth:`close`, to close its connections.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: Union[float, httpx.Timeout, None] = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Optional[Mapping[str, str]] = None,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        config = Config(api_key, base_url, timeout, max_retries, default_headers)
        self._transport = SyncTransport(config, http_client)
        self.base_url: str = config.base_url
        self.executions = Executions(self._transport)
        self.workflows = Workflows(self._transport, self.executions)
        self.nodes = Nodes(self._transport)
        self.executors = Executors(self._transport)
        self.system = System(self._transport)
        self.me = MeResource(self._transport)
        self.workspaces = Workspaces(self._transport)
        self.api_keys = ApiKeys(self._transport)

    def close(self) -> None:
        """Closes the client's connections."""
        self._transport.close()

    def __enter__(self) -> Tensorify:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTensorify:
    """An asyncio client of a Tensorify Server; the same namespaces as :class:`Tensorify`, awaited.

    ::

        async with AsyncTensorify() as client:
            run = await client.workflows.execute("wf_…", inputs={"name": "Ada"})
            async for line in run.logs():
                print(line)

    Arguments as for :class:`Tensorify` (``http_client`` is an :class:`httpx.AsyncClient`).
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: Union[float, httpx.Timeout, None] = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Optional[Mapping[str, str]] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        config = Config(api_key, base_url, timeout, max_retries, default_headers)
        self._transport = AsyncTransport(config, http_client)
        self.base_url: str = config.base_url
        self.executions = AsyncExecutions(self._transport)
        self.workflows = AsyncWorkflows(self._transport, self.executions)
        self.nodes = AsyncNodes(self._transport)
        self.executors = AsyncExecutors(self._transport)
        self.system = AsyncSystem(self._transport)
        self.me = AsyncMeResource(self._transport)
        self.workspaces = AsyncWorkspaces(self._transport)
        self.api_keys = AsyncApiKeys(self._transport)

    async def close(self) -> None:
        """Closes the client's connections."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncTensorify:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

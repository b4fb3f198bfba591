"""``client.nodes``, ``client.executors`` and ``client.system``: what the server offers and runs on."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import _routes as routes
from .._http import AsyncTransport, SyncTransport
from ..types import Executor, Health, NodeType, Readiness, SystemFacts


def _readiness(data: Dict[str, Any]) -> Readiness:
    return Readiness(status=data["status"], checks=dict(data.get("checks") or {}), executors=dict(data.get("executors") or {}))


class Nodes:
    """``client.nodes``: the node catalogue (needs ``workflows:read``)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def list(self) -> List[NodeType]:
        """Every node type: ports, settings schema and defaults, Python requirements."""
        return [NodeType.from_json(node) for node in self.catalog()["nodes"]]

    def catalog(self) -> Dict[str, Any]:
        """The catalogue as the server sends it (``{"nodes": […]}``), as the workflow builder checks against it."""
        return dict(self._transport.json(routes.NODES_LIST))

    def packs(self) -> List[Dict[str, Any]]:
        """The node packs as the server sends them: the built-in one first, each with ``name``, ``version``,
        ``namespace``, ``source``, ``path``, ``types`` and, when it did not load, ``loadError``."""
        return [dict(pack) for pack in self._transport.json(routes.NODE_PACKS_LIST)["packs"]]


class AsyncNodes:
    """``client.nodes``, async."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(self) -> List[NodeType]:
        """Every node type."""
        return [NodeType.from_json(node) for node in (await self.catalog())["nodes"]]

    async def catalog(self) -> Dict[str, Any]:
        """The catalogue as the server sends it (``{"nodes": […]}``)."""
        return dict(await self._transport.json(routes.NODES_LIST))

    async def packs(self) -> List[Dict[str, Any]]:
        """The node packs, as :meth:`Nodes.packs`."""
        return [dict(pack) for pack in (await self._transport.json(routes.NODE_PACKS_LIST))["packs"]]


class Executors:
    """``client.executors``: where runs can go."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def list(self) -> List[Executor]:
        """The loaded executor plugins, their health and GPUs; a plugin that failed to load has ``load_error``."""
        return [Executor.from_json(item) for item in self._transport.json(routes.EXECUTORS_LIST)["executors"]]


class AsyncExecutors:
    """``client.executors``, async."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(self) -> List[Executor]:
        """The loaded executor plugins, their health and GPUs."""
        return [Executor.from_json(item) for item in (await self._transport.json(routes.EXECUTORS_LIST))["executors"]]


class System:
    """``client.system``: host facts, health and metrics."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def get(self) -> SystemFacts:
        """CPU, memory, GPUs and the Python version of the server's host."""
        return SystemFacts.from_json(self._transport.json(routes.SYSTEM))

    def health(self) -> Health:
        """Liveness: the process answers."""
        return Health(status=self._transport.json(routes.HEALTH)["status"])

    def ready(self) -> Readiness:
        """Readiness: database, queue and executors. Raises :class:`~tensorify.ServiceUnavailableError` when not ready."""
        return _readiness(self._transport.json(routes.HEALTH_READY))

    def metrics(self) -> str:
        """The Prometheus metrics, as text."""
        return self._transport.request(routes.METRICS).text


class AsyncSystem:
    """``client.system``, async."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def get(self) -> SystemFacts:
        """CPU, memory, GPUs and the Python version of the server's host."""
        return SystemFacts.from_json(await self._transport.json(routes.SYSTEM))

    async def health(self) -> Health:
        """Liveness: the process answers."""
        return Health(status=(await self._transport.json(routes.HEALTH))["status"])

    async def ready(self) -> Readiness:
        """Readiness: database, queue and executors."""
        return _readiness(await self._transport.json(routes.HEALTH_READY))

    async def metrics(self) -> str:
        """The Prometheus metrics, as text."""
        return (await self._transport.request(routes.METRICS)).text

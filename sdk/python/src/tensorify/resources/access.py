"""``client.me``, ``client.workspaces`` and ``client.api_keys``: who calls, teams and their keys.

Workspaces and API keys need a key with the ``admin`` scope.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from datetime import datetime

from .. import _routes as routes
from .._http import AsyncTransport, SyncTransport
from .._pagination import AsyncPaginator, Paginator, split_page
from ..types import ApiKey, CreatedApiKey, Me, Workspace


def _workspace_body(
    name: Optional[str], plan: Optional[str], rate_limit_per_minute: Optional[int], retention_days: Optional[int] = None, default_retention: bool = False
) -> Dict[str, Any]:
    body: Dict[str, Any] = {"name": name, "plan": plan, "rateLimitPerMinute": rate_limit_per_minute, "retentionDays": retention_days}
    body = {key: value for key, value in body.items() if value is not None}
    if default_retention:
        body["retentionDays"] = None  # back to the plan's default
    return body


def _api_key_body(
    name: str, workspace_id: Optional[str], scopes: Optional[List[str]], expires_at: Union[datetime, str, None]
) -> Dict[str, Any]:
    expires = expires_at.isoformat() if isinstance(expires_at, datetime) else expires_at
    body = {"name": name, "workspaceId": workspace_id, "scopes": scopes, "expiresAt": expires}
    return {key: value for key, value in body.items() if value is not None}


class MeResource:
    """``client.me``: the caller's workspace and key."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def get(self) -> Me:
        """The caller's workspace (plan, rate limit) and API key (prefix, scopes)."""
        return Me.from_json(self._transport.json(routes.ME))


class AsyncMeResource:
    """``client.me``, async."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def get(self) -> Me:
        """The caller's workspace (plan, rate limit) and API key (prefix, scopes)."""
        return Me.from_json(await self._transport.json(routes.ME))


class Workspaces:
    """``client.workspaces`` (admin): teams with their own plan and rate limit."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(self, name: str, *, plan: str, rate_limit_per_minute: Optional[int] = None) -> Workspace:
        """Creates a workspace; ``plan`` is ``free`` (60 requests/minute), ``pro`` (300) or ``enterprise`` (its own limit)."""
        return Workspace.from_json(self._transport.json(routes.WORKSPACES_CREATE, body=_workspace_body(name, plan, rate_limit_per_minute)))

    def list(self, *, page_size: Optional[int] = None) -> Paginator[Workspace]:
        """Every workspace, newest first."""

        def fetch(cursor: Optional[str]) -> Any:
            data = self._transport.json(routes.WORKSPACES_LIST, params={"limit": page_size, "cursor": cursor})
            return split_page(data, "workspaces", Workspace.from_json)

        return Paginator(fetch)

    def get(self, workspace_id: str) -> Workspace:
        """One workspace."""
        return Workspace.from_json(self._transport.json(routes.WORKSPACES_GET, path={"id": workspace_id}))

    def update(
        self,
        workspace_id: str,
        *,
        name: Optional[str] = None,
        plan: Optional[str] = None,
        rate_limit_per_minute: Optional[int] = None,
        retention_days: Optional[int] = None,
        default_retention: bool = False,
    ) -> Workspace:
        """Renames a workspace or changes its plan, limit or ``retention_days`` (1-3650; ``default_retention=True``: the plan's); only the fields given change."""
        body = _workspace_body(name, plan, rate_limit_per_minute, retention_days, default_retention)
        return Workspace.from_json(self._transport.json(routes.WORKSPACES_UPDATE, path={"id": workspace_id}, body=body))

    def rotate_signing_secret(self, workspace_id: str) -> Dict[str, Any]:
        """A new secret for the workspace's completion callbacks (``{"workspaceId", "secret", "createdAt"}``), shown this once."""
        return dict(self._transport.json(routes.WORKSPACES_ROTATE_SIGNING_SECRET, path={"id": workspace_id}))


class AsyncWorkspaces:
    """``client.workspaces`` (admin), async."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(self, name: str, *, plan: str, rate_limit_per_minute: Optional[int] = None) -> Workspace:
        """Creates a workspace (see :meth:`Workspaces.create`)."""
        body = _workspace_body(name, plan, rate_limit_per_minute)
        return Workspace.from_json(await self._transport.json(routes.WORKSPACES_CREATE, body=body))

    def list(self, *, page_size: Optional[int] = None) -> AsyncPaginator[Workspace]:
        """Every workspace, newest first, for ``async for``."""

        async def fetch(cursor: Optional[str]) -> Any:
            data = await self._transport.json(routes.WORKSPACES_LIST, params={"limit": page_size, "cursor": cursor})
            return split_page(data, "workspaces", Workspace.from_json)

        return AsyncPaginator(fetch)

    async def get(self, workspace_id: str) -> Workspace:
        """One workspace."""
        return Workspace.from_json(await self._transport.json(routes.WORKSPACES_GET, path={"id": workspace_id}))

    async def update(
        self,
        workspace_id: str,
        *,
        name: Optional[str] = None,
        plan: Optional[str] = None,
        rate_limit_per_minute: Optional[int] = None,
        retention_days: Optional[int] = None,
        default_retention: bool = False,
    ) -> Workspace:
        """Renames a workspace or changes its plan, limit or retention (see :meth:`Workspaces.update`)."""
        body = _workspace_body(name, plan, rate_limit_per_minute, retention_days, default_retention)
        return Workspace.from_json(await self._transport.json(routes.WORKSPACES_UPDATE, path={"id": workspace_id}, body=body))

    async def rotate_signing_secret(self, workspace_id: str) -> Dict[str, Any]:
        """A new signing secret for the workspace (see :meth:`Workspaces.rotate_signing_secret`)."""
        return dict(await self._transport.json(routes.WORKSPACES_ROTATE_SIGNING_SECRET, path={"id": workspace_id}))


class ApiKeys:
    """``client.api_keys`` (admin): create, list and revoke API keys."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(
        self,
        name: str,
        *,
        workspace_id: Optional[str] = None,
        scopes: Optional[List[str]] = None,
        expires_at: Union[datetime, str, None] = None,
    ) -> CreatedApiKey:
        """Creates a key; its secret is in ``.key``, shown only this once.

        ``workspace_id`` defaults to the caller's, ``scopes`` to the caller's own (never more).
        """
        body = _api_key_body(name, workspace_id, scopes, expires_at)
        return CreatedApiKey.from_json(self._transport.json(routes.API_KEYS_CREATE, body=body))

    def list(self, *, workspace_id: Optional[str] = None, page_size: Optional[int] = None) -> Paginator[ApiKey]:
        """Every key (never a secret), newest first, optionally of one workspace."""

        def fetch(cursor: Optional[str]) -> Any:
            params = {"workspaceId": workspace_id, "limit": page_size, "cursor": cursor}
            return split_page(self._transport.json(routes.API_KEYS_LIST, params=params), "apiKeys", ApiKey.from_json)

        return Paginator(fetch)

    def revoke(self, api_key_id: str) -> None:
        """Revokes a key: it fails from the next request on."""
        self._transport.request(routes.API_KEYS_REVOKE, path={"id": api_key_id})


class AsyncApiKeys:
    """``client.api_keys`` (admin), async."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(
        self,
        name: str,
        *,
        workspace_id: Optional[str] = None,
        scopes: Optional[List[str]] = None,
        expires_at: Union[datetime, str, None] = None,
    ) -> CreatedApiKey:
        """Creates a key (see :meth:`ApiKeys.create`)."""
        body = _api_key_body(name, workspace_id, scopes, expires_at)
        return CreatedApiKey.from_json(await self._transport.json(routes.API_KEYS_CREATE, body=body))

    def list(self, *, workspace_id: Optional[str] = None, page_size: Optional[int] = None) -> AsyncPaginator[ApiKey]:
        """Every key (never a secret), newest first, for ``async for``."""

        async def fetch(cursor: Optional[str]) -> Any:
            params = {"workspaceId": workspace_id, "limit": page_size, "cursor": cursor}
            return split_page(await self._transport.json(routes.API_KEYS_LIST, params=params), "apiKeys", ApiKey.from_json)

        return AsyncPaginator(fetch)

    async def revoke(self, api_key_id: str) -> None:
        """Revokes a key."""
        await self._transport.request(routes.API_KEYS_REVOKE, path={"id": api_key_id})

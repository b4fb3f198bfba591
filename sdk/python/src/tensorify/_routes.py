"""Every operation of the REST API, once.

Resources name an operation by one of these constants and never spell a path themselves, so
``tests/test_drift.py`` can compare this table with the server's OpenAPI document: an operation
the server has and the SDK does not fails the build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple
from urllib.parse import quote


@dataclass(frozen=True)
class Route:
    """An operation: its HTTP method and its path template as the OpenAPI document writes it."""

    method: str
    path: str

    def format(self, **params: str) -> str:
        """The path with each ``{name}`` replaced by its URL-quoted value (no ``/`` or ``..`` can slip in)."""
        path = self.path
        for name, value in params.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        return path


WORKSPACES_CREATE = Route("POST", "/v1/workspaces")
WORKSPACES_LIST = Route("GET", "/v1/workspaces")
WORKSPACES_GET = Route("GET", "/v1/workspaces/{id}")
WORKSPACES_UPDATE = Route("PATCH", "/v1/workspaces/{id}")
WORKSPACES_ROTATE_SIGNING_SECRET = Route("POST", "/v1/workspaces/{id}/signing-secret/rotate")
ME = Route("GET", "/v1/me")
API_KEYS_CREATE = Route("POST", "/v1/api-keys")
API_KEYS_LIST = Route("GET", "/v1/api-keys")
API_KEYS_REVOKE = Route("DELETE", "/v1/api-keys/{id}")
NODES_LIST = Route("GET", "/v1/nodes")
NODE_PACKS_LIST = Route("GET", "/v1/node-packs")
WORKFLOWS_LIST = Route("GET", "/v1/workflows")
WORKFLOWS_CREATE = Route("POST", "/v1/workflows")
WORKFLOWS_VALIDATE = Route("POST", "/v1/workflows/validate")
WORKFLOWS_GET = Route("GET", "/v1/workflows/{id}")
WORKFLOWS_REPLACE = Route("PUT", "/v1/workflows/{id}")
WORKFLOWS_DELETE = Route("DELETE", "/v1/workflows/{id}")
WORKFLOWS_EXPORT = Route("POST", "/v1/workflows/{id}/export")
WORKFLOWS_EXECUTE = Route("POST", "/v1/workflows/{id}/execute")
WORKFLOWS_SCHEDULE_GET = Route("GET", "/v1/workflows/{id}/schedule")
WORKFLOWS_SCHEDULE_UPDATE = Route("PATCH", "/v1/workflows/{id}/schedule")
WORKFLOWS_WEBHOOK_GET = Route("GET", "/v1/workflows/{id}/webhook")
WORKFLOWS_WEBHOOK_ROTATE = Route("POST", "/v1/workflows/{id}/webhook/rotate")
HOOKS_GET = Route("GET", "/v1/hooks/{hookId}")
HOOKS_POST = Route("POST", "/v1/hooks/{hookId}")
HOOKS_PUT = Route("PUT", "/v1/hooks/{hookId}")
HOOKS_PATCH = Route("PATCH", "/v1/hooks/{hookId}")
HOOKS_DELETE = Route("DELETE", "/v1/hooks/{hookId}")
EXECUTIONS_LIST = Route("GET", "/v1/executions")
EXECUTIONS_GET = Route("GET", "/v1/executions/{id}")
EXECUTIONS_CANCEL = Route("POST", "/v1/executions/{id}/cancel")
EXECUTIONS_RERUN = Route("POST", "/v1/executions/{id}/rerun")
EXECUTIONS_DELETE = Route("DELETE", "/v1/executions/{id}")
EXECUTIONS_FILES = Route("GET", "/v1/executions/{id}/files")
EXECUTIONS_LOGS = Route("GET", "/v1/executions/{id}/logs")
EXECUTIONS_CALLBACKS = Route("GET", "/v1/executions/{id}/callbacks")
EXECUTORS_LIST = Route("GET", "/v1/executors")
SYSTEM = Route("GET", "/v1/system")
HEALTH = Route("GET", "/health")
HEALTH_READY = Route("GET", "/health/ready")
METRICS = Route("GET", "/metrics")


def all_routes() -> Tuple[Route, ...]:
    """Every route above, for the drift test."""
    return tuple(value for value in globals().values() if isinstance(value, Route))

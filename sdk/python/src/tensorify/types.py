"""Typed values the API returns, as dataclasses.

Field names are the API's camelCase fields in snake_case (``createdAt`` → ``created_at``),
timestamps are timezone-aware :class:`datetime.datetime` values, and fields the server adds
later are ignored, so an older SDK keeps working against a newer server. Free-form JSON
(workflow nodes and edges, settings, an execution's output) stays as plain dicts and lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Union

__all__ = [
    "WorkflowSummary",
    "WorkflowData",
    "GraphProblem",
    "ValidationReport",
    "ExecutionTrigger",
    "ExecutionSummary",
    "WebhookSecret",
    "Webhook",
    "Schedule",
    "HookDelivery",
    "ExecutionFailure",
    "Execution",
    "NodePort",
    "NodeType",
    "ExecutorGpu",
    "ExecutorWarmProcess",
    "Executor",
    "ServerFacts",
    "OsFacts",
    "CpuFacts",
    "GpuFacts",
    "PythonFacts",
    "MemoryFacts",
    "SystemFacts",
    "Health",
    "Readiness",
    "MeWorkspace",
    "MeApiKey",
    "Me",
    "Workspace",
    "ApiKey",
    "CreatedApiKey",
    "TERMINAL_STATUSES",
]

JSON = Dict[str, Any]

#: Execution statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "timed_out"})


def _time(value: Any) -> datetime:
    # datetime.fromisoformat only reads a trailing "Z" from Python 3.11 on.
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _opt_time(value: Any) -> Optional[datetime]:
    return None if value is None else _time(value)


def _opt_str(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def _list_of_dicts(value: Any) -> List[JSON]:
    return [dict(item) for item in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class WorkflowSummary:
    """A workflow as ``workflows.list()`` gives it: no graph."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkflowSummary:
        return cls(id=data["id"], name=data["name"], created_at=_time(data["createdAt"]), updated_at=_time(data["updatedAt"]))


@dataclass(frozen=True)
class WorkflowData:
    """A stored workflow: its graph, its version (for ``If-Match``) and its timestamps."""

    id: str
    name: str
    description: str
    version: int
    nodes: List[JSON]
    edges: List[JSON]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def fields_from_json(data: Mapping[str, Any]) -> Dict[str, Any]:
        return {
            "id": data["id"],
            "name": data["name"],
            "description": data.get("description", ""),
            "version": int(data["version"]),
            "nodes": _list_of_dicts(data.get("nodes")),
            "edges": _list_of_dicts(data.get("edges")),
            "created_at": _time(data["createdAt"]),
            "updated_at": _time(data["updatedAt"]),
        }

    def to_dict(self) -> JSON:
        """The request body that stores this graph again (``name``, ``description``, ``nodes``, ``edges``)."""
        return {"name": self.name, "description": self.description, "nodes": self.nodes, "edges": self.edges}


@dataclass(frozen=True)
class GraphProblem:
    """One problem of a graph: a stable ``code``, a ``message``, and where (a JSON pointer ``path``, an ``edge``)."""

    code: str
    message: str
    path: Optional[str] = None
    edge: Union[str, int, None] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GraphProblem:
        return cls(code=data["code"], message=data["message"], path=data.get("path"), edge=data.get("edge"))


@dataclass(frozen=True)
class ValidationReport:
    """The answer of ``workflows.validate``: ``valid``, the problems per node id and of the whole graph."""

    valid: bool
    nodes: Dict[str, List[GraphProblem]]
    graph: List[GraphProblem]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ValidationReport:
        errors = data.get("errors") or {}
        nodes = {node: [GraphProblem.from_json(p) for p in problems] for node, problems in (errors.get("nodes") or {}).items()}
        return cls(valid=bool(data["valid"]), nodes=nodes, graph=[GraphProblem.from_json(p) for p in errors.get("graph") or []])


@dataclass(frozen=True)
class ExecutionTrigger:
    """What started an execution: ``api`` (``workflows.execute``), ``webhook`` (a delivery to ``hook_id``) or ``schedule`` (``fire_time``)."""

    type: str
    hook_id: Optional[str] = None
    fire_time: Optional[datetime] = None

    @classmethod
    def from_json(cls, data: Any) -> Optional[ExecutionTrigger]:
        if not isinstance(data, Mapping):
            return None
        return cls(type=str(data["type"]), hook_id=_opt_str(data.get("hookId")), fire_time=_opt_time(data.get("fireTime")))


@dataclass(frozen=True)
class WebhookSecret:
    """A hook's ``url``, ``hook_id`` and ``secret``: what the save that made it (or a rotation) answers, the secret shown this once."""

    url: str
    hook_id: str
    secret: str = field(repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebhookSecret:
        return cls(url=data["url"], hook_id=data["hookId"], secret=data["secret"])


@dataclass(frozen=True)
class Webhook:
    """A workflow's hook as ``workflows.webhook()`` shows it: its URL and trigger settings, never the secret."""

    url: str
    hook_id: str
    signature: str
    response_mode: str
    methods: List[str]
    wait_seconds: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(
            url=data["url"],
            hook_id=data["hookId"],
            signature=data["signature"],
            response_mode=data["responseMode"],
            methods=[str(method) for method in data.get("methods") or []],
            wait_seconds=int(data["waitSeconds"]),
        )


@dataclass(frozen=True)
class Schedule:
    """A schedule trigger's state: its cron and time zone, ``paused``, the next 5 fire times (none while paused), the last run."""

    cron: str
    timezone: str
    paused: bool
    next_runs: List[datetime]
    last_run_at: Optional[datetime]
    last_execution_id: Optional[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        return cls(
            cron=data["cron"],
            timezone=data["timezone"],
            paused=bool(data["paused"]),
            next_runs=[_time(value) for value in data.get("nextRuns") or []],
            last_run_at=_opt_time(data.get("lastRunAt")),
            last_execution_id=_opt_str(data.get("lastExecutionId")),
        )


@dataclass(frozen=True)
class HookDelivery:
    """What a hook answered a delivery.

    ``http_status`` 200: the run completed within the trigger's ``waitSeconds`` (``responseMode``
    ``wait``) and ``output`` is its output; 202: it is queued or still running (``status``).
    ``replayed``: the server had seen the delivery's ``Idempotency-Key`` and answered the first
    delivery's execution without running anything.
    """

    http_status: int
    execution_id: str
    status: str
    output: Any = None
    replayed: bool = False


@dataclass(frozen=True)
class ExecutionSummary:
    """An execution as ``executions.list()`` gives it: no logs or output."""

    id: str
    workflow_id: str
    workflow_version: int
    status: str
    executor: Optional[str]
    created_at: datetime
    started_at: Optional[datetime]
    completed_at: Optional[datetime]
    #: What started it (``None`` from a server older than triggers).
    trigger: Optional[ExecutionTrigger] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExecutionSummary:
        return cls(
            id=data["id"],
            workflow_id=data["workflowId"],
            workflow_version=int(data["workflowVersion"]),
            status=data["status"],
            executor=_opt_str(data.get("executor")),
            created_at=_time(data["createdAt"]),
            started_at=_opt_time(data.get("startedAt")),
            completed_at=_opt_time(data.get("completedAt")),
            trigger=ExecutionTrigger.from_json(data.get("trigger")),
        )


@dataclass(frozen=True)
class ExecutionFailure:
    """Why a run did not complete: ``EXECUTION_FAILED``, ``TIMED_OUT``, ``CANCELLED``, ``WORKER_LOST``, ``EXECUTOR_UNAVAILABLE``."""

    code: str
    message: str


@dataclass(frozen=True)
class Execution:
    """An execution: its status, log lines, output (what the ``return`` node produced) and error."""

    id: str
    workflow_id: str
    workflow_version: int
    status: str
    started_at: Optional[datetime]
    completed_at: Optional[datetime]
    logs: List[str]
    output: Optional[JSON]
    error: Optional[ExecutionFailure]
    executor: Optional[str]
    exit_code: Optional[int]
    external_id: Optional[str]
    gpu: bool
    created_at: datetime
    #: What started it: ``api``, ``webhook`` (with ``hook_id``) or ``schedule`` (with ``fire_time``).
    trigger: Optional[ExecutionTrigger] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Execution:
        error = data.get("error")
        return cls(
            id=data["id"],
            workflow_id=data["workflowId"],
            workflow_version=int(data["workflowVersion"]),
            status=data["status"],
            started_at=_opt_time(data.get("startedAt")),
            completed_at=_opt_time(data.get("completedAt")),
            logs=[str(line) for line in data.get("logs") or []],
            output=data.get("output"),
            error=None if error is None else ExecutionFailure(code=error["code"], message=error.get("message", "")),
            executor=_opt_str(data.get("executor")),
            exit_code=None if data.get("exitCode") is None else int(data["exitCode"]),
            external_id=_opt_str(data.get("externalId")),
            gpu=bool(data.get("gpu", False)),
            created_at=_time(data["createdAt"]),
            trigger=ExecutionTrigger.from_json(data.get("trigger")),
        )

    @property
    def finished(self) -> bool:
        """Whether the status is final (``completed``, ``failed``, ``cancelled``, ``timed_out``)."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        """Whether the run completed."""
        return self.status == "completed"


@dataclass(frozen=True)
class NodePort:
    """An input or output handle of a node type."""

    id: str
    data_type: str
    description: str
    field: Optional[str] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodePort:
        return cls(id=data["id"], data_type=data["dataType"], description=data.get("description", ""), field=data.get("field"))


@dataclass(frozen=True)
class NodeType:
    """A node type of the catalogue (``GET /v1/nodes``): its ports, settings schema and defaults, Python requirements."""

    type: str
    version: str
    category: str
    display_name: str
    description: str
    trigger: bool
    inputs: List[NodePort]
    outputs: List[NodePort]
    settings_schema: JSON
    defaults: JSON
    requirements: List[str]
    imports: List[str]
    verbatim_settings: List[str] = field(default_factory=list)
    expression_settings: List[str] = field(default_factory=list)
    python: Optional[JSON] = None
    shape: Optional[str] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeType:
        return cls(
            type=data["type"],
            version=data["version"],
            category=data["category"],
            display_name=data["displayName"],
            description=data["description"],
            trigger=bool(data["trigger"]),
            inputs=[NodePort.from_json(port) for port in data.get("inputs") or []],
            outputs=[NodePort.from_json(port) for port in data.get("outputs") or []],
            settings_schema=dict(data.get("settingsSchema") or {}),
            defaults=dict(data.get("defaults") or {}),
            requirements=list(data.get("requirements") or []),
            imports=list(data.get("imports") or []),
            verbatim_settings=list(data.get("verbatimSettings") or []),
            expression_settings=list(data.get("expressionSettings") or []),
            python=data.get("python"),
            shape=data.get("shape"),
        )


@dataclass(frozen=True)
class ExecutorGpu:
    """A GPU an executor can give a run."""

    model: str
    vendor: Optional[str] = None
    vram_mb: Optional[int] = None


@dataclass(frozen=True)
class ExecutorWarmProcess:
    """A process an executor keeps warm to start runs faster: the ``local`` executor's zygotes, one per venv."""

    environment: Optional[str]
    command: str
    pid: Optional[int]
    state: str
    started_at: datetime
    age_seconds: int
    runs: int
    running: int
    memory_bytes: Optional[int]
    loaded: List[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExecutorWarmProcess:
        return cls(
            environment=data.get("environment"),
            command=data["command"],
            pid=data.get("pid"),
            state=data["state"],
            started_at=_time(data["startedAt"]),
            age_seconds=int(data["ageSeconds"]),
            runs=int(data["runs"]),
            running=int(data["running"]),
            memory_bytes=data.get("memoryBytes"),
            loaded=list(data.get("loaded") or []),
        )


@dataclass(frozen=True)
class Executor:
    """A loaded executor plugin (``local``, ``docker``, ``ssh``…); ``load_error`` says why one did not load."""

    id: str
    display_name: str
    version: Optional[str]
    gpu: bool
    gpus: List[ExecutorGpu]
    healthy: bool
    detail: Optional[str]
    load_error: Optional[str] = None
    #: The processes it keeps warm (``local``: its zygotes); empty for most executors.
    warm: List[ExecutorWarmProcess] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Executor:
        return cls(
            id=data["id"],
            display_name=data["displayName"],
            version=data.get("version"),
            gpu=bool(data["gpu"]),
            gpus=[ExecutorGpu(model=g["model"], vendor=g.get("vendor"), vram_mb=g.get("vramMb")) for g in data.get("gpus") or []],
            healthy=bool(data["healthy"]),
            detail=data.get("detail"),
            load_error=data.get("loadError"),
            warm=[ExecutorWarmProcess.from_json(item) for item in data.get("warm") or []],
        )


@dataclass(frozen=True)
class ServerFacts:
    """The server process: its version, the Node.js version, uptime."""

    version: str
    node: str
    uptime_seconds: int


@dataclass(frozen=True)
class OsFacts:
    """The host's operating system."""

    platform: str
    distro: str
    release: str
    kernel: str
    arch: str
    hostname: str


@dataclass(frozen=True)
class CpuFacts:
    """The host's CPU; ``speed_ghz`` is ``None`` when the CPU does not tell."""

    manufacturer: str
    brand: str
    cores: int
    physical_cores: int
    speed_ghz: Optional[float]


@dataclass(frozen=True)
class GpuFacts:
    """A GPU of the host (NVIDIA and AMD; ``vram_mb`` is ``None`` when the driver does not tell)."""

    model: str
    vendor: str
    vram_mb: Optional[int]


@dataclass(frozen=True)
class PythonFacts:
    """The ``python3`` on the server's PATH; ``version`` is ``None`` when it cannot run (``detail`` says why)."""

    executable: str
    version: Optional[str]
    detail: Optional[str] = None


@dataclass(frozen=True)
class MemoryFacts:
    """The host's memory in MiB."""

    total_mb: int
    available_mb: int


@dataclass(frozen=True)
class SystemFacts:
    """Host facts (``GET /v1/system``): what a workflow will run on."""

    server: ServerFacts
    os: OsFacts
    cpu: CpuFacts
    gpus: List[GpuFacts]
    python: PythonFacts
    memory: MemoryFacts
    load_average: List[float]
    collected_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SystemFacts:
        server, os_, cpu, python, memory = data["server"], data["os"], data["cpu"], data["python"], data["memory"]
        return cls(
            server=ServerFacts(version=server["version"], node=server["node"], uptime_seconds=int(server["uptimeSeconds"])),
            os=OsFacts(**{key: os_[key] for key in ("platform", "distro", "release", "kernel", "arch", "hostname")}),
            cpu=CpuFacts(
                manufacturer=cpu["manufacturer"],
                brand=cpu["brand"],
                cores=int(cpu["cores"]),
                physical_cores=int(cpu["physicalCores"]),
                speed_ghz=cpu.get("speedGHz"),
            ),
            gpus=[GpuFacts(model=g["model"], vendor=g["vendor"], vram_mb=g.get("vramMb")) for g in data.get("gpus") or []],
            python=PythonFacts(executable=python["executable"], version=python.get("version"), detail=python.get("detail")),
            memory=MemoryFacts(total_mb=int(memory["totalMb"]), available_mb=int(memory["availableMb"])),
            load_average=[float(value) for value in data.get("loadAverage") or []],
            collected_at=_time(data["collectedAt"]),
        )


@dataclass(frozen=True)
class Health:
    """Liveness (``GET /health``)."""

    status: str


@dataclass(frozen=True)
class Readiness:
    """Readiness (``GET /health/ready``): the database, the queue and each executor."""

    status: str
    checks: Dict[str, str]
    executors: Dict[str, str]

    @property
    def ready(self) -> bool:
        """Whether the server can take work now."""
        return self.status == "ready"


@dataclass(frozen=True)
class MeWorkspace:
    """The caller's workspace and its rate limit."""

    id: str
    name: str
    plan: str
    rate_limit_per_minute: int


@dataclass(frozen=True)
class MeApiKey:
    """The API key making the call."""

    id: str
    name: str
    prefix: str
    scopes: List[str]


@dataclass(frozen=True)
class Me:
    """Who is calling (``GET /v1/me``)."""

    workspace: MeWorkspace
    api_key: MeApiKey

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Me:
        ws, key = data["workspace"], data["apiKey"]
        return cls(
            workspace=MeWorkspace(id=ws["id"], name=ws["name"], plan=ws["plan"], rate_limit_per_minute=int(ws["rateLimitPerMinute"])),
            api_key=MeApiKey(id=key["id"], name=key["name"], prefix=key["prefix"], scopes=list(key["scopes"])),
        )


@dataclass(frozen=True)
class Workspace:
    """A workspace: its plan (``free``, ``pro``, ``enterprise``), requests per minute and days finished executions are kept."""

    id: str
    name: str
    plan: str
    rate_limit_per_minute: int
    retention_days: int
    retention_days_overridden: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Workspace:
        return cls(
            id=data["id"],
            name=data["name"],
            plan=data["plan"],
            rate_limit_per_minute=int(data["rateLimitPerMinute"]),
            retention_days=int(data["retentionDays"]),
            retention_days_overridden=bool(data["retentionDaysOverridden"]),
            created_at=_time(data["createdAt"]),
            updated_at=_time(data["updatedAt"]),
        )


def _api_key_fields(data: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "id": data["id"],
        "name": data["name"],
        "prefix": data["prefix"],
        "scopes": list(data["scopes"]),
        "workspace_id": data["workspaceId"],
        "created_at": _time(data["createdAt"]),
        "expires_at": _opt_time(data.get("expiresAt")),
        "last_used_at": _opt_time(data.get("lastUsedAt")),
        "revoked_at": _opt_time(data.get("revokedAt")),
    }


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed: never its secret, only the display ``prefix``."""

    id: str
    name: str
    prefix: str
    scopes: List[str]
    workspace_id: str
    created_at: datetime
    expires_at: Optional[datetime]
    last_used_at: Optional[datetime]
    revoked_at: Optional[datetime]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiKey:
        return cls(**_api_key_fields(data))


@dataclass(frozen=True)
class CreatedApiKey(ApiKey):
    """A key just created: ``key`` is its secret, shown only this once."""

    key: str = field(default="", repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CreatedApiKey:
        return cls(**_api_key_fields(data), key=data["key"])


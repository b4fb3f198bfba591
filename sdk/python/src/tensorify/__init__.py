"""Tensorify: the Python SDK of Tensorify Server.

::

    from tensorify import Tensorify, Workflow

    wf = Workflow("Hello")
    trigger = wf.node("manual", id="trigger")
    greeting = wf.node("transform", id="greeting", value={"message": f"Hello, {trigger['name']}!"})
    wf.node("return", id="out", value={"result": greeting["message"]})
    client = Tensorify()  # reads TENSORIFY_API_KEY and TENSORIFY_BASE_URL
    execution = client.workflows.create(wf).run(inputs={"name": "Ada"}).wait()
    print(execution.status, execution.output)
"""

from ._client import AsyncTensorify, Tensorify
from ._logs import AsyncLogStream, LogStream
from ._pagination import AsyncPaginator, Paginator
from ._version import __version__
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidWorkflowError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    TensorifyError,
    WaitTimeoutError,
)
from .resources.executions import AsyncExecutionHandle, ExecutionHandle
from .resources.workflows import AsyncStoredWorkflow, StoredWorkflow, WorkflowLike
from .types import Execution
from .workflow import BuilderError, Catalog, Edge, Handle, Node, NodeType, Port, Problem, Ref, Workflow, env, inputs

__all__ = [
    "__version__",
    "Tensorify",
    "AsyncTensorify",
    "StoredWorkflow",
    "AsyncStoredWorkflow",
    "WorkflowLike",
    "Execution",
    "ExecutionHandle",
    "AsyncExecutionHandle",
    "LogStream",
    "AsyncLogStream",
    "Paginator",
    "AsyncPaginator",
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
    "Workflow",
    "Node",
    "Edge",
    "Handle",
    "Port",
    "Ref",
    "Catalog",
    "NodeType",
    "Problem",
    "BuilderError",
    "env",
    "inputs",
]

"""Tensorify: the Python SDK of Tensorify Server.

::

    from tensorify import Tensorify

    client = Tensorify()  # reads TENSORIFY_API_KEY and TENSORIFY_BASE_URL
    workflow = client.workflows.create(name="Hello", nodes=[…], edges=[…])
    execution = workflow.run(inputs={"name": "Ada"}).wait()
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
]

import argparse
import functools
import json
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

NodeFunction = TypeVar("NodeFunction", bound=Callable[..., Any])


@dataclass(frozen=True)
class Context:
    """What every node may read about the run it belongs to."""

    workflow_id: str
    workflow_version: int
    execution_id: str | None
    inputs: dict[str, Any]


class NodeFailed(Exception):
    """A node raised an exception; carries the node id so the program can name it."""

    def __init__(self, node_id: str, cause: BaseException) -> None:
        super().__init__(f'Node "{node_id}" failed: {type(cause).__name__}: {cause}')
        self.node_id = node_id
        self.cause = cause


class InputError(Exception):
    """The run's inputs cannot be read."""


def node(
    node_id: str, result: type | None = None
) -> Callable[[NodeFunction], NodeFunction]:
    """Marks a function as the code of one node.

    Prints a progress line when the node starts and when it finishes, checks the type of
    what it returns when `result` is given, and names the node when it fails.
    """

    def decorate(function: NodeFunction) -> NodeFunction:
        @functools.wraps(function)
        def run_node(*args: Any, **kwargs: Any) -> Any:
            print(f"[node {node_id}] started", flush=True)
            started = time.perf_counter()
            try:
                value = function(*args, **kwargs)
            except Exception as error:
                raise NodeFailed(node_id, error) from error
            if result is not None and not isinstance(value, result):
                found = type(value).__name__
                problem = f"the node must return a {result.__name__}, not {found}"
                raise NodeFailed(node_id, TypeError(problem))
            elapsed_ms = (time.perf_counter() - started) * 1000
            print(f"[node {node_id}] finished in {elapsed_ms:.1f} ms", flush=True)
            return value

        return run_node  # type: ignore[return-value]

    return decorate


def text(value: Any) -> str:
    """A bound value as it reads inside a longer string.

    A str stays as it is, None becomes "", anything else is written as JSON.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(jsonable(value), ensure_ascii=False)


def first_value(*values: Any) -> Any:
    """The first of `values` that is not None: the input of a node fed by several branches."""
    return next((value for value in values if value is not None), None)


def jsonable(value: Any) -> Any:
    """`value` made fit for JSON: tuples as lists, NaN and infinities as None,
    tensors and arrays through tolist(), other objects as their str()."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return str(value)


def load_inputs(path: str | None) -> dict[str, Any]:
    """The run's inputs: the JSON file given with --inputs ("-" reads stdin), else the
    TENSORIFY_INPUTS environment variable, else {}."""
    if path == "-":
        source, document = "standard input", sys.stdin.read()
    elif path is not None:
        source = f"the inputs file {path}"
        try:
            with open(path, encoding="utf-8") as file:
                document = file.read()
        except OSError as error:
            raise InputError(f"{source} cannot be read: {error.strerror}") from error
    elif "TENSORIFY_INPUTS" in os.environ:
        source, document = "TENSORIFY_INPUTS", os.environ["TENSORIFY_INPUTS"]
    else:
        return {}
    try:
        inputs = json.loads(document)
    except json.JSONDecodeError as error:
        raise InputError(f"{source} is not valid JSON: {error}") from error
    if not isinstance(inputs, dict):
        found = type(inputs).__name__
        raise InputError(f"{source} must hold a JSON object, not a {found}")
    return inputs


def write_output(output: Any) -> None:
    """Writes the output as JSON to the file named by TENSORIFY_OUTPUT, or prints it."""
    document = json.dumps(jsonable(output), ensure_ascii=False)
    path = os.environ.get("TENSORIFY_OUTPUT")
    if path:
        with open(path, "w", encoding="utf-8") as file:
            file.write(document)
    else:
        print(document, flush=True)


def run_program(
    run: Callable[[Context], Any], workflow_id: str, workflow_version: int
) -> None:
    """Runs the workflow from the command line and exits: 0 when it completes, 1 when a
    node fails (named on stderr), 2 when the inputs cannot be read."""
    parser = argparse.ArgumentParser(
        description=f"Runs workflow {workflow_id} (version {workflow_version}).",
        epilog="Without --inputs, the inputs come from TENSORIFY_INPUTS, else {}. "
        "The output JSON goes to the file named by TENSORIFY_OUTPUT, else to stdout.",
    )
    parser.add_argument("--inputs", metavar="FILE", help="a JSON file of the inputs")
    arguments = parser.parse_args()
    try:
        inputs = load_inputs(arguments.inputs)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    execution_id = os.environ.get("TENSORIFY_EXECUTION_ID")
    ctx = Context(workflow_id, workflow_version, execution_id, inputs)
    try:
        output = run(ctx)
    except NodeFailed as failure:
        traceback.print_exception(failure.cause, file=sys.stderr)
        print(failure, file=sys.stderr, flush=True)
        sys.exit(1)
    write_output(output)

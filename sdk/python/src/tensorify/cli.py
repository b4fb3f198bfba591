"""The ``tensorify`` command: list, export, run and follow workflows from a shell.

Exit codes a script can rely on: 0 the command (or the run it waited for) completed, 1 the run
failed, was cancelled or timed out, or the server refused the request, 2 bad usage (arguments,
an unreadable inputs file, no API key), 3 the workflow or execution does not exist.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, TextIO

from ._client import Tensorify
from ._version import __version__
from .errors import NotFoundError, TensorifyError
from .types import Execution

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tensorify",
        description="Tensorify Server from the shell. The key and URL come from TENSORIFY_API_KEY and TENSORIFY_BASE_URL unless given.",
        epilog="Exit codes: 0 completed, 1 failed, 2 usage, 3 not found.",
    )
    parser.add_argument("--api-key", help="API key (default: $TENSORIFY_API_KEY)")
    parser.add_argument("--base-url", help="API base URL (default: $TENSORIFY_BASE_URL or http://localhost:3000/v1)")
    parser.add_argument("--version", action="version", version=f"tensorify {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    workflows = commands.add_parser("workflows", help="list, show or create workflows")
    workflow_commands = workflows.add_subparsers(dest="workflows_command", required=True, metavar="ACTION")
    listing = workflow_commands.add_parser("list", help="every workflow, newest first: id, name, last update")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    show = workflow_commands.add_parser("get", help="a workflow as JSON")
    show.add_argument("workflow_id", metavar="WF_ID")
    create = workflow_commands.add_parser("create", help="store the workflow of a JSON file; prints its id")
    create.add_argument("file", metavar="FILE", type=Path)

    export = commands.add_parser("export", help="write a workflow's Python project into a directory")
    export.add_argument("workflow_id", metavar="WF_ID")
    export.add_argument("-o", "--output", metavar="DIR", type=Path, required=True, help="directory to write main.py, utils.py, requirements.txt into")

    run = commands.add_parser("run", help="run a workflow on the server; prints the execution id")
    run.add_argument("workflow_id", metavar="WF_ID")
    run.add_argument("--inputs", metavar="FILE", type=Path, help="a JSON file with the run's inputs ('-' reads stdin)")
    run.add_argument("--wait", action="store_true", help="wait for the end; print the output as JSON")
    run.add_argument("--follow", action="store_true", help="print the log lines as they come, then the output (implies --wait)")
    run.add_argument("--executor", help="executor id (default: the server's, local)")
    run.add_argument("--gpu", action="store_true", help="run on an executor with a GPU")
    run.add_argument("--timeout-seconds", type=float, help="time limit of the run")
    run.add_argument("--idempotency-key", help="a key of your own: running again with it returns the first run")

    logs = commands.add_parser("logs", help="print an execution's log lines")
    logs.add_argument("execution_id", metavar="EXEC_ID")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the execution ends")

    watch = commands.add_parser("watch", help="follow an execution: its status, log lines, then its output or error")
    watch.add_argument("execution_id", metavar="EXEC_ID")
    return parser


def _read_json_object(path: Path, what: str) -> Dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        value = json.loads(text)
    except OSError as error:
        raise UsageError(f"Cannot read {what} {path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise UsageError(f"{what.capitalize()} {path} is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise UsageError(f"{what.capitalize()} {path} must hold a JSON object")
    return value


def _exit_code(execution: Execution) -> int:
    return EXIT_COMPLETED if execution.succeeded else EXIT_FAILED


def _report_end(execution: Execution, out: TextIO, err: TextIO) -> int:
    """Prints the output (completed) or the error (otherwise); returns the exit code."""
    if execution.succeeded:
        print(json.dumps(execution.output, indent=2), file=out)
    else:
        reason = f": {execution.error.code}: {execution.error.message}" if execution.error else ""
        print(f"Execution {execution.id} {execution.status}{reason}", file=err)
    return _exit_code(execution)


def _follow(client: Tensorify, execution_id: str, out: TextIO) -> Execution:
    for line in client.executions.logs(execution_id):
        print(line, file=out, flush=True)
    return client.executions.get(execution_id)


def _workflows(client: Tensorify, args: argparse.Namespace, out: TextIO) -> int:
    if args.workflows_command == "list":
        for workflow in client.workflows.list():
            if args.json:
                print(json.dumps({"id": workflow.id, "name": workflow.name, "updatedAt": workflow.updated_at.isoformat()}), file=out)
            else:
                print(f"{workflow.id}\t{workflow.name}\t{workflow.updated_at.isoformat()}", file=out)
        return EXIT_COMPLETED
    if args.workflows_command == "get":
        stored = client.workflows.get(args.workflow_id)
        print(json.dumps({"id": stored.id, "version": stored.version, **stored.to_dict()}, indent=2), file=out)
        return EXIT_COMPLETED
    stored = client.workflows.create(_read_json_object(args.file, "workflow file"))
    print(stored.id, file=out)
    return EXIT_COMPLETED


def _dispatch(client: Tensorify, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "workflows":
        return _workflows(client, args, out)
    if args.command == "export":
        files = client.workflows.export(args.workflow_id, to=args.output)
        for name in files:
            print(args.output / name, file=out)
        return EXIT_COMPLETED
    if args.command == "run":
        inputs = _read_json_object(args.inputs, "inputs file") if args.inputs is not None else None
        handle = client.workflows.execute(
            args.workflow_id,
            inputs=inputs,
            gpu=True if args.gpu else None,
            timeout_seconds=args.timeout_seconds,
            executor=args.executor,
            idempotency_key=args.idempotency_key,
        )
        print(handle.id, file=err if (args.wait or args.follow) else out)
        if args.follow:
            return _report_end(_follow(client, handle.id, out), out, err)
        if args.wait:
            return _report_end(handle.wait(), out, err)
        return EXIT_COMPLETED
    if args.command == "logs":
        if args.follow:
            return _exit_code(_follow(client, args.execution_id, out))
        for line in client.executions.get(args.execution_id).logs:
            print(line, file=out)
        return EXIT_COMPLETED
    # watch
    execution = client.executions.get(args.execution_id)
    print(f"Execution {execution.id} of {execution.workflow_id}: {execution.status}", file=err, flush=True)
    execution = _follow(client, args.execution_id, out)
    print(f"Execution {execution.id}: {execution.status}", file=err)
    return _report_end(execution, out, err)


def main(argv: Optional[Sequence[str]] = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        with Tensorify(api_key=args.api_key, base_url=args.base_url) as client:
            return _dispatch(client, args, out, err)
    except UsageError as error:
        print(f"tensorify: {error}", file=err)
        return EXIT_USAGE
    except NotFoundError as error:
        print(f"tensorify: {error}", file=err)
        return EXIT_NOT_FOUND
    except TensorifyError as error:
        print(f"tensorify: {error}", file=err)
        return EXIT_USAGE if error.code == "MISSING_API_KEY" else EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

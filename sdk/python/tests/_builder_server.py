"""A real Tensorify server for the builder's tests: ``node dist/main.js`` of this repository,
on a free local port, with SQLite in a temporary directory and a known admin key.

Kept apart from conftest.py (the client's harness) so the builder's tests can run on their own;
``npm run build`` must have been run first.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

REPO_ROOT = Path(__file__).resolve().parents[3]
ADMIN_KEY = "tfy_" + "builderTests0123456789abcdefghijklmnop"
#: How long the server may take to start on a busy machine; the wait ends as soon as it answers.
START_TIMEOUT_SECONDS = 120.0


def examples_dir() -> Path:
    """``../shared/examples`` beside the repository (also found from a worktree nested deeper)."""
    override = os.environ.get("TENSORIFY_EXAMPLES_DIR")
    if override:
        return Path(override)
    for ancestor in REPO_ROOT.parents:
        candidate = ancestor / "shared" / "examples"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no shared/examples beside {REPO_ROOT} or any folder above it")


class Server:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key

    def request(self, method: str, path: str, body: Optional[Any] = None) -> Tuple[int, Dict[str, Any]]:
        """Sends one request; returns the status and the JSON answer (error answers included)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, text = response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8")
        return status, json.loads(text) if text else {}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server() -> Iterator[Server]:
    main = REPO_ROOT / "dist" / "main.js"
    if not main.is_file():
        raise RuntimeError(f"{main} is missing: run `npm run build` in {REPO_ROOT} first")
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    data_dir = tempfile.mkdtemp(prefix="tensorify-builder-")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TENSORIFY_")}
    env.update(
        TENSORIFY_PORT=str(port),
        TENSORIFY_HOST="127.0.0.1",
        TENSORIFY_DATA_DIR=data_dir,
        TENSORIFY_BOOTSTRAP_API_KEY=ADMIN_KEY,
        TENSORIFY_LOG_LEVEL="warn",
    )
    log_path = Path(data_dir) / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([node, str(main)], cwd=str(REPO_ROOT), env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/v1", ADMIN_KEY)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {START_TIMEOUT_SECONDS:.0f}s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)

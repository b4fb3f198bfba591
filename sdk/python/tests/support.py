"""What the tests share: the built server as a real process, workflows, and two fault-injecting proxies.

The proxies stand at the edge of the machine, between the SDK and the real server: one answers
chosen HTTP requests with a scripted fault (429, 503, a dropped connection, no answer) and passes
the others through; the other is a plain TCP pipe that cuts a connection after a given number of
Server-Sent Events, to drop a log stream mid-way.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN = REPO_ROOT / "bin" / "tensorify-server.js"
ADMIN_KEY = "tfy_PythonSdkTests0123456789abcdefghijklmnop"
#: The shared example workflows (as test/support/black-box.ts finds them), or TENSORIFY_EXAMPLES_DIR.
EXAMPLES_DIR = Path(os.environ.get("TENSORIFY_EXAMPLES_DIR") or REPO_ROOT.parent / "shared" / "examples")

HELLO: Dict[str, Any] = {
    "name": "Hello",
    "description": "Greets whoever is named in the inputs.",
    "nodes": [
        {"id": "trigger", "type": "manual", "settings": {}},
        {"id": "greeting", "type": "transform", "settings": {"value": {"message": "Hello, {{ trigger.name }}!"}}},
        {"id": "out", "type": "return", "settings": {"value": {"result": "{{ greeting.message }}"}}},
    ],
    "edges": [{"source": "trigger", "target": "greeting"}, {"source": "greeting", "target": "out"}],
}


def printer(name: str = "Printer") -> Dict[str, Any]:
    """A workflow whose code node prints ``inputs.lines`` numbered lines, pausing ``inputs.pause`` s after each."""
    code = (
        "import time\n"
        "for i in range(int(input.get('lines', 3))):\n"
        "    print(f'line {i}', flush=True)\n"
        "    time.sleep(float(input.get('pause', 0)))\n"
        "return {'printed': int(input.get('lines', 3))}"
    )
    return {
        "name": name,
        "nodes": [
            {"id": "trigger", "type": "manual", "settings": {}},
            {"id": "work", "type": "code", "settings": {"code": code}},
            {"id": "out", "type": "return", "settings": {"value": {"printed": "{{ work.printed }}"}}},
        ],
        "edges": [{"source": "trigger", "target": "work"}, {"source": "work", "target": "out"}],
    }


@dataclass
class Server:
    """The built Tensorify Server, started on a loopback port with a fresh SQLite data dir."""

    process: "subprocess.Popen[bytes]"
    root: str
    data_dir: str
    stderr_path: str

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: str, extra_env: Optional[Dict[str, str]] = None) -> Server:
    """Starts ``bin/tensorify-server.js start`` (the build in ``dist/``) and waits until it listens."""
    if not (REPO_ROOT / "dist" / "main.js").exists():
        raise RuntimeError(f"{REPO_ROOT / 'dist' / 'main.js'} is missing: run `npm run build` first")
    env = {name: value for name, value in os.environ.items() if not name.startswith("TENSORIFY_")}
    env.update(
        {
            "TENSORIFY_DATA_DIR": data_dir,
            "TENSORIFY_HOST": "127.0.0.1",
            "TENSORIFY_PORT": "0",
            "TENSORIFY_BOOTSTRAP_API_KEY": ADMIN_KEY,
            "TENSORIFY_LOG_LEVEL": "warn",
            "TENSORIFY_ENTERPRISE_RATE_LIMIT": "100000000",
            **(extra_env or {}),
        }
    )
    stderr_path = os.path.join(data_dir, "server.stderr")
    with open(stderr_path, "wb") as stderr, open(os.path.join(data_dir, "server.stdout"), "wb") as stdout:
        process = subprocess.Popen(["node", str(BIN), "start"], env=env, stdout=stdout, stderr=stderr, cwd=data_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = Path(stderr_path).read_text(errors="replace")
        match = re.search(r"listening on [^\s]+:(\d+)", text)
        if match:
            return Server(process, f"http://127.0.0.1:{match.group(1)}", data_dir, stderr_path)
        if process.poll() is not None:
            raise RuntimeError(f"The server exited with {process.returncode} before listening:\n{text}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("The server did not listen within 60 s")


# ---- an HTTP proxy that answers scripted faults ------------------------------------------------------


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    at: float


@dataclass
class FaultProxy:
    """Forwards HTTP requests to ``upstream``; a request matching a scripted fault gets the fault instead.

    ``script`` is consumed in order by the requests whose method and path start with the fault's
    ``match`` (``"POST /v1/workflows"``); a fault is ``("status", code, retry_after)`` (an error
    envelope), ``("raw", code, None)`` (an HTML body), ``("drop",)``
    (the request reaches the server, then the connection is closed without its answer) or
    ``("hang", seconds)`` (no answer at all).
    """

    upstream: str
    script: List[Tuple[str, Tuple[Any, ...]]] = field(default_factory=list)
    seen: List[SeenRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, match: str, *fault: Any) -> None:
        with self.lock:
            self.script.append((match, fault))

    def take(self, method: str, path: str) -> Optional[Tuple[Any, ...]]:
        with self.lock:
            for index, (match, fault) in enumerate(self.script):
                if f"{method} {path}".startswith(match):
                    del self.script[index]
                    return fault
        return None

    def start(self) -> "FaultProxy":
        proxy = self
        host, port = self.upstream.replace("http://", "").split(":")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                with proxy.lock:
                    proxy.seen.append(SeenRequest(self.command, self.path, headers, body, time.monotonic()))
                fault = proxy.take(self.command, self.path)
                if fault is not None and fault[0] in ("status", "raw"):
                    code = {429: "RATE_LIMITED", 503: "NOT_READY"}.get(fault[1], "INTERNAL_ERROR")
                    envelope = {"error": {"code": code, "message": "Scripted fault", "requestId": "req_proxy"}}
                    payload = json.dumps(envelope).encode() if fault[0] == "status" else b"<html>Bad gateway</html>"
                    self.send_response(fault[1])
                    if fault[2] is not None:
                        self.send_header("Retry-After", str(fault[2]))
                    self.send_header("Content-Type", "application/json" if fault[0] == "status" else "text/html")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault is not None and fault[0] == "hang":
                    time.sleep(fault[1])
                    self.close_connection = True
                    return
                connection = http.client.HTTPConnection(host, int(port), timeout=60)
                forward = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body or None, headers=forward)
                response = connection.getresponse()
                data = response.read()
                connection.close()
                if fault is not None and fault[0] == "drop":
                    self.close_connection = True
                    return
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length", "keep-alive"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# ---- a TCP proxy that cuts a connection after N Server-Sent Events -----------------------------------


class CuttingProxy:
    """A TCP pipe to ``upstream``; connection number ``i`` is cut after ``cuts[i]`` complete SSE events.

    Connections past the end of ``cuts`` are passed through whole. ``requests`` holds the bytes each
    connection sent (to read its ``Last-Event-ID``).
    """

    def __init__(self, upstream: str, cuts: List[int]) -> None:
        host, port = upstream.replace("http://", "").split(":")
        self.upstream = (host, int(port))
        self.cuts = list(cuts)
        self.requests: List[bytes] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            index = len(self.requests)
            self.requests.append(b"")
            cut = self.cuts[index] if index < len(self.cuts) else None
            threading.Thread(target=self._pipe, args=(client, index, cut), daemon=True).start()

    def _pipe(self, client: socket.socket, index: int, cut: Optional[int]) -> None:
        upstream = socket.create_connection(self.upstream)
        events = 0
        pending = b""
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 30)
                if not readable:
                    return
                if client in readable:
                    data = client.recv(65536)
                    if not data:
                        return
                    self.requests[index] += data
                    upstream.sendall(data)
                if upstream in readable:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    if cut is None:
                        client.sendall(data)
                        continue
                    # Forward whole events only; after the cut-th line event, close both ends.
                    pending += data
                    while True:
                        end = pending.find(b"\n\n")
                        if end < 0:
                            break
                        event, pending = pending[: end + 2], pending[end + 2 :]
                        client.sendall(event)
                        if re.search(rb"(?:^|\n)id: \d", event):
                            events += 1
                            if events >= cut:
                                return
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def last_event_ids(requests: List[bytes]) -> List[Optional[str]]:
    """The ``Last-Event-ID`` header of each recorded request (``None`` when absent)."""
    ids: List[Optional[str]] = []
    for raw in requests:
        match = re.search(rb"(?im)^last-event-id:\s*(\S+)\r$", raw)
        ids.append(match.group(1).decode() if match else None)
    return ids


def make_temp_dir(prefix: str) -> str:
    return tempfile.mkdtemp(prefix=prefix)


PYTHON = sys.executable

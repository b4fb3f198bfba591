import argparse
import hashlib
import hmac
import json
import os
import queue
import re
import secrets
import signal
import socket
import string
import sys
import threading
import time
import traceback
import uuid
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

WEBHOOK_SECRET_VARIABLE = "TENSORIFY_WEBHOOK_SECRET"
# The limits of Tensorify Server's hook endpoint: what it accepts is accepted here.
MAX_BODY_BYTES = 1024 * 1024
# A refused request's body is read and dropped up to this size before the connection
# closes: closing on unread bytes resets it, and the client could lose the answer.
MAX_SKIPPED_BYTES = 8 * MAX_BODY_BYTES
SIGNATURE_TOLERANCE_SECONDS = 300
WRONG_SIGNATURE = "wrong secret, or the body changed on the way"
DELIVERY_MEMORY_SECONDS = 24 * 60 * 60
# Deliveries waiting for their run (one runs at a time); past this, a delivery gets 429.
MAX_QUEUED_DELIVERIES = 100
SIGNATURE_HEADERS = {
    "tensorify": "Tensorify-Signature",
    "github": "X-Hub-Signature-256",
}
# Never passed to the workflow: the signatures (GitHub also sends an older SHA-1 one).
LEFT_OUT_HEADERS = ("tensorify-signature", "x-hub-signature-256", "x-hub-signature")
DELIVERY_KEY_HEADERS = ("Idempotency-Key", "X-GitHub-Delivery")
DELIVERY_KEY = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,199}")
JSON_TYPE = re.compile(r"application/(?:[\w.+-]+\+)?json\s*(?:;.*)?", re.IGNORECASE)
TIMESTAMP = re.compile(r"[0-9]{1,12}")
HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


@dataclass(frozen=True)
class Webhook:
    """The settings of the workflow's webhook trigger."""

    methods: tuple[str, ...]
    signature: str
    response_mode: str
    wait_seconds: int


class WebhookRefusal(Exception):
    """A delivery answered with an error envelope: its status, code, message, details
    and headers."""

    def __init__(
        self,
        status: HTTPStatus,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class Execution:
    """One delivery's run of the workflow: queued, running, then completed or failed."""

    def __init__(self, trigger: dict[str, Any], fingerprint: str) -> None:
        alphabet = string.digits + string.ascii_letters
        self.id = "exec_" + "".join(secrets.choice(alphabet) for _ in range(16))
        self.trigger = trigger
        # The delivery's method and body, hashed: what a repeat of its key must send.
        self.fingerprint = fingerprint
        self.status = "queued"
        self.output: Any = None
        self.error = ""
        self.ended = threading.Event()

    def end(self, status: str, output: Any = None, error: str = "") -> None:
        self.output, self.error, self.status = output, error, status
        self.ended.set()


class DeliveryRunner:
    """Runs the deliveries one at a time, in the order they came, on its own thread.

    One at a time, as `python main.py --inputs` runs once: the nodes' progress lines
    stay in order and a heavy workflow (training a model) never runs twice at once.
    """

    def __init__(
        self, run: Callable[[Context], Any], workflow_id: str, workflow_version: int
    ) -> None:
        self.run = run
        self.workflow_id = workflow_id
        self.workflow_version = workflow_version
        self.pending: queue.Queue[Execution | None] = queue.Queue(MAX_QUEUED_DELIVERIES)
        self.thread = threading.Thread(target=self.work, name="runs", daemon=True)

    def submit(self, execution: Execution) -> None:
        """Queues a run; raises queue.Full when MAX_QUEUED_DELIVERIES are waiting."""
        self.pending.put_nowait(execution)

    def work(self) -> None:
        while (execution := self.pending.get()) is not None:
            self.run_one(execution)

    def run_one(self, execution: Execution) -> None:
        """Runs the workflow with the request as its trigger's output, as run_program
        runs it with the inputs: the failed node named on stderr, the output written."""
        log(f"execution {execution.id} started")
        execution.status = "running"
        ctx = Context(
            self.workflow_id, self.workflow_version, execution.id, execution.trigger
        )
        try:
            output = self.run(ctx)
            write_output(output)
        except NodeFailed as failure:
            traceback.print_exception(failure.cause, file=sys.stderr)
            print(failure, file=sys.stderr, flush=True)
            execution.end("failed", error=str(failure))
        except BaseException as error:  # sys.exit() in a node too: the server goes on
            traceback.print_exc(file=sys.stderr)
            execution.end("failed", error=f"{type(error).__name__}: {error}")
        else:
            execution.end("completed", output=jsonable(output))
        log(f"execution {execution.id} {execution.status}")

    def stop(self) -> None:
        """Lets the running execution end; the queued ones never start."""
        while True:
            try:
                execution = self.pending.get_nowait()
            except queue.Empty:
                break
            if execution is not None:
                log(f"execution {execution.id} did not start: the server stopped")
                execution.end("cancelled", error="The server stopped before it started")
        self.pending.put(None)
        self.thread.join()


class Deliveries:
    """The executions of the deliveries that carried an Idempotency-Key or an
    X-GitHub-Delivery header, by that key, for 24 hours: a repeated delivery answers
    with the execution of the first instead of running the workflow again (409 when
    the key comes back with another method or body)."""

    def __init__(self, runner: DeliveryRunner) -> None:
        self.runner = runner
        self.lock = threading.Lock()
        self.by_key: dict[str, tuple[float, Execution]] = {}
        self.closed = False

    def start(
        self, key: str | None, fingerprint: str, trigger: dict[str, Any]
    ) -> tuple[Execution, bool]:
        """The execution of the delivery and whether it is a repeat: the one its key
        started, else a new one queued."""
        with self.lock:
            if self.closed:
                raise WebhookRefusal(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    "NOT_READY",
                    "The server is stopping",
                )
            now = time.monotonic()
            # Keys are kept in the order they came: the expired ones are at the front.
            while self.by_key:
                oldest = next(iter(self.by_key))
                if now - self.by_key[oldest][0] < DELIVERY_MEMORY_SECONDS:
                    break
                del self.by_key[oldest]
            if key is not None and key in self.by_key:
                earlier = self.by_key[key][1]
                if earlier.fingerprint != fingerprint:
                    raise WebhookRefusal(
                        HTTPStatus.CONFLICT,
                        "CONFLICT",
                        f'The delivery key "{key}" was used for another request '
                        f"(execution {earlier.id}); use a new key for a new request",
                        {"executionId": earlier.id},
                    )
                return earlier, True
            execution = Execution(trigger, fingerprint)
            try:
                self.runner.submit(execution)
            except queue.Full:
                raise WebhookRefusal(
                    HTTPStatus.TOO_MANY_REQUESTS,
                    "RATE_LIMITED",
                    f"{MAX_QUEUED_DELIVERIES} deliveries are already waiting to run",
                    headers={"Retry-After": "5"},
                ) from None
            if key is not None:
                self.by_key[key] = (now, execution)
            return execution, False

    def close(self) -> None:
        """Refuses the deliveries still coming on open connections (503) from now on."""
        with self.lock:
            self.closed = True


class WebhookServer(ThreadingHTTPServer):
    """Serves the workflow's webhook at /, one thread per connection."""

    def __init__(
        self,
        address: tuple[str, int],
        webhook: Webhook,
        secret: bytes,
        deliveries: Deliveries,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, WebhookHandler)
        self.webhook = webhook
        self.secret = secret
        self.deliveries = deliveries


class WebhookHandler(BaseHTTPRequestHandler):
    """Answers a delivery the way Tensorify Server's hook endpoint does."""

    server: WebhookServer
    protocol_version = "HTTP/1.1"
    # A client that stops sending mid-request frees its thread after this many seconds.
    timeout = 60

    def handle_one_request(self) -> None:
        self.request_id = "req_" + uuid.uuid4().hex
        self.execution_id = ""
        super().handle_one_request()

    def deliver(self) -> None:
        """Answers a request of any method: refused, or its run queued or awaited."""
        incoming_id = self.headers.get("X-Request-Id", "")
        if REQUEST_ID.fullmatch(incoming_id):
            self.request_id = incoming_id  # the caller's own, as the server keeps it
        try:
            execution, repeated = self.start_delivery()
        except WebhookRefusal as refusal:
            self.send_refusal(refusal)
            return
        self.execution_id = execution.id
        headers = {"Idempotency-Replayed": "true"} if repeated else {}
        webhook = self.server.webhook
        if webhook.response_mode == "ack" or not execution.ended.wait(
            webhook.wait_seconds
        ):
            document = {"executionId": execution.id, "status": execution.status}
            self.send_json(HTTPStatus.ACCEPTED, document, headers)
        elif execution.status == "completed":
            self.send_json(HTTPStatus.OK, execution.output, headers)
        else:
            # 502, as the server answers: the webhook is fine, the run it made is not.
            self.send_envelope(
                HTTPStatus.BAD_GATEWAY,
                "EXECUTION_FAILED",
                f"The workflow's execution {execution.id} ended {execution.status}: "
                f"{execution.error}",
                details={"executionId": execution.id, "status": execution.status},
            )

    # Other methods reach send_error(501), which delivers them too (404 or 405).
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = deliver

    def start_delivery(self) -> tuple[Execution, bool]:
        """Checks the delivery and queues its run; a repeated one finds the first's.

        In this order: the path (404), the method (405), the body's size (413), the
        signature (401), the delivery key (400), the body's encoding and JSON (415, 400).
        """
        url = urlsplit(self.path)
        if url.path != "/":
            self.skip_body()
            raise WebhookRefusal(
                HTTPStatus.NOT_FOUND,
                "NOT_FOUND",
                f"Nothing is served at {url.path}: the webhook is at /",
            )
        methods = self.server.webhook.methods
        if self.command not in methods:
            self.skip_body()
            raise WebhookRefusal(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                f"This webhook takes {', '.join(methods)}, not {self.command}",
                {"allowed": list(methods)},
                {"Allow": ", ".join(methods)},
            )
        body = self.read_body()
        scheme = self.server.webhook.signature
        if scheme != "none":
            values = self.headers.get_all(SIGNATURE_HEADERS[scheme], [])
            problem = signature_problem(scheme, values, body, self.server.secret)
            if problem:
                raise WebhookRefusal(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", problem)
        key = self.delivery_key()
        query = parse_qs(url.query, keep_blank_values=True)
        trigger = {
            "body": self.parse_body(self.decode_body(body)),
            "headers": self.trigger_headers(),
            "query": {name: v[0] if len(v) == 1 else v for name, v in query.items()},
            "method": self.command,
            "path": url.path,
        }
        fingerprint = hashlib.sha256(f"{self.command}\n".encode() + body).hexdigest()
        return self.server.deliveries.start(key, fingerprint, trigger)

    def delivery_key(self) -> str | None:
        """The Idempotency-Key, else the X-GitHub-Delivery header, else None."""
        for name in DELIVERY_KEY_HEADERS:
            value = self.headers.get(name)
            if value is None:
                continue
            if not DELIVERY_KEY.fullmatch(value):
                problem = "must be 1 to 200 printable ASCII characters"
                raise WebhookRefusal(
                    HTTPStatus.BAD_REQUEST,
                    "VALIDATION_ERROR",
                    f"{name} {problem}",
                    {"fields": {name.lower(): [problem]}},
                )
            return value
        return None

    def trigger_headers(self) -> dict[str, str]:
        """The headers, names lower-case, repeated ones joined with ", ", without the
        signature headers."""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            if name in headers:
                headers[name] += ", " + value
            elif name not in LEFT_OUT_HEADERS:
                headers[name] = value
        return headers

    def read_body(self) -> bytes:
        """The raw body, whole (Content-Length or chunked); at most MAX_BODY_BYTES."""
        too_large = body_too_large()
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked(too_large)
        length_header = self.headers.get("Content-Length", "0").strip()
        if not is_decimal(length_header):
            self.close_connection = True
            raise WebhookRefusal(
                HTTPStatus.BAD_REQUEST,
                "BAD_REQUEST",
                f"Content-Length must be a number of bytes, not {length_header!r}",
            )
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self.skip_body()
            raise too_large
        return self.rfile.read(length)

    def skip_body(self) -> None:
        """Drops the body of a refused request (see MAX_SKIPPED_BYTES); the connection
        then closes."""
        self.close_connection = True
        length = self.headers.get("Content-Length", "")
        remaining = min(int(length), MAX_SKIPPED_BYTES) if is_decimal(length) else 0
        while remaining > 0 and (chunk := self.rfile.read(min(remaining, 65536))):
            remaining -= len(chunk)

    def read_chunked(self, too_large: WebhookRefusal) -> bytes:
        # http.server leaves Transfer-Encoding: chunked to the handler.
        body = bytearray()
        received = 0
        while True:
            size_field = self.rfile.readline(1024).split(b";")[0].strip()
            if not CHUNK_SIZE.fullmatch(size_field):
                self.close_connection = True
                raise WebhookRefusal(
                    HTTPStatus.BAD_REQUEST,
                    "BAD_REQUEST",
                    "The chunked body is malformed",
                )
            size = int(size_field, 16)
            if size == 0:
                break
            received += size
            if received > MAX_SKIPPED_BYTES:
                self.close_connection = True
                raise too_large
            chunk = self.rfile.read(size)
            if received <= MAX_BODY_BYTES:
                body += chunk
            self.rfile.readline(1024)  # the CRLF after the chunk
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields, not part of the body
        if received > MAX_BODY_BYTES:
            self.close_connection = True
            raise too_large
        return bytes(body)

    def decode_body(self, body: bytes) -> bytes:
        """The body with its Content-Encoding (gzip or deflate) undone; the signature
        covers it as sent."""
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("identity", ""):
            return body
        if encoding not in ("gzip", "deflate"):
            raise WebhookRefusal(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                f'Unsupported Content-Encoding "{encoding}": '
                "send identity, gzip or deflate",
            )
        window = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        decompressor = zlib.decompressobj(window)
        try:
            decoded = decompressor.decompress(body, MAX_BODY_BYTES + 1)
        except zlib.error as error:
            raise WebhookRefusal(
                HTTPStatus.BAD_REQUEST,
                "BAD_REQUEST",
                f"The body is not valid {encoding}: {error}",
            ) from None
        if len(decoded) > MAX_BODY_BYTES:
            raise body_too_large()
        return decoded

    def parse_body(self, body: bytes) -> Any:
        """A JSON body parsed, another as text, an empty one as None."""
        if not body:
            return None
        text = body.decode("utf-8", errors="replace")
        if not JSON_TYPE.fullmatch(self.headers.get("Content-Type", "")):
            return text
        if not text.strip():
            return None
        try:
            return json.loads(text, parse_constant=refuse_constant)
        except ValueError as error:
            raise WebhookRefusal(
                HTTPStatus.BAD_REQUEST,
                "INVALID_JSON",
                f"Request body is not valid JSON: {error}",
            ) from None

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """The standard library's own refusals (a malformed request, too long a line,
        too many headers, a method it has no do_ for) in the error envelope."""
        if code == HTTPStatus.NOT_IMPLEMENTED:
            self.deliver()
            return
        self.close_connection = True
        status = HTTPStatus(code)
        error_code = {
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: "HEADERS_TOO_LARGE",
            HTTPStatus.REQUEST_TIMEOUT: "REQUEST_TIMEOUT",
        }.get(status, "BAD_REQUEST")
        self.send_envelope(status, error_code, message or status.phrase)

    def send_refusal(self, refusal: WebhookRefusal) -> None:
        self.send_envelope(
            refusal.status,
            refusal.code,
            refusal.message,
            refusal.details,
            refusal.headers,
        )

    def send_envelope(
        self,
        status: HTTPStatus,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """An error in the envelope of Tensorify Server's API."""
        error: dict[str, Any] = {"code": code, "message": message}
        if details:
            error["details"] = details
        error["requestId"] = self.request_id
        self.send_json(status, {"error": error}, headers)

    def send_json(
        self, status: HTTPStatus, document: Any, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", self.request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def version_string(self) -> str:
        return "TensorifyWebhook"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path without its query, which may hold tokens; "" before a request line.
        path = urlsplit(getattr(self, "path", "")).path
        line = (
            f"{self.command} {path} {int(code)} {self.request_id} {self.execution_id}"
        )
        log(line.rstrip())

    def log_message(self, message_format: str, *args: Any) -> None:
        log(message_format % args)


def is_decimal(text: str) -> bool:
    """Whether `text` is digits 0-9 only (str.isdigit also takes "²")."""
    return text.isascii() and text.isdigit()


def signature_problem(
    scheme: str, values: list[str], body: bytes, secret: bytes
) -> str:
    """Why a delivery's signature is refused, or "" when it is good: `values` are the
    scheme's header as sent (empty when missing). A `tensorify` header may carry
    several v1= digests (a sender rolling its secret); one matching is enough."""
    name = SIGNATURE_HEADERS[scheme]
    if not values or values == [""]:
        return (
            f"Missing {name} header: this webhook's deliveries must be signed "
            f'(signature "{scheme}")'
        )
    if len(values) > 1:
        return f"Send one {name} header, not {len(values)}"
    header = values[0].strip()
    if scheme == "github":
        given = header.removeprefix("sha256=")
        if not header.startswith("sha256=") or not HEX_DIGEST.fullmatch(given):
            return f'{name} must be "sha256=<64 hex digits>"'
        if same_digest(hmac.new(secret, body, hashlib.sha256).hexdigest(), given):
            return ""
        return f"{name} does not match the body: {WRONG_SIGNATURE}"
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key == "t"]
    digests = [v for key, _, v in fields if key == "v1" and HEX_DIGEST.fullmatch(v)]
    if len(stamps) != 1 or not TIMESTAMP.fullmatch(stamps[0]) or not digests:
        return f'{name} must be "t=<unix seconds>,v1=<64 hex digits>"'
    now = int(time.time())
    if abs(now - int(stamps[0])) > SIGNATURE_TOLERANCE_SECONDS:
        return (
            f"{name} timestamp {stamps[0]} is more than "
            f"{SIGNATURE_TOLERANCE_SECONDS} s from the server's clock ({now}): "
            "sign each delivery when you send it"
        )
    signed = stamps[0].encode() + b"." + body
    expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    if any(same_digest(expected, given) for given in digests):
        return ""
    return f'{name} does not match "<t>.<body>": {WRONG_SIGNATURE}'


def same_digest(expected: str, given: str) -> bool:
    """Compares two hex digests in constant time, whatever the case of `given`."""
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def body_too_large() -> WebhookRefusal:
    return WebhookRefusal(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        f"Request body exceeds the limit of {MAX_BODY_BYTES} bytes",
    )


def refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, though Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON value")


def log(message: str) -> None:
    """A line of the webhook server's log, on stderr."""
    print(f"[webhook] {message}", file=sys.stderr, flush=True)


def run_webhook_program(
    run: Callable[[Context], Any],
    workflow_id: str,
    workflow_version: int,
    *,
    methods: list[str],
    signature: str,
    response_mode: str,
    wait_seconds: int,
) -> None:
    """Runs the workflow once as run_program does, or serves its webhook (--serve)."""
    parser = argparse.ArgumentParser(
        description=f"Runs workflow {workflow_id} (version {workflow_version}) once, "
        "or serves its webhook with --serve.",
        epilog="Without --inputs, the inputs come from TENSORIFY_INPUTS, else {}. "
        "The output JSON goes to the file named by TENSORIFY_OUTPUT, else to stdout. "
        "With --serve, the secret that signs deliveries comes from "
        f"{WEBHOOK_SECRET_VARIABLE}.",
    )
    parser.add_argument("--inputs", metavar="FILE", help="a JSON file of the inputs")
    parser.add_argument(
        "--serve", action="store_true", help="serve the webhook at / until stopped"
    )
    parser.add_argument("--host", help="the address to serve on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        help="the port to serve on (default 8000; 0 picks a free one)",
    )
    arguments = parser.parse_args()
    if not arguments.serve:
        if arguments.host is not None or arguments.port is not None:
            parser.error("--host and --port go with --serve")
        # The command line holds at most --inputs, which run_program reads again: the
        # run is the same as a workflow's with another trigger.
        run_program(run, workflow_id, workflow_version)
        return
    if arguments.inputs is not None:
        parser.error(
            "--inputs runs the workflow once; with --serve, requests bring them"
        )
    host = "127.0.0.1" if arguments.host is None else arguments.host
    port = 8000 if arguments.port is None else arguments.port
    if not 0 <= port <= 65535:
        parser.error(f"--port must be 0 to 65535, not {port}")
    webhook = Webhook(tuple(methods), signature, response_mode, wait_seconds)
    serve_webhook(run, workflow_id, workflow_version, webhook, (host, port))


def serve_webhook(
    run: Callable[[Context], Any],
    workflow_id: str,
    workflow_version: int,
    webhook: Webhook,
    address: tuple[str, int],
) -> None:
    """Serves the webhook until SIGTERM or SIGINT, then lets the running execution end
    (a second signal stops at once) and exits 0; exits 2 when it cannot start."""
    secret = os.environ.get(WEBHOOK_SECRET_VARIABLE, "")
    if webhook.signature != "none" and not secret:
        print(
            f"error: {WEBHOOK_SECRET_VARIABLE} is not set. The webhook checks "
            f'"{webhook.signature}" signatures, so it needs the secret shown when the '
            "workflow was saved (whsec_…).",
            file=sys.stderr,
        )
        sys.exit(2)
    runner = DeliveryRunner(run, workflow_id, workflow_version)
    try:
        server = WebhookServer(address, webhook, secret.encode(), Deliveries(runner))
    except OSError as error:
        print(
            f"error: cannot serve on {address[0]}:{address[1]}: {error}",
            file=sys.stderr,
        )
        sys.exit(2)

    def stop(signal_number: int, _: Any) -> None:
        for handled in (signal.SIGTERM, signal.SIGINT):
            signal.signal(handled, signal.SIG_DFL)
        log(f"{signal.Signals(signal_number).name}: stopping")
        # shutdown() waits for serve_forever() to return: it cannot run on its thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.thread.start()
    host, port = server.server_address[:2]
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    log(
        f"serving workflow {workflow_id} (version {workflow_version}) on "
        f"http://{authority}/ ({', '.join(webhook.methods)}; signature "
        f"{webhook.signature}; response {webhook.response_mode})"
    )
    server.serve_forever()
    server.server_close()
    server.deliveries.close()
    runner.stop()
    log("stopped")

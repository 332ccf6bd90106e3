"""The HTTP layer: parse a request, call the backend, serialize the answer. No resource semantics here.

- Control plane: POST / with `X-Amz-Target: AmazonPersonalize.<Operation>` (awsJson1_1).
- personalize-runtime / personalize-events: REST-JSON routes from `personalize_local.rest` (if present).
- Admin: /_admin/health, /_admin/faults (GET/POST), /_admin/faults/clear (POST), /_admin/describe?arn=...
One log line per request: method, operation, resource, HTTP status, duration.
"""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from personalize_local.backend import Backend
from personalize_local.errors import InternalFailure, InvalidInput, ServiceError, Throttling, UnknownOperation

log = logging.getLogger("personalize_local.http")
JSON_11 = "application/x-amz-json-1.1"


class PersonalizeServer(ThreadingHTTPServer):
    """Threaded HTTP server (one thread per connection, keep-alive) in front of one Backend."""

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Backend):
        super().__init__(address, Handler)
        self.backend = backend
        self.rest_routes = _rest_routes(backend)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def _rest_routes(backend: Backend) -> dict:
    try:
        from personalize_local.rest import routes
    except ImportError:
        return {}
    return routes(backend)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in one write (buffered wfile, flushed after each request) with Nagle off:
    # two small writes on a keep-alive connection otherwise wait for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    wbufsize = 1 << 16
    server: PersonalizeServer

    def log_message(self, format, *args):  # noqa: A002 - replaced by our one-line-per-request log
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def _handle(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        operation, resource, content_type = "-", "-", "application/json"
        try:
            if url.path.startswith("/_admin/"):
                operation = "admin:" + url.path[len("/_admin/") :]
                status, payload = 200, self._admin(url.path, parse_qs(url.query), body)
            elif target:
                content_type = JSON_11
                operation = target.rpartition(".")[2]
                params = _json(body)
                resource = _resource_of(params)
                self._inject_fault()
                status, payload = 200, self.server.backend.call(operation, params)
            elif (self.command, url.path.rstrip("/")) in self.server.rest_routes:
                operation, handler = self.server.rest_routes[(self.command, url.path.rstrip("/"))]
                params = _json(body)
                resource = _resource_of(params)
                self._inject_fault()
                status, payload = 200, handler(params)
            else:
                raise UnknownOperation(
                    f"No operation at {self.command} {url.path} (control plane requests need an X-Amz-Target header)."
                )
        except ServiceError as exc:
            status, payload = exc.status, exc.body()
        except Exception as exc:  # noqa: BLE001 - never drop a connection without an AWS-shaped answer
            log.exception("internal error in %s", operation)
            err = InternalFailure(f"Internal error in personalize_local: {type(exc).__name__}: {exc}")
            status, payload = err.status, err.body()
        self._send(status, payload, content_type)
        log.info(
            "%s %s %s %d %.1fms",
            self.command,
            operation,
            resource,
            status,
            (time.perf_counter() - started) * 1000,
        )

    def _inject_fault(self) -> None:
        outcome = self.server.backend.faults.roll()
        if outcome == "throttle":
            raise Throttling("Rate exceeded (fault injected by personalize_local)")
        if outcome == "error500":
            raise InternalFailure("Internal failure (fault injected by personalize_local)")

    def _admin(self, path: str, query: dict, body: bytes) -> dict:
        backend = self.server.backend
        if path == "/_admin/health":
            return {"status": "ok"}
        if path == "/_admin/faults":
            if self.command == "POST":
                try:
                    return {"faults": backend.faults.update(_json(body))}
                except ValueError as exc:
                    raise InvalidInput(str(exc)) from exc
            return {"faults": dict(backend.faults.settings)}
        if path == "/_admin/faults/clear":
            backend.faults.clear()
            return {"faults": {}}
        if path == "/_admin/describe":
            arn = (query.get("arn") or [""])[0]
            if not arn:
                raise InvalidInput("GET /_admin/describe needs ?arn=<resource ARN>")
            return backend.describe_any(arn)
        raise UnknownOperation(
            f"No admin endpoint {path}; known: /_admin/health, /_admin/faults, "
            "/_admin/faults/clear, /_admin/describe?arn="
        )

    def _send(self, status: int, payload: dict, content_type: str) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        if status >= 400:
            self.send_header("x-amzn-ErrorType", payload.get("__type", "InternalFailure"))
        self.end_headers()
        self.wfile.write(data)


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise InvalidInput(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return value


def _resource_of(params: dict) -> str:
    """The ARN (or name) a request is about, for the log line."""
    for key, value in params.items():
        if key.endswith("Arn") and isinstance(value, str):
            return value
    return str(params.get("name") or params.get("jobName") or "-")

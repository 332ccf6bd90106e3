"""The HTTP layer: parse a request, call the backend, serialize the answer. No resource semantics here.

- Control plane: POST / with `X-Amz-Target: AmazonPersonalize.<Operation>` (awsJson1_1).
- personalize-runtime / personalize-events: REST-JSON routes from `personalize_local.rest`.
- Admin: GET /_admin/health, GET /_admin/faults, POST /_admin/faults, POST /_admin/faults/clear,
  GET /_admin/describe?arn=...
Before anything runs (access.py): the Host must be a local or configured name (403), the method one the route
takes (405), the body at most `max_body_bytes` with a Content-Length (413, 411), and a request other than GET
must declare a JSON content type (415).
One log line per request: method, operation, resource, HTTP status, duration.
"""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from personalize_local import access
from personalize_local.aws_errors import (
    AccessDenied,
    InternalFailure,
    InvalidInput,
    LengthRequired,
    MethodNotAllowed,
    RequestTooLarge,
    ServiceError,
    Throttling,
    UnknownOperation,
    UnsupportedMediaType,
)
from personalize_local.backend import Backend
from personalize_local.rest import routes
from personalize_local.scope import request_region, signing_region

log = logging.getLogger("personalize_local.http")
JSON_11 = "application/x-amz-json-1.1"
# Admin routes and the methods they take: whatever changes state is POST-only.
ADMIN_METHODS = {
    "/_admin/health": ("GET",),
    "/_admin/faults": ("GET", "POST"),
    "/_admin/faults/clear": ("POST",),
    "/_admin/describe": ("GET",),
}


class PersonalizeServer(ThreadingHTTPServer):
    """Threaded HTTP server (one thread per connection, keep-alive) in front of one Backend."""

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        backend: Backend,
        max_body_bytes: int = access.DEFAULT_MAX_BODY_BYTES,
        allow_hosts: tuple[str, ...] = (),
    ):
        super().__init__(address, Handler)
        self.backend = backend
        self.max_body_bytes = max_body_bytes
        self.allowed_hosts = access.allowed_hosts(allow_hosts, bind_address=address[0])
        self.rest_routes = routes(backend)
        self.rest_methods: dict[str, list[str]] = {}
        for method, path in self.rest_routes:
            self.rest_methods.setdefault(path, []).append(method)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


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
        with request_region(signing_region(self.headers.get("Authorization"))):
            self._handle_in_region()

    def _handle_in_region(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        target = self.headers.get("X-Amz-Target")
        operation, resource, content_type, extra = "-", "-", "application/json", {}
        self._body_read = False
        try:
            self._check_host()
            if path.startswith("/_admin/"):
                operation = "admin:" + path[len("/_admin/") :]
                if path not in ADMIN_METHODS:
                    raise UnknownOperation(f"No admin endpoint {path}; known: {', '.join(ADMIN_METHODS)}")
                self._check_method(ADMIN_METHODS[path])
                status, payload = 200, self._admin(path, parse_qs(url.query), self._body())
            elif target:
                content_type = JSON_11
                operation = target.rpartition(".")[2]
                self._check_method(("POST",))
                params = _json(self._body())
                resource = _resource_of(params)
                self._inject_fault()
                status, payload = 200, self.server.backend.call(operation, params)
            elif path in self.server.rest_methods:
                self._check_method(self.server.rest_methods[path])
                operation, handler = self.server.rest_routes[(self.command, path)]
                params = _json(self._body())
                resource = _resource_of(params)
                self._inject_fault()
                status, payload = 200, handler(params)
            else:
                raise UnknownOperation(
                    f"No operation at {self.command} {url.path} (control plane requests need an X-Amz-Target header)."
                )
        except ServiceError as exc:
            status, payload = exc.status, exc.body()
            if isinstance(exc, MethodNotAllowed):
                extra["Allow"] = exc.allow
        except Exception as exc:  # noqa: BLE001 - never drop a connection without an AWS-shaped answer
            log.exception("internal error in %s", operation)
            err = InternalFailure(f"Internal error in personalize_local: {type(exc).__name__}: {exc}")
            status, payload = err.status, err.body()
        if not self._body_read and (self.headers.get("Content-Length", "0") != "0" or self._chunked()):
            self.close_connection = True  # an unread body would be parsed as the next request
            extra["Connection"] = "close"
        self._send(status, payload, content_type, extra)
        log.info(
            "%s %s %s %d %.1fms",
            self.command,
            operation,
            resource,
            status,
            (time.perf_counter() - started) * 1000,
        )

    # -- gating (see access.py for why) -------------------------------------------------------------------
    def _check_host(self) -> None:
        header = self.headers.get("Host")
        if access.host_name(header) not in self.server.allowed_hosts:
            raise AccessDenied(
                f"Host {header!r} is not served by personalize_local (it answers "
                f"{', '.join(sorted(self.server.allowed_hosts))}); add a name with --allow-host or "
                f"{access.ALLOWED_HOSTS_ENV}."
            )

    def _check_method(self, methods: tuple[str, ...] | list[str]) -> None:
        if self.command not in methods:
            err = MethodNotAllowed(
                f"{self.command} is not allowed on {urlsplit(self.path).path}; use {' or '.join(methods)}."
            )
            err.allow = ", ".join(methods)  # the Allow header of the 405
            raise err

    def _chunked(self) -> bool:
        return bool(self.headers.get("Transfer-Encoding"))

    def _body(self) -> bytes:
        """The request body, once it passed the size cap and (for anything but GET) the content-type check."""
        if self._chunked():
            raise LengthRequired("personalize_local needs a Content-Length; chunked request bodies are not accepted.")
        raw = self.headers.get("Content-Length") or "0"
        if not (raw.isascii() and raw.isdigit()):
            raise InvalidInput(f"Content-Length {raw!r} is not a byte count.")
        length = int(raw)
        if length > self.server.max_body_bytes:
            raise RequestTooLarge(
                f"The request body has {length} bytes; personalize_local accepts at most "
                f"{self.server.max_body_bytes} (--max-body-bytes)."
            )
        if self.command != "GET":
            declared = access.media_type(self.headers.get("Content-Type"))
            if declared not in access.JSON_TYPES:
                raise UnsupportedMediaType(
                    f"Content-Type {declared or '(none)'!r} is not accepted; send one of {sorted(access.JSON_TYPES)}."
                )
        body = self.rfile.read(length)
        self._body_read = True
        return body

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
        arn = (query.get("arn") or [""])[0]
        if not arn:
            raise InvalidInput("GET /_admin/describe needs ?arn=<resource ARN>")
        return backend.describe_any(arn)

    def _send(self, status: int, payload: dict, content_type: str, headers: dict) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        if status >= 400:
            self.send_header("x-amzn-ErrorType", payload.get("__type", "InternalFailure"))
        for name, value in headers.items():
            self.send_header(name, value)
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

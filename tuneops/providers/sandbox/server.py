"""The sandbox on a loopback socket (stdlib `ThreadingHTTPServer`), for SDKs in other processes
and plain HTTP clients: ``OPENAI_BASE_URL=http://127.0.0.1:PORT/openai/v1``.

Faults look as they would on a real network: a timeout or a lost response stalls the connection
(for the configured `stall`, bounded) and then closes it without an answer; a drop closes it at
once. Request lines may be logged; headers (and so API keys) never are.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tuneops.errors import UsageError
from tuneops.providers.sandbox.app import Outcome, Sandbox, SandboxRequest
from tuneops.providers.sandbox.faults import MAX_STALL, Fault

__all__ = ["SandboxServer", "is_loopback"]

MAX_BODY = 8 * 1024**3


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (no name lookups: other names are refused)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Sandbox
    stopping: threading.Event
    log_requests: bool


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect
    server_version = "tuneops-sandbox"
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self._abort()
            return
        split = urllib.parse.urlsplit(self.path)
        request = SandboxRequest(
            method=self.command,
            path=split.path,  # percent-encoded: decoding is the routes' (SandboxRequest)
            query=urllib.parse.parse_qsl(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        outcome = self.server.sandbox.dispatch(request)
        self._log(request, outcome)
        if outcome.fault in (Fault.TIMEOUT, Fault.LOST):
            # Hold the connection past the client's patience (bounded, and cut short on
            # shutdown), then close it without a word.
            self.server.stopping.wait(min(self.server.sandbox.faults.stall, MAX_STALL))
            self._abort()
            return
        if outcome.fault is Fault.DROP or outcome.response is None:
            self._abort()
            return
        res = outcome.response
        self.send_response(res.status)
        for name, value in res.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(res.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(res.body)

    def _abort(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _log(self, request: SandboxRequest, outcome: Outcome) -> None:
        if not self.server.log_requests:
            return
        status = outcome.response.status if outcome.response is not None else "-"
        fault = f"  [fault: {outcome.fault.value}]" if outcome.fault is not None else ""
        sys.stderr.write(f"{request.method} {request.path} {status}{fault}\n")

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib's own lines (errors only: _log covers requests); never headers.
        if self.server.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SandboxServer:
    """Serve a `Sandbox` on `host`:`port` (0 picks a free port; see `url`).

    Binding anything but a loopback address needs `allow_non_loopback=True`: the sandbox has no
    real authentication. Use `serve_forever()` in the foreground, or `start()` / `shutdown()` (or a
    `with` block) to run it on a background thread.
    """

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, *,
                 allow_non_loopback: bool = False, log_requests: bool = False) -> None:
        if not allow_non_loopback and not is_loopback(host):
            raise UsageError(f"refusing to listen on {host!r}: not a loopback address",
                             hint="use 127.0.0.1 (or pass --allow-non-loopback if you really mean it)")
        bare = host.strip("[]")
        cls = _HTTPServer6 if ":" in bare else _HTTPServer
        try:
            self.httpd = cls((bare, port), _Handler)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                             hint="pick another --port (0 picks a free one)") from exc
        self.httpd.sandbox = sandbox
        self.httpd.stopping = threading.Event()
        self.httpd.log_requests = log_requests
        self.sandbox = sandbox
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:8765``."""
        host = str(self.httpd.server_address[0])
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def api_urls(self) -> dict[str, str]:
        """Base URL of each mounted vendor API, e.g. ``{"openai": "http://.../openai/v1"}``."""
        return {name: self.url + prefix for name, prefix in self.sandbox.mounts().items()}

    def client_settings(self) -> dict[str, list[dict[str, str]]]:
        """For each mounted vendor API, the settings that point tuneops and the vendor's SDK at
        this server: ``{"together": [{"name": "TOGETHER_BASE_URL", "value": ..., "for": ...}]}``.
        A table value starting with "/" is a path here (the root URL goes before it); any other
        is a plain value (a project, a bucket, a token), given as it is."""
        from tuneops.providers.sandbox.app import CLIENT_SETTINGS

        return {name: [{"name": var, "value": self.url + value if value.startswith("/") else value,
                        "for": who}
                       for var, value, who in CLIENT_SETTINGS.get(name, ())]
                for name in self.sandbox.mounts()}

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.httpd.stopping.set()
            self.httpd.server_close()

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.serve_forever, name="tuneops-sandbox", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self.httpd.stopping.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        else:
            self.httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

"""The sandbox core, shared by the in-process transport and the loopback server.

`Sandbox` owns the store, the clock, the fault injector and the vendor APIs, each mounted under
its own path prefix (``/openai/v1``, ``/mistral/v1``, ``/together/v1``, ``/vertex``).
`Sandbox.dispatch` takes a plain `SandboxRequest` and returns an `Outcome`: a response, or a fault
that the adapter turns into what its side of the wire would see (an exception in process, a
stalled or closed socket on a server).
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol

import orjson

from tuneops.providers.sandbox.clock import Clock, SystemClock
from tuneops.providers.sandbox.faults import Fault, FaultConfig, FaultInjector
from tuneops.providers.sandbox.state import SandboxStore

__all__ = [
    "APIS",
    "DEFAULT_SPEED",
    "ApiError",
    "FormPart",
    "Outcome",
    "Router",
    "Sandbox",
    "SandboxRequest",
    "SandboxResponse",
    "VendorApi",
    "b62",
    "parse_multipart",
]

log = logging.getLogger("tuneops.sandbox")

DEFAULT_SPEED = 100.0
HEALTH_PATH = "/_sandbox/health"
# name -> (path prefix, "module:Class") of each vendor API; a module is imported on the first
# request under its prefix, so a sandbox that serves one vendor never loads the others.
APIS: dict[str, tuple[str, str]] = {
    "openai": ("/openai/v1", "tuneops.providers.sandbox.openai_api:OpenAIApi"),
    "mistral": ("/mistral/v1", "tuneops.providers.sandbox.mistral_api:MistralApi"),
    "together": ("/together/v1", "tuneops.providers.sandbox.together_api:TogetherApi"),
    "vertex": ("/vertex", "tuneops.providers.sandbox.vertex_api:VertexApi"),
}
# name -> the settings that point tuneops and the vendor's official SDK at a served sandbox:
# (variable, value, who reads it). A value starting with "/" is a path on the served sandbox
# (`SandboxServer.client_settings` puts the server's root URL before it); any other value is
# given as it is (a project, a bucket, a token the sandbox accepts).
CLIENT_SETTINGS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "openai": (("OPENAI_BASE_URL", "/openai/v1", "tuneops and the openai SDK"),),
    # mistralai reads no base-URL variable: give the SDK Mistral(server_url=<the same value>)
    "mistral": (("MISTRAL_BASE_URL", "/mistral", "tuneops; the mistralai SDK takes it as"
                 " Mistral(server_url=...)"),),
    # the together SDK's base URL is the server root (its paths start with /v1)
    "together": (("TOGETHER_BASE_URL", "/together", "tuneops and the together SDK"),),
    "vertex": (("GOOGLE_VERTEX_BASE_URL", "/vertex/", "tuneops and google-genai"),
               ("STORAGE_EMULATOR_HOST", "/vertex", "google-cloud-storage (tuneops uploads"
                " through it)"),
               # any project is accepted; these are tuneops' own sandbox values (vertex.py)
               ("GOOGLE_CLOUD_PROJECT", "tuneops-sandbox", "tuneops and google-genai"),
               ("GOOGLE_CLOUD_LOCATION", "us-central1", "tuneops and google-genai"),
               # the one bucket the emulated Cloud Storage has (vertex_gcs.BUCKETS)
               ("TUNEOPS_VERTEX_BUCKET", "gs://tuneops-sandbox/tuneops", "tuneops"),
               # any bearer token is accepted, and none is stored
               ("TUNEOPS_VERTEX_ACCESS_TOKEN", "sandbox-access-token", "tuneops; google-genai"
                " takes it as credentials=google.oauth2.credentials.Credentials(token=...)")),
}
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(slots=True)
class SandboxRequest:
    method: str
    path: str  # without the query string, percent-decoding left to the routes
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str) -> str | None:
        """The last value of a query parameter."""
        found = None
        for key, value in self.query:
            if key == name:
                found = value
        return found


@dataclass(slots=True)
class SandboxResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, doc: Any, headers: Mapping[str, str] | None = None) -> SandboxResponse:
        return cls(status, orjson.dumps(doc),
                   {"content-type": "application/json", **(headers or {})})


class ApiError(Exception):
    """A request the vendor refuses; each vendor API renders it in its own error shape."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a dispatch produced: a response to send, unless `fault` says it never arrives
    (TIMEOUT, DROP: `response` is None; LOST: the response exists but must not be delivered)."""

    response: SandboxResponse | None
    fault: Fault | None = None

    @property
    def delivered(self) -> bool:
        return self.response is not None and self.fault not in (Fault.TIMEOUT, Fault.DROP, Fault.LOST)


Handler = Callable[..., SandboxResponse]


class Router:
    """Method + path template routing: ``@router.route("GET", "/files/{file_id}")``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        pattern = re.compile(
            "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "/?$"
        )

        def register(fn: Handler) -> Handler:
            self._routes.append((method.upper(), pattern, fn))
            return fn

        return register

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for m, pattern, fn in self._routes:
            hit = pattern.match(path)
            if hit is not None and m == method.upper():
                return fn, hit.groupdict()
        return None


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def parse_multipart(body: bytes, content_type: str) -> dict[str, FormPart]:
    """Parse a multipart/form-data body (RFC 7578). Raises ValueError when it is not one."""
    msg = Message()
    msg["content-type"] = content_type
    boundary = msg.get_param("boundary")
    if msg.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise ValueError("not a multipart/form-data body")
    delimiter = b"--" + boundary.encode("latin-1")
    parts: dict[str, FormPart] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a multipart part has no header block")
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip()] = value.strip()
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a multipart part has no name")
        filename = headers.get_param("filename", header="content-disposition")
        parts[name] = FormPart(
            name, data.removesuffix(b"\r\n"),
            filename if isinstance(filename, str) else None, headers.get("content-type"),
        )
    return parts


class VendorApi(Protocol):
    """One vendor's routes, mounted by a `Sandbox` under `prefix`."""

    name: str
    prefix: str

    def handle(self, request: SandboxRequest, path: str) -> SandboxResponse:
        """Answer a request; `path` is the part after the prefix. May raise `ApiError`."""
        ...

    def error_response(self, err: ApiError) -> SandboxResponse: ...

    def fault_response(self, fault: Fault) -> SandboxResponse:
        """The vendor's answer for an injected 429 / 500 / 503."""
        ...


class Sandbox:
    """An offline emulator of vendor fine-tuning APIs over one state directory.

    `store_dir` defaults to `$TUNEOPS_HOME/sandbox` (else the user data dir); `faults` is a
    `FaultConfig`, a spec string such as ``"429=0.1,seed=7"``, a mapping, or None to read
    `TUNEOPS_SANDBOX_FAULTS`; `speed` divides every simulated duration (100: a small job takes
    about two seconds); `clock` defaults to the wall clock; `seed` makes ids, job seeds and metrics
    reproducible (None: a random seed kept in the store).
    """

    def __init__(
        self,
        store_dir: str | os.PathLike[str] | None = None,
        *,
        faults: FaultConfig | str | Mapping[str, float | int] | None = None,
        speed: float = DEFAULT_SPEED,
        clock: Clock | None = None,
        seed: int | str | None = None,
        apis: Sequence[str] | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self.store = SandboxStore(store_dir)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.faults = FaultConfig.coerce(faults)
        self.injector = FaultInjector(self.faults)
        self.speed = float(speed)
        self.seed = str(seed) if seed is not None else self.store.store_seed()
        self._requests = itertools.count()
        unknown = sorted(set(apis or ()) - set(APIS))
        if unknown:
            raise ValueError(f"no sandbox API named {unknown}; known: {sorted(APIS)}")
        # prefix -> name of every mounted API (all of them unless `apis` says otherwise)
        self._mounted: dict[str, str] = {APIS[n][0]: n for n in (apis or APIS)}
        self._loaded: dict[str, VendorApi] = {}

    def __repr__(self) -> str:
        return (f"Sandbox({str(self.store.directory)!r}, speed={self.speed:g}, "
                f"faults={self.faults.to_spec()!r})")

    def now(self) -> float:
        return self.clock.now()

    def new_id(self, prefix: str, length: int = 24) -> str:
        """A fresh id such as ``file-`` + 24 base-62 characters: unique in the store, and the
        same sequence of ids for the same seed on a fresh store."""
        with self.store.tx() as t:
            n = t.next_seq("ids")
        return prefix + b62(self.seed, prefix, n, length=length)

    def mounts(self) -> dict[str, str]:
        return {name: prefix for prefix, name in self._mounted.items()}

    def api(self, name: str) -> VendorApi:
        """The mounted API called `name`, loaded on first use."""
        api = self._loaded.get(name)
        if api is None:
            module, _, cls = APIS[name][1].partition(":")
            api = getattr(importlib.import_module(module), cls)(self)
            self._loaded[name] = api
        return api

    def dispatch(self, request: SandboxRequest) -> Outcome:
        for prefix, name in self._mounted.items():
            if request.path == prefix or request.path.startswith(prefix + "/"):
                return self._dispatch_to(self.api(name), request, request.path[len(prefix):] or "/")
        if request.path.rstrip("/") == HEALTH_PATH and request.method == "GET":
            return Outcome(SandboxResponse.json(200, {"ok": True, "apis": self.mounts()}))
        return Outcome(SandboxResponse.json(404, {"error": {
            "message": f"No sandbox API under {request.path!r}; mounted: {self.mounts()}",
            "type": "invalid_request_error", "param": None, "code": "unknown_url"}}))

    def _dispatch_to(self, api: VendorApi, request: SandboxRequest, path: str) -> Outcome:
        fault = self.injector.draw()
        request_id = "req_" + b62(self.seed, "request", next(self._requests), length=32)
        if fault in (Fault.TIMEOUT, Fault.DROP):
            return Outcome(None, fault)
        if fault in (Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.UNAVAILABLE):
            response = api.fault_response(fault)
        else:
            try:
                response = api.handle(request, path)
            except ApiError as err:
                response = api.error_response(err)
            except Exception as exc:  # a bug here must still reach the client as a vendor 500
                log.exception("sandbox bug handling %s %s", request.method, request.path)
                response = api.error_response(ApiError(
                    500, f"tuneops sandbox internal error: {type(exc).__name__}: {exc}",
                    type="server_error"))
        response.headers.setdefault("x-request-id", request_id)
        return Outcome(response, fault)


def b62(*parts: object, length: int = 24) -> str:
    """`length` (at most 42) base-62 characters that depend only on `parts`."""
    n = int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest(), "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(out)

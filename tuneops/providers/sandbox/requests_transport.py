"""The sandbox as a `requests` transport adapter, for SDKs that speak `requests` rather than httpx2
(google-cloud-storage does):

    import requests
    from tuneops.providers.sandbox.requests_transport import SandboxRequestsAdapter

    session = requests.Session()
    session.mount("http://sandbox.tuneops/", SandboxRequestsAdapter(transport.sandbox))

Requests go through the same `Sandbox.dispatch` (and so the same fault injector) as the httpx2
transport. Faults surface as the exceptions a real network would raise through `requests`:
`requests.exceptions.ReadTimeout` for a timeout or a lost response, `ConnectionError` for a
dropped connection.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tuneops.providers.sandbox.app import Sandbox, SandboxRequest
from tuneops.providers.sandbox.faults import Fault

__all__ = ["SandboxRequestsAdapter", "sandbox_session"]


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if isinstance(body, Iterable):  # a generator of chunks (chunked transfer encoding)
        return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)
    raise TypeError(f"cannot send a request body of type {type(body).__name__}")


class SandboxRequestsAdapter(BaseAdapter):
    """A `requests` transport adapter answered by a `Sandbox`, with no socket."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float | None, float | None] | None = None,
             verify: bool | str = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        url = urlsplit(request.url or "")
        sreq = SandboxRequest(
            method=(request.method or "GET").upper(),
            path=url.path,  # percent-encoded, as the httpx2 transport passes it
            query=parse_qsl(url.query, keep_blank_values=True),
            # requests lets header values be bytes (google-cloud-storage sends the multipart one so)
            headers={k.lower(): v.decode("latin-1") if isinstance(v, bytes) else v
                     for k, v in request.headers.items()},
            body=_body_bytes(request.body),
        )
        outcome = self.sandbox.dispatch(sreq)
        if outcome.fault in (Fault.TIMEOUT, Fault.LOST):
            raise requests.exceptions.ReadTimeout(
                f"tuneops sandbox: injected fault {outcome.fault.value} (no response)",
                request=request)
        if outcome.fault is Fault.DROP or outcome.response is None:
            raise requests.exceptions.ConnectionError(
                "Connection aborted: remote end closed connection without response (tuneops"
                " sandbox: injected fault drop)", request=request)
        res = outcome.response
        response = requests.Response()
        response.status_code = res.status
        response.headers = CaseInsensitiveDict(res.headers)
        # a urllib3 response over the body, as requests' own HTTPAdapter builds it: clients that
        # stream (google-cloud-storage downloads) read `raw` and its headers directly
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(res.body), headers=res.headers,
                                            status=res.status, preload_content=False,
                                            decode_content=False)
        response.url = request.url or ""
        response.request = request
        try:
            response.reason = HTTPStatus(res.status).phrase
        except ValueError:
            response.reason = ""
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def sandbox_session(sandbox: Sandbox) -> requests.Session:
    """A `requests.Session` whose every http(s) request goes to `sandbox`."""
    session = requests.Session()
    adapter = SandboxRequestsAdapter(sandbox)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

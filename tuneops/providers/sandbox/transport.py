"""The sandbox as an httpx2 transport: vendor SDKs talk to it in process, with no socket.

    import httpx2, openai
    from tuneops.providers.sandbox import SandboxTransport

    transport = SandboxTransport(store_dir="/tmp/sbx", faults="429=0.1,seed=7", speed=1000)
    client = openai.OpenAI(api_key="sk-test", base_url="http://sandbox.tuneops/openai/v1",
                           http_client=httpx2.Client(transport=transport), max_retries=0)

Any host works; the path prefix picks the vendor. Faults surface as the exceptions a real network
would raise: `httpx2.ReadTimeout` for a timeout or a lost response, `httpx2.RemoteProtocolError`
for a dropped connection (the SDK turns them into `APITimeoutError` / `APIConnectionError`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx2

from tuneops.providers.sandbox.app import DEFAULT_SPEED, Outcome, Sandbox, SandboxRequest
from tuneops.providers.sandbox.clock import Clock
from tuneops.providers.sandbox.faults import Fault, FaultConfig

__all__ = ["SandboxTransport"]


class SandboxTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """An httpx2 transport (sync and async) answered by a `Sandbox`.

    Pass either the `Sandbox` arguments (`store_dir`, `faults`, `speed`, `clock`, `seed`) or a
    ready `sandbox=` to share one between several transports.
    """

    def __init__(
        self,
        store_dir: str | os.PathLike[str] | None = None,
        *,
        faults: FaultConfig | str | Mapping[str, float | int] | None = None,
        speed: float = DEFAULT_SPEED,
        clock: Clock | None = None,
        seed: int | str | None = None,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.sandbox = sandbox if sandbox is not None else Sandbox(
            store_dir, faults=faults, speed=speed, clock=clock, seed=seed)

    def __repr__(self) -> str:
        return f"SandboxTransport({self.sandbox!r})"

    @staticmethod
    def _to_sandbox(request: httpx2.Request, body: bytes) -> SandboxRequest:
        return SandboxRequest(
            method=request.method,
            # percent-encoded, as the server and the requests transport pass it (SandboxRequest)
            path=request.url.raw_path.decode("ascii").partition("?")[0],
            query=list(request.url.params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )

    @staticmethod
    def _deliver(outcome: Outcome, request: httpx2.Request) -> httpx2.Response:
        if outcome.fault in (Fault.TIMEOUT, Fault.LOST):
            raise httpx2.ReadTimeout(
                f"tuneops sandbox: injected fault {outcome.fault.value} (no response)", request=request)
        if outcome.fault is Fault.DROP or outcome.response is None:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response. (tuneops sandbox: injected fault"
                " drop)", request=request)
        res = outcome.response
        return httpx2.Response(res.status, headers=res.headers, content=res.body, request=request)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        return self._deliver(self.sandbox.dispatch(self._to_sandbox(request, body)), request)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        # Dispatch is short synchronous work (SQLite, small files); file validation is the one
        # slow step and runs once per file.
        return self._deliver(self.sandbox.dispatch(self._to_sandbox(request, body)), request)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

"""An offline emulator of vendor fine-tuning APIs: tests, demos and scripts with no keys and no spend.

Two ways in, over the same state (a directory that several processes may share):

    # 1. in process, as an httpx2 transport for the vendor's own SDK
    from tuneops.providers.sandbox import SandboxTransport
    client = openai.OpenAI(api_key="sk-test", base_url="http://sandbox.tuneops/openai/v1",
                           http_client=httpx2.Client(transport=SandboxTransport(speed=1000)))

    # 2. on loopback, for anything that speaks HTTP
    $ tuneops sandbox serve --port 0
    $ OPENAI_BASE_URL=http://127.0.0.1:PORT/openai/v1 OPENAI_API_KEY=sk-test python my_script.py

Vendor-neutral machinery lives in `state` (store), `clock`, `faults`, `timeline`, `app`
(dispatch), `transport` and `server`; each vendor's routes in their own modules (`openai_*`,
`mistral_*`, `together_*`, `vertex_*`; `requests_transport` carries Cloud Storage uploads for
Vertex).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuneops.providers.sandbox.app import DEFAULT_SPEED, Sandbox
    from tuneops.providers.sandbox.clock import Clock, ManualClock, SystemClock
    from tuneops.providers.sandbox.faults import Fault, FaultConfig, parse_faults
    from tuneops.providers.sandbox.server import SandboxServer
    from tuneops.providers.sandbox.state import SandboxStore, default_store_dir
    from tuneops.providers.sandbox.transport import SandboxTransport

__all__ = [
    "DEFAULT_SPEED",
    "Clock",
    "Fault",
    "FaultConfig",
    "ManualClock",
    "Sandbox",
    "SandboxServer",
    "SandboxStore",
    "SandboxTransport",
    "SystemClock",
    "default_store_dir",
    "parse_faults",
]

# Imported on first use: the transport needs httpx2, which the rest of tuneops does not.
_WHERE = {
    "DEFAULT_SPEED": "app", "Sandbox": "app",
    "Clock": "clock", "ManualClock": "clock", "SystemClock": "clock",
    "Fault": "faults", "FaultConfig": "faults", "parse_faults": "faults",
    "SandboxServer": "server",
    "SandboxStore": "state", "default_store_dir": "state",
    "SandboxTransport": "transport",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

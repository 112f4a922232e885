"""Fault injection: what can go wrong between a client and a vendor, at chosen rates, reproducibly.

Syntax (for `--faults`, `TUNEOPS_SANDBOX_FAULTS` and `faults=` given as a string)::

    429=0.1,500=0.05,503=0.05,timeout=0.05,drop=0.05,lost=0.05,fail_jobs=0.1,seed=7

Each request to a vendor route draws one number; the request-level rates are stacked, so together
they must not exceed 1:

- ``429`` (alias ``rate_limit``): 429 with ``Retry-After`` / ``retry-after-ms`` headers.
- ``500`` (``server_error``), ``503`` (``unavailable``): a vendor-shaped error body.
- ``timeout``: no answer. In process: `httpx2.ReadTimeout`; on a server: the connection stalls for
  ``stall`` seconds (default 10, at most 300) and is then closed without a response.
- ``drop``: the connection closes without a response (in process: `httpx2.RemoteProtocolError`).
- ``lost``: the request TAKES EFFECT, then its response is lost as with ``timeout``. This is the
  fault that makes blind retries of non-idempotent calls create duplicates.

Per job rather than per request: ``fail_jobs``, the share of jobs that fail vendor-side while
running. Options: ``seed`` (default 0), ``retry_after`` seconds announced by 429s (default 1),
``stall`` (see above). Draws depend only on the seed, the request's sequence number in this
sandbox instance and, for jobs, the job id, so a run is reproducible.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from tuneops.errors import UsageError

__all__ = [
    "ENV_VAR",
    "Fault",
    "FaultConfig",
    "FaultInjector",
    "parse_faults",
    "unit_draw",
]

ENV_VAR = "TUNEOPS_SANDBOX_FAULTS"
MAX_STALL = 300.0


class Fault(enum.Enum):
    RATE_LIMIT = "429"
    SERVER_ERROR = "500"
    UNAVAILABLE = "503"
    TIMEOUT = "timeout"
    DROP = "drop"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Fault rates (0..1) and options. `FaultConfig()` injects nothing."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    timeout: float = 0.0
    drop: float = 0.0
    lost: float = 0.0
    fail_jobs: float = 0.0
    seed: int = 0
    retry_after: float = 1.0
    stall: float = 10.0

    def __post_init__(self) -> None:
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"fault rate {_SPEC_NAME[name]}={value} is outside 0..1")
        if sum(getattr(self, n) for n in _REQUEST_FIELDS) > 1.0 + 1e-9:
            raise UsageError("request fault rates add up to more than 1",
                             hint="429, 500, 503, timeout, drop and lost share one draw per request")
        if self.retry_after < 0 or not 0 <= self.stall <= MAX_STALL:
            raise UsageError(f"retry_after must be >= 0 and stall within 0..{MAX_STALL:g} seconds")

    @property
    def active(self) -> bool:
        return any(getattr(self, n) > 0 for n in _RATE_FIELDS)

    def to_spec(self) -> str:
        """The `--faults` string for this configuration (rates that are zero left out)."""
        default = FaultConfig()
        parts = [f"{_SPEC_NAME[f.name]}={getattr(self, f.name):g}" for f in fields(self)
                 if getattr(self, f.name) != getattr(default, f.name)]
        return ",".join(parts)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_env(cls) -> FaultConfig:
        """From `TUNEOPS_SANDBOX_FAULTS`, or no faults when it is unset or empty."""
        return parse_faults(os.environ.get(ENV_VAR, ""))

    @classmethod
    def coerce(cls, value: FaultConfig | str | Mapping[str, float | int] | None) -> FaultConfig:
        """Accept what users pass as `faults=`: a config, a spec string, a mapping, or None (env)."""
        if value is None:
            return cls.from_env()
        if isinstance(value, FaultConfig):
            return value
        if isinstance(value, str):
            return parse_faults(value)
        return parse_faults(",".join(f"{k}={v}" for k, v in value.items()))


# request faults in the order their probability bands are stacked
_REQUEST_FIELDS = ("rate_limit", "server_error", "unavailable", "timeout", "drop", "lost")
_RATE_FIELDS = (*_REQUEST_FIELDS, "fail_jobs")
_FAULT_OF = {
    "rate_limit": Fault.RATE_LIMIT, "server_error": Fault.SERVER_ERROR,
    "unavailable": Fault.UNAVAILABLE, "timeout": Fault.TIMEOUT, "drop": Fault.DROP,
    "lost": Fault.LOST,
}
_SPEC_NAME = {
    "rate_limit": "429", "server_error": "500", "unavailable": "503", "timeout": "timeout",
    "drop": "drop", "lost": "lost", "fail_jobs": "fail_jobs", "seed": "seed",
    "retry_after": "retry_after", "stall": "stall",
}
_FIELD_OF = {spec: name for name, spec in _SPEC_NAME.items()} | {
    name: name for name in _SPEC_NAME
}


def parse_faults(spec: str) -> FaultConfig:
    """Parse ``"429=0.1,timeout=0.05,seed=7"``; raises `UsageError` on anything it cannot read."""
    values: dict[str, float | int] = {}
    for raw in spec.replace(";", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, text = item.partition("=")
        key = key.strip().lower()
        name = _FIELD_OF.get(key)
        if not sep or name is None:
            known = ", ".join(_SPEC_NAME.values())
            raise UsageError(f"cannot read fault {item!r}", hint=f"use NAME=VALUE with NAME one of {known}")
        try:
            values[name] = int(text) if name == "seed" else float(text)
        except ValueError:
            raise UsageError(f"fault {key} needs a number, got {text.strip()!r}") from None
    return FaultConfig(**values)  # type: ignore[arg-type]


def unit_draw(*parts: object) -> float:
    """A number in [0, 1) that depends only on `parts` (stable across processes and runs)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FaultInjector:
    """Draws faults for one sandbox instance: reproducible for a seed and a sequence of requests."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def draw(self) -> Fault | None:
        """The fault for the next request, or None."""
        cfg = self.config
        if not cfg.active:
            return None
        with self._lock:
            n = next(self._seq)
        x = unit_draw(cfg.seed, "request", n)
        edge = 0.0
        for name in _REQUEST_FIELDS:
            edge += getattr(cfg, name)
            if x < edge:
                return _FAULT_OF[name]
        return None

    def job_fails(self, job_id: str) -> float | None:
        """For a job that will fail vendor-side, where in its run (0..1) it fails; else None."""
        cfg = self.config
        if cfg.fail_jobs <= 0 or unit_draw(cfg.seed, "fail_jobs", job_id) >= cfg.fail_jobs:
            return None
        return 0.1 + 0.8 * unit_draw(cfg.seed, "fail_at", job_id)

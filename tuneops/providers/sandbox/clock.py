"""Time for the sandbox: the real clock, or a manual one that tests move by hand.

The sandbox never runs background work. A job's state is derived from its creation time, the
actions recorded against it (cancel, pause, resume) and `clock.now()` whenever it is read, so any
clock works and every process reading the same store sees the same state. Acceleration is not a
property of the clock: a job's durations are divided by the sandbox's `speed` when it is created,
and those real-time durations are stored with the job.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Unix time in seconds."""

    def now(self) -> float: ...


class SystemClock:
    """The machine's wall clock (what other processes sharing a store also see)."""

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to: `advance(seconds)` or `set(t)`. Thread-safe.

    Starts at `start` (default 1_750_000_000, a fixed date, so runs are reproducible).
    """

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self._t = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._t += seconds
            return self._t

    def set(self, t: float) -> None:
        with self._lock:
            if t < self._t:
                raise ValueError("a clock does not go backwards")
            self._t = float(t)

    def __repr__(self) -> str:
        return f"ManualClock({self._t!r})"

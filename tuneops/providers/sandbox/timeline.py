"""A training job's life as a pure function of time: no threads, nothing to tick.

A `Timeline` is fixed when the job is created: how long it validates, queues and runs (real
seconds, already divided by the sandbox speed), whether and where it fails, and the actions
recorded against it since (cancel, pause, resume, with their times). `phase_at(t)` and the
mapping between *work time* (seconds of progress, which stop while paused) and real time follow.
Vendor routes turn phases into their own statuses and events; the metric curves here are shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tuneops.providers.sandbox.faults import unit_draw

__all__ = ["Phase", "PhaseName", "Timeline", "loss_at", "token_accuracy"]

PhaseName = Literal["validating", "queued", "running", "paused", "succeeded", "failed", "cancelled"]
Action = tuple[float, str]  # (real time, "cancel" | "pause" | "resume")
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class Phase:
    name: PhaseName
    since: float  # real time the phase began (for terminal phases: when the job finished)
    step: int  # training steps done


@dataclass(frozen=True, slots=True)
class Timeline:
    created_at: float
    validate_s: float
    queue_s: float
    run_s: float
    total_steps: int
    fail: Literal["file", "vendor"] | None = None
    fail_at: float = 0.0  # for "vendor": the fraction of the run after which it fails
    actions: tuple[Action, ...] = ()

    # -- work time ---------------------------------------------------------------------------

    @property
    def queued_w(self) -> float:
        return self.validate_s

    @property
    def running_w(self) -> float:
        return self.validate_s + self.queue_s

    @property
    def end_w(self) -> float:
        """Work time at which the job ends by itself (success or failure)."""
        if self.fail == "file":
            return self.validate_s
        if self.fail == "vendor":
            return self.running_w + self.fail_at * self.run_s
        return self.running_w + self.run_s

    @property
    def outcome(self) -> Literal["succeeded", "failed"]:
        return "failed" if self.fail else "succeeded"

    def pauses(self) -> list[tuple[float, float | None]]:
        out: list[tuple[float, float | None]] = []
        for t, kind in sorted(self.actions, key=lambda a: a[0]):  # stable: same-time order kept
            if kind == "pause":
                out.append((t, None))
            elif kind == "resume" and out and out[-1][1] is None:
                out[-1] = (out[-1][0], t)
        return out

    @property
    def cancelled_at(self) -> float | None:
        return min((t for t, kind in self.actions if kind == "cancel"), default=None)

    def work(self, t: float) -> float:
        """Seconds of progress made by real time `t` (pauses do not count)."""
        w = t - self.created_at
        for start, end in self.pauses():
            if start < t:
                w -= (t if end is None else min(end, t)) - start
        return max(0.0, w)

    def real(self, w: float) -> float:
        """The real time at which work time `w` is (or will be) reached; inf if never."""
        r = self.created_at + w
        for start, end in self.pauses():
            if start < r:
                if end is None:
                    return math.inf
                r += end - start
        return r

    def step_at_work(self, w: float) -> int:
        if w <= self.running_w:
            return 0
        if self.run_s <= 0:
            return self.total_steps
        done = (w - self.running_w) / self.run_s
        return max(0, min(self.total_steps, math.floor(done * self.total_steps + 1e-9)))

    def work_of_step(self, step: int) -> float:
        return self.running_w + self.run_s * step / max(1, self.total_steps)

    # -- phases ------------------------------------------------------------------------------

    def phase_at(self, t: float) -> Phase:
        end_real = self.real(self.end_w)
        cancel = self.cancelled_at
        if cancel is not None and cancel < end_real and t >= cancel:
            return Phase("cancelled", cancel, self.step_at_work(self.work(cancel)))
        if t >= end_real:
            step = self.step_at_work(self.end_w) if self.fail != "file" else 0
            return Phase(self.outcome, end_real, step)
        w = self.work(t)
        step = self.step_at_work(w)
        for start, end in self.pauses():
            if start <= t and (end is None or t < end):
                return Phase("paused", start, step)
        if w < self.queued_w:
            return Phase("validating", self.created_at, 0)
        if w < self.running_w:
            return Phase("queued", self.real(self.queued_w), 0)
        return Phase("running", self.real(self.running_w), step)

    def with_action(self, t: float, kind: str) -> Timeline:
        return Timeline(self.created_at, self.validate_s, self.queue_s, self.run_s,
                        self.total_steps, self.fail, self.fail_at, (*self.actions, (t, kind)))


def loss_at(seed: object, step: int, total: int, *, offset: float = 0.0, noise: str = "train") -> float:
    """A plausible, reproducible loss curve: decays from about 1.5-3 towards a quarter of that."""
    start = 1.5 + 1.5 * unit_draw(seed, "loss0")
    progress = step / max(1, total)
    base = start * (0.25 + 0.75 * math.exp(-4.0 * progress)) + offset
    jitter = (unit_draw(seed, noise, step) - 0.5) * 0.12 * base
    return round(max(0.005, base + jitter), 4)


def token_accuracy(loss: float) -> float:
    return round(max(0.0, min(1.0, math.exp(-loss / 1.6))), 4)

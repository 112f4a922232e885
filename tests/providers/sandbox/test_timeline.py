"""The job timeline on its own: phases as a pure function of time, pauses, cancellation, failure."""

from __future__ import annotations

import math

from tuneops.providers.sandbox.timeline import Timeline, loss_at, token_accuracy

T0 = 1_000.0


def plain(**kw: object) -> Timeline:
    args: dict[str, object] = {"created_at": T0, "validate_s": 10.0, "queue_s": 20.0, "run_s": 100.0,
                               "total_steps": 50}
    args.update(kw)
    return Timeline(**args)  # type: ignore[arg-type]


def test_phases_follow_the_clock() -> None:
    tl = plain()
    assert [tl.phase_at(T0 + s).name for s in (0, 9.9, 10, 29.9, 30, 129.9, 130, 10_000)] == [
        "validating", "validating", "queued", "queued", "running", "running", "succeeded", "succeeded"]
    assert tl.phase_at(T0 + 80).step == 25 and tl.phase_at(T0 + 130).step == 50
    assert tl.phase_at(T0 + 5_000).since == T0 + 130


def test_a_pause_shifts_everything_after_it() -> None:
    tl = plain().with_action(T0 + 50, "pause")
    assert tl.phase_at(T0 + 60).name == "paused" and tl.phase_at(T0 + 60).step == 10
    assert tl.real(tl.end_w) == math.inf and tl.phase_at(T0 + 10_000).name == "paused"
    tl = tl.with_action(T0 + 250, "resume")
    assert tl.work(T0 + 250) == 50 and tl.real(tl.end_w) == T0 + 130 + 200
    assert tl.phase_at(T0 + 251).name == "running" and tl.phase_at(T0 + 330).name == "succeeded"
    assert tl.real(20.0) == T0 + 20  # before the pause: unchanged


def test_cancel_is_final_and_keeps_progress() -> None:
    tl = plain().with_action(T0 + 80, "cancel")
    phase = tl.phase_at(T0 + 10_000)
    assert phase.name == "cancelled" and phase.since == T0 + 80 and phase.step == 25
    assert tl.phase_at(T0 + 79).name == "running"
    paused = plain().with_action(T0 + 50, "pause").with_action(T0 + 60, "cancel")
    assert paused.phase_at(T0 + 61).name == "cancelled"


def test_failures() -> None:
    bad_file = plain(fail="file", total_steps=0)
    assert bad_file.phase_at(T0 + 9).name == "validating"
    assert bad_file.phase_at(T0 + 10).name == "failed" and bad_file.phase_at(T0 + 10).step == 0
    vendor = plain(fail="vendor", fail_at=0.5)
    assert vendor.phase_at(T0 + 79).name == "running"
    assert vendor.phase_at(T0 + 80).name == "failed" and vendor.phase_at(T0 + 80).step == 25


def test_metric_curves_are_reproducible_and_plausible() -> None:
    curve = [loss_at("seed", s, 100) for s in range(1, 101)]
    assert curve == [loss_at("seed", s, 100) for s in range(1, 101)]
    assert curve[-1] < curve[0] and all(v > 0 for v in curve)
    assert 0 < token_accuracy(curve[0]) < token_accuracy(curve[-1]) < 1

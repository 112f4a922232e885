"""The chunk runner: results in job order, from the fork-join and the pool alike; failures surface."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tuneops.datasets import _parallel


def square_with_pid(job: tuple[Any, ...]) -> tuple[int, int]:
    time.sleep(0.005)  # long enough for the child to start taking jobs too
    return job[0] * job[0], os.getpid()


def fail_on_seven(job: tuple[Any, ...]) -> int:
    if job[0] == 7:
        raise ValueError("chunk seven is broken")
    return int(job[0])


@pytest.mark.parametrize("mode", ["fork", "pool"])
def test_results_come_in_job_order_from_several_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    if mode == "pool":
        monkeypatch.setattr(_parallel, "_PIPE_RECORDS", 0)
    jobs = [(i,) for i in range(40)]
    out = list(_parallel.run_in_order(square_with_pid, jobs, 2, str(tmp_path)))
    assert [r for r, _ in out] == [i * i for i in range(40)]
    assert len({pid for _, pid in out}) == 2  # the caller and one child both worked
    assert list(tmp_path.iterdir()) == []  # child results are consumed


def test_a_failing_child_surfaces_its_traceback(tmp_path: Path) -> None:
    jobs = [(i,) for i in range(12)]
    with pytest.raises((RuntimeError, ValueError), match="seven"):
        list(_parallel.run_in_order(fail_on_seven, jobs, 2, str(tmp_path)))


def test_one_worker_runs_in_process(tmp_path: Path) -> None:
    out = list(_parallel.run_in_order(square_with_pid, [(3,), (4,)], 1, str(tmp_path)))
    assert out == [(9, os.getpid()), (16, os.getpid())]

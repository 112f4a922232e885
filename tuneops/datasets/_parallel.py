"""Run chunk jobs on several CPUs and hand back their results in file order.

The calling process works too, beside `workers - 1` children: on two cores that is one child, so a
validation costs two processes' memory, not three.

On Linux this is a plain fork-join: the chunk indices go into one pipe that the parent and the
forked children read 4 bytes at a time (reads of a pipe holding whole 4-byte records are atomic
on Linux), so whoever is free takes the next chunk; children write each result to the job's
temporary directory. It starts in a millisecond and imports nothing: `multiprocessing` and
`concurrent.futures` cost ~10 ms of start-up, a tenth of a 200 MB validation. Elsewhere (no fork,
or more chunks than one pipe buffer holds) `concurrent.futures.ProcessPoolExecutor` does the job.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["run_in_order"]

R = TypeVar("R")
_PIPE_RECORDS = 60_000 // 4  # stay below the 64 KiB pipe buffer: the parent writes them all at once


def run_in_order(
    func: Callable[[tuple[Any, ...]], R], jobs: list[tuple[Any, ...]], workers: int, tmpdir: str
) -> Iterator[R]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield func(job)
        return
    if sys.platform.startswith("linux") and len(jobs) <= _PIPE_RECORDS:
        yield from _fork_join(func, jobs, workers, tmpdir)
    else:
        yield from _pool(func, jobs, workers)


def _result_path(tmpdir: str, index: int) -> str:
    return os.path.join(tmpdir, f"result-{index:06d}.pickle")


def _parent_death_request() -> Callable[[], None]:
    """What a forked child calls first to have the kernel kill it when its parent dies, however
    it dies (SIGKILL included: no clean-up of the parent's runs then). prctl(PR_SET_PDEATHSIG) is
    Linux's; this module forks only on Linux. Looked up in the parent, before forking, so that a
    child starts on its chunks at once."""
    import ctypes

    parent = os.getpid()
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        prctl = None
    pr_set_pdeathsig = 1

    def request() -> None:
        if prctl is not None:
            prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return request


def _child(func: Callable[[tuple[Any, ...]], Any], jobs: list[tuple[Any, ...]], r: int,
           tmpdir: str, die_with_parent: Callable[[], None]) -> None:
    """Body of a forked child: take chunk indices until the pipe is empty. Never returns."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent reports an interrupt
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's Python handler
        die_with_parent()
        while len(b := os.read(r, 4)) == 4:
            index = int.from_bytes(b, "little")
            result = func(jobs[index])
            path = _result_path(tmpdir, index)
            with open(path + ".tmp", "wb") as out:
                pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(path + ".tmp", path)
    except BaseException:
        import traceback

        with open(os.path.join(tmpdir, f"error-{os.getpid()}.txt"), "w") as out:
            out.write(traceback.format_exc())
        status = 1
    finally:
        os._exit(status)


def _fork_join(
    func: Callable[[tuple[Any, ...]], R], jobs: list[tuple[Any, ...]], workers: int, tmpdir: str
) -> Iterator[R]:
    r, w = os.pipe()
    os.write(w, b"".join(i.to_bytes(4, "little") for i in range(len(jobs))))
    os.close(w)
    children: list[int] = []
    die_with_parent = _parent_death_request()
    try:
        for _ in range(workers - 1):
            pid = os.fork()
            if pid == 0:
                _child(func, jobs, r, tmpdir, die_with_parent)
            children.append(pid)
        ready: dict[int, R] = {}
        next_index = 0

        def collect() -> Iterator[R]:
            nonlocal next_index
            while True:
                if next_index in ready:
                    yield ready.pop(next_index)
                else:
                    path = _result_path(tmpdir, next_index)
                    if not os.path.exists(path):
                        return
                    with open(path, "rb") as f:
                        yield pickle.load(f)
                    os.unlink(path)
                next_index += 1

        while len(b := os.read(r, 4)) == 4:
            index = int.from_bytes(b, "little")
            ready[index] = func(jobs[index])
            yield from collect()
        for pid in children:
            _, status = os.waitpid(pid, 0)
            if status != 0:
                raise RuntimeError(f"a validation worker failed:\n{_child_error(tmpdir, pid)}")
        children.clear()
        yield from collect()
        if next_index != len(jobs):
            raise RuntimeError(f"chunk {next_index} produced no result")
    finally:
        os.close(r)
        for pid in children:  # interrupted or failed: stop the others
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _child_error(tmpdir: str, pid: int) -> str:
    try:
        with open(os.path.join(tmpdir, f"error-{pid}.txt")) as f:
            return f.read()
    except OSError:
        return "(it left no traceback: killed by a signal or out of memory?)"


def _pool(func: Callable[[tuple[Any, ...]], R], jobs: list[tuple[Any, ...]],
          workers: int) -> Iterator[R]:
    import multiprocessing
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    pending = deque(enumerate(jobs))
    ready: dict[int, R] = {}
    inflight: dict[Future[R], int] = {}
    next_index = 0
    children = workers - 1
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with ProcessPoolExecutor(max_workers=children, mp_context=context) as pool:
        try:
            while pending or inflight:
                # one chunk queued per child beyond the one it runs, so it never waits on us
                while pending and len(inflight) < 2 * children:
                    i, job = pending.popleft()
                    inflight[pool.submit(func, job)] = i
                if pending:
                    i, job = pending.popleft()
                    ready[i] = func(job)
                else:
                    wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in [f for f in inflight if f.done()]:
                    ready[inflight.pop(fut)] = fut.result()
                while next_index in ready:
                    yield ready.pop(next_index)
                    next_index += 1
        except BaseException:
            for fut in inflight:
                fut.cancel()
            raise

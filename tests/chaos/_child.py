"""What the crash tests run in a child process (and kill with SIGKILL):

    python -m tests.chaos._child submit VENDOR STEP DB DATA STORE SEED
        run `tuneops submit DATA --provider VENDOR --sandbox` (the CLI command) and SIGKILL
        itself right after the durable step STEP
    python -m tests.chaos._child watch DB STORE SEED KILL_AT WHERE FAULTS
        watch every unfinished job until all are finished; SIGKILL itself inside the KILL_AT-th
        ledger write statement, before it runs (WHERE=before) or after it ran but before its
        transaction commits (WHERE=after); KILL_AT=0 never kills

The sandbox runs on the wall clock (shared with the parent) at a high speed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

CHILD_SPEED = 1000.0


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def submit(vendor: str, step: str, db: str, data: str, store: str, seed: str) -> None:
    """`tuneops submit ... --sandbox` itself (the click command, in this process), killed right
    after the durable step `step`. The CLI's sandbox lives in $TUNEOPS_HOME/sandbox, which the
    test points at `store`."""
    from tests.chaos._harness import model_of
    from tuneops.cli import main
    from tuneops.orchestrator import submit as pipeline
    from tuneops.paths import state_dir

    if os.path.realpath(state_dir() / "sandbox") != os.path.realpath(store):
        raise SystemExit(f"TUNEOPS_HOME does not hold the sandbox store {store}")
    original = pipeline.Orchestrator.submit

    def submit_and_die(self: Any, req: Any, **kw: Any) -> Any:
        def on_step(name: str) -> None:
            if name == step:
                _kill()

        return original(self, req, **{**kw, "on_step": on_step})

    pipeline.Orchestrator.submit = submit_and_die  # type: ignore[method-assign]
    main(["submit", data, "--provider", vendor, "--model", model_of(vendor), "--sandbox",
          "--yes", "--db", db])
    print("finished without being killed")


def watch(db: str, store: str, seed: str, kill_at: str, where: str, faults: str) -> None:
    from sqlalchemy import event

    from tests.chaos._harness import Retries, counting_retry, make_provider
    from tuneops.orchestrator import Ledger, Orchestrator
    from tuneops.orchestrator.watch import watch_pass
    from tuneops.providers.sandbox import Sandbox

    ledger = Ledger.open(db)
    target = int(kill_at)
    writes = 0

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal writes
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes += 1
            if writes == target:
                _kill()

    event.listen(ledger.engine, f"{where}_cursor_execute", on_execute)
    sandbox = Sandbox(store, faults=f"{faults},seed={seed}" if faults else "", speed=CHILD_SPEED,
                      seed=int(seed))
    retries = Retries()
    with Orchestrator(ledger, sleep=lambda _s: None,
                      provider_factory=lambda n: make_provider(
                          n, sandbox, counting_retry(retries, int(seed)))) as o:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            result = watch_pass(o)
            if not result.unfinished and not result.errors:
                print("finished without being killed")
                return
            time.sleep(0.02)
    print("gave up", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"submit": submit, "watch": watch}[command](*args)

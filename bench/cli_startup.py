#!/usr/bin/env python3
"""Start-up cost of the CLI: `tuneops --help` and `tuneops list` over a bare `python -c pass`.

    python bench/cli_startup.py [--runs 15]

Medians of several runs, each a fresh process; `list` runs against an empty ledger in a temporary
state directory. Target: <= 150 ms over bare Python for each (vendor SDKs are imported only when
a command uses them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def median_ms(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    env = {**os.environ, "TUNEOPS_HOME": tempfile.mkdtemp(prefix="tuneops-startup-")}
    env.pop("TUNEOPS_DB", None)
    subprocess.run([sys.executable, "-m", "tuneops", "list"], capture_output=True, env=env,
                   check=False)  # create the ledger once: we time start-up, not migrations
    base = median_ms([sys.executable, "-c", "pass"], a.runs, env)
    rows = {"tuneops --help": [sys.executable, "-m", "tuneops", "--help"],
            "tuneops list": [sys.executable, "-m", "tuneops", "list"]}
    print(f"python -c pass: {base:.0f} ms (median of {a.runs})")
    for name, cmd in rows.items():
        ms = median_ms(cmd, a.runs, env)
        over = ms - base
        print(f"{name:16} {ms:6.0f} ms, {over:5.0f} ms over bare Python (target <= 150)"
              f" {'OK' if over <= 150 else 'OVER'}")


if __name__ == "__main__":
    main()

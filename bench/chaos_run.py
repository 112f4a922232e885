#!/usr/bin/env python3
"""The chaos run whose figures the README publishes: N jobs across the four vendors, submitted and
watched to the end through the sandbox with 20 % of requests failing, then reconciled and checked
against the vendors' own state (see tests/chaos/test_chaos.py).

    python bench/chaos_run.py --jobs 1000 [--db sqlite|postgresql] [--report chaos.json]

It runs `python -m pytest -m chaos tests/chaos/test_chaos.py --chaos-jobs N -s` (the same test,
so the published figures come from the asserted run) and leaves the figures as JSON in
`--report` (default: chaos-report.json). The PostgreSQL case needs TUNEOPS_TEST_PG_URL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--report", default="chaos-report.json")
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "pytest", "-m", "chaos", "tests/chaos/test_chaos.py", "-s",
           "--chaos-jobs", str(args.jobs), "-k", args.db]
    if args.seed is not None:
        cmd += ["--chaos-seed", str(args.seed)]
    env = {**os.environ, "TUNEOPS_CHAOS_REPORT": str(Path(args.report).resolve())}
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Validation throughput and memory, as ratios against baselines measured in the same run.

    python bench/validate_throughput.py                 # 200 MB file, generated if missing
    python bench/validate_throughput.py --size-mb 500 --rss-sizes 100,1000

Workloads (each a separate process tree; its peak memory is sampled every 10 ms):
  orjson        one process: `orjson.loads` on every line (the parse-only baseline)
  validate      `tuneops validate FILE --provider openai --json` (no token counting)
  raw-tokens    two processes, each half of the file: orjson parse + tiktoken `encode_ordinary`
                on every message content string (the tokenizer baseline)
  validate+tok  `tuneops validate FILE --provider openai --model gpt-4o-mini-2024-07-18 --json`
Targets on a 2-core machine: validate >= 1.0x orjson; validate+tok >= 1.0x raw-tokens with
identical content token totals; validate peak RSS <= 64 MB at every --rss-sizes size.

Times are the fastest of --repeat runs with nothing else of ours running; memory comes from one
more run sampled every 10 ms. "tree RSS" sums the resident set of every process in the tree
(pages shared after fork count once per process, so it overstates); "max RSS" is the largest
single process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT.parent / "shared" / "bench" / "make_dataset.py"
DATA = ROOT / "bench" / "data"
MODEL = "gpt-4o-mini-2024-07-18"

ORJSON_LOOP = """
import sys, orjson
n = 0
with open(sys.argv[1], 'rb') as f:
    for line in f:
        orjson.loads(line); n += 1
print(n)
"""

RAW_TOKENS = """
import sys, os, orjson
from multiprocessing import get_context
from tuneops.datasets.tokens import openai_encoding
path = sys.argv[1]
enc = openai_encoding("o200k_base")

def half(rng):
    start, end = rng
    total = 0
    with open(path, 'rb') as f:
        f.seek(start)
        data = f.read(end - start)
    for line in data.split(b"\\n"):
        if not line:
            continue
        for m in orjson.loads(line)["messages"]:
            c = m.get("content")
            if isinstance(c, str):
                total += len(enc.encode_ordinary(c))
    return total

size = os.path.getsize(path)
with open(path, 'rb') as f:
    f.seek(size // 2)
    f.readline()
    mid = f.tell()
with get_context("fork").Pool(2) as pool:
    print(sum(pool.map(half, [(0, mid), (mid, size)])))
"""


def ensure_dataset(size_mb: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"chat_{size_mb}mb.jsonl"
    if not path.exists():
        if not GENERATOR.exists():
            sys.exit(f"generator not found at {GENERATOR}; pass --data FILE")
        print(f"generating {path} ({size_mb} MB) ...", file=sys.stderr)
        subprocess.run([sys.executable, str(GENERATOR), "--size-mb", str(size_mb),
                        "--out", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def timed(cmd: list[str]) -> tuple[float, str]:
    """Wall time and stdout of one run, with nothing else of ours running."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return wall, proc.stdout.decode()


def run(cmd: list[str]) -> dict[str, float | str]:
    """Run a command with a memory sampler; wall time (inflated by the sampler), peak tree RSS,
    peak single-process RSS, stdout."""
    peak_tree = 0
    peak_one = 0
    stop = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak_tree, peak_one
        while not stop.is_set():
            try:
                procs = [ps, *ps.children(recursive=True)]
                rss = []
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        rss.append(p.memory_info().rss)
                peak_tree = max(peak_tree, sum(rss))
                peak_one = max(peak_one, max(rss, default=0))
            except psutil.Error:
                pass
            stop.wait(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"wall": wall, "tree_rss_mb": peak_tree / 2**20, "max_rss_mb": peak_one / 2**20,
            "stdout": out.decode()}


def best(cmd: list[str], repeat: int) -> dict[str, float | str]:
    """Fastest of `repeat` timed runs (no sampler: on a 2-core machine a sampling thread would
    slow a 2-process workload more than a 1-process one), plus one sampled run for memory."""
    walls = [timed(cmd) for _ in range(repeat)]
    wall, out = min(walls)
    mem = run(cmd)
    return {"wall": wall, "tree_rss_mb": mem["tree_rss_mb"], "max_rss_mb": mem["max_rss_mb"],
            "stdout": out}


def tuneops_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tuneops", "validate", *args, "--provider", "openai", "--json"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--data", type=Path, help="use this file instead of a generated one")
    ap.add_argument("--repeat", type=int, default=3, help="runs per workload; the fastest counts")
    ap.add_argument("--rss-sizes", default="100", help="MB sizes for the RSS check, e.g. 100,1000")
    ap.add_argument("--skip-tokens", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    a = ap.parse_args()

    path = a.data or ensure_dataset(a.size_mb)
    mb = path.stat().st_size / 1e6
    res: dict[str, dict[str, float | str]] = {}
    res["orjson"] = best([sys.executable, "-c", ORJSON_LOOP, str(path)], a.repeat)
    res["validate"] = best(tuneops_cmd(str(path)), a.repeat)
    if not a.skip_tokens:
        res["raw-tokens"] = best([sys.executable, "-c", RAW_TOKENS, str(path)], a.repeat)
        res["validate+tok"] = best(tuneops_cmd(str(path), "--model", MODEL), a.repeat)
        # the same with tiktoken itself as the engine, to show what the faster engine adds
        res["validate+tiktoken"] = best(
            tuneops_cmd(str(path), "--model", MODEL, "--tokenizer", "tiktoken"), a.repeat)
    rss_checks = {}
    for size in [int(s) for s in a.rss_sizes.split(",") if s]:
        p = path if (not a.data and size == a.size_mb) else ensure_dataset(size)
        rss_checks[size] = run(tuneops_cmd(str(p)))

    print(f"file: {path} ({mb:,.1f} MB), {os.cpu_count()} CPUs, best of {a.repeat}")
    print(f"{'workload':14} {'seconds':>8} {'MB/s':>8} {'tree RSS MB':>12} {'max RSS MB':>11}")
    for name, r in res.items():
        print(f"{name:14} {r['wall']:8.2f} {mb / float(r['wall']):8.1f} "
              f"{r['tree_rss_mb']:12.1f} {r['max_rss_mb']:11.1f}")
    ratios = {"validate / orjson": float(res["orjson"]["wall"]) / float(res["validate"]["wall"])}
    verdicts = {"validate / orjson": ratios["validate / orjson"] >= 1.0}
    totals = {}
    if not a.skip_tokens:
        raw_total = int(str(res["raw-tokens"]["stdout"]).split()[-1])
        stats = json.loads(str(res["validate+tok"]["stdout"]))["stats"]
        totals = {"raw_tiktoken_content_tokens": raw_total,
                  "tuneops_content_tokens": stats["content_tokens"],
                  "tuneops_token_method": stats.get("token_method")}
        ratios["validate+tok / raw-tokens"] = (float(res["raw-tokens"]["wall"])
                                               / float(res["validate+tok"]["wall"]))
        verdicts["validate+tok / raw-tokens"] = (ratios["validate+tok / raw-tokens"] >= 1.0
                                                 and raw_total == stats["content_tokens"])
        tk_stats = json.loads(str(res["validate+tiktoken"]["stdout"]))["stats"]
        ratios["validate+tiktoken / raw-tokens"] = (float(res["raw-tokens"]["wall"])
                                                    / float(res["validate+tiktoken"]["wall"]))
        verdicts["validate+tiktoken / raw-tokens"] = tk_stats["content_tokens"] == raw_total
    print()
    for k, v in ratios.items():
        if k == "validate+tiktoken / raw-tokens":
            print(f"{k:28} {v:5.2f}x  (information: tiktoken as the engine; totals "
                  f"{'identical' if verdicts[k] else 'DIFFERENT'})")
            continue
        print(f"{k:28} {v:5.2f}x  (target >= 1.0x) {'OK' if verdicts[k] else 'BELOW TARGET'}")
    if totals:
        same = totals["raw_tiktoken_content_tokens"] == totals["tuneops_content_tokens"]
        print(f"{'content token totals':28} raw {totals['raw_tiktoken_content_tokens']:,} vs tuneops "
              f"{totals['tuneops_content_tokens']:,}: {'identical' if same else 'DIFFERENT'}")
    for size, r in rss_checks.items():
        ok = float(r["tree_rss_mb"]) <= 64
        print(f"{'validate peak RSS @ ' + str(size) + ' MB':28} tree {r['tree_rss_mb']:.1f} MB, "
              f"max process {r['max_rss_mb']:.1f} MB (target <= 64 MB) {'OK' if ok else 'OVER'}")
    if a.json:
        print(json.dumps({"file": str(path), "mb": mb, "results": {
            k: {kk: vv for kk, vv in v.items() if kk != "stdout"} for k, v in res.items()},
            "ratios": ratios, "totals": totals,
            "rss": {k: {kk: vv for kk, vv in v.items() if kk != "stdout"}
                    for k, v in rss_checks.items()}}, indent=2))


if __name__ == "__main__":
    main()

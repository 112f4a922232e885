from __future__ import annotations

from typing import Any

import httpx2

from tests.providers.contract.harness import Harness, Rows
from tuneops.providers.vertex import VertexProvider


def make(transport: httpx2.BaseTransport, *, retry: Any = None, page_size: int | None = None
         ) -> VertexProvider:
    return VertexProvider.sandboxed(transport, retry=retry,
                                    **({"page_size": page_size} if page_size else {}))


def turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


def sft_rows(n: int) -> Rows:
    return [{"systemInstruction": {"parts": [{"text": "You add numbers and answer with the sum only."}]},
             "contents": [turn("user", f"What is {i} + {i}?"), turn("model", str(2 * i))]}
            for i in range(n)]


def bad_rows() -> Rows:
    rows = sft_rows(12)
    rows[4] = {"contents": [turn("user", "x"), turn("assistant", "y")]}  # Gemini says "model"
    return rows


def dpo_rows(n: int) -> Rows:
    return [{"contents": [turn("user", f"Say {i} politely.")],
             "completions": [{"score": 1, "completion": turn("model", f"Certainly: {i}.")},
                             {"score": 0, "completion": turn("model", f"{i}. Go away.")}]}
            for i in range(n)]


HARNESS = Harness(
    name="vertex",
    model="gemini-2.5-flash",
    make=make,
    sft_rows=sft_rows,
    bad_rows=bad_rows,
    is_create=lambda r: r.method == "POST" and r.url.path.endswith("/tuningJobs"),
    missing_job_id="projects/tuneops-sandbox/locations/us-central1/tuningJobs/1000000000000000000",
    dpo_rows=dpo_rows,
    dpo_model="gemini-2.5-flash",
    exact_tokens=False,  # no Vertex price on record, so `estimate_file` cannot run for it
    reports_cost=False,
)

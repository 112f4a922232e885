from __future__ import annotations

from typing import Any

import httpx2

from tests.providers.contract.harness import Harness, Rows
from tests.providers.sandbox.conftest import chat_rows
from tuneops.providers.openai import OpenAIProvider

BASE_URL = "http://sandbox.tuneops/openai/v1"


def make(transport: httpx2.BaseTransport, *, retry: Any = None, page_size: int | None = None
         ) -> OpenAIProvider:
    return OpenAIProvider(api_key="sk-tuneops-fake", base_url=BASE_URL,
                          http_client=httpx2.Client(transport=transport), retry=retry,
                          **({"page_size": page_size} if page_size else {}))


def bad_rows() -> Rows:
    rows = chat_rows(12)
    rows[4] = {"messages": [{"role": "robot", "content": "x"}]}
    return rows


def dpo_rows(n: int) -> Rows:
    return [{"input": {"messages": [{"role": "user", "content": f"Say {i} politely."}]},
             "preferred_output": [{"role": "assistant", "content": f"Certainly: {i}."}],
             "non_preferred_output": [{"role": "assistant", "content": f"{i}. Go away."}]}
            for i in range(n)]


HARNESS = Harness(
    name="openai",
    model="gpt-4o-mini-2024-07-18",
    make=make,
    sft_rows=chat_rows,
    bad_rows=bad_rows,
    is_create=lambda r: r.method == "POST" and r.url.path.endswith("/fine_tuning/jobs"),
    missing_job_id="ftjob-anything",
    dpo_rows=dpo_rows,
    dpo_model="gpt-4o-mini-2024-07-18",
    exact_tokens=True,
    reports_cost=False,
)

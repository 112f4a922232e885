from __future__ import annotations

from typing import Any

import httpx2

from tests.providers.contract.harness import Harness

# Together takes OpenAI's chat rows, and OpenAI's preference rows (`PREFERENCE_OPENAI` in
# together/lib/constants.py); a robot's role breaks both vendors' rules alike.
from tests.providers.contract.harness_openai import bad_rows, dpo_rows
from tests.providers.sandbox.conftest import chat_rows
from tuneops.providers.together import TogetherProvider


def make(transport: httpx2.BaseTransport, *, retry: Any = None, page_size: int | None = None
         ) -> TogetherProvider:
    # `page_size` is ignored: Together's job list has no paging (one call returns every job).
    return TogetherProvider.sandboxed(transport, retry=retry, poll_interval=0.0)


HARNESS = Harness(
    name="together",
    model="meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
    make=make,
    sft_rows=chat_rows,
    bad_rows=bad_rows,
    is_create=lambda r: r.method == "POST" and r.url.path.endswith("/fine-tunes"),
    missing_job_id="ft-00000000-0000-4000-8000-000000000000",
    dpo_rows=dpo_rows,
    dpo_model="Qwen/Qwen3-8B",
    exact_tokens=False,
    reports_cost=True,
)

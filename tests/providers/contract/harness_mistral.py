from __future__ import annotations

from typing import Any

import httpx2

from tests.providers.contract.harness import Harness, Rows
from tests.providers.sandbox.conftest import chat_rows
from tuneops.providers.mistral import SANDBOX_SERVER_URL, MistralProvider


def make(transport: httpx2.BaseTransport, *, retry: Any = None, page_size: int | None = None
         ) -> MistralProvider:
    return MistralProvider(api_key="sk-tuneops-fake", server_url=SANDBOX_SERVER_URL,
                           http_client=httpx2.Client(transport=transport), retry=retry,
                           **({"page_size": page_size} if page_size else {}))


def bad_rows() -> Rows:
    rows = chat_rows(12)
    # Mistral's finetuning mode refuses a conversation that does not end with the assistant
    rows[4] = {"messages": [{"role": "user", "content": "Hello?"}]}
    return rows


HARNESS = Harness(
    name="mistral",
    model="open-mistral-7b",
    make=make,
    sft_rows=chat_rows,  # the chat format Mistral shares with OpenAI (system/user/assistant)
    bad_rows=bad_rows,
    is_create=lambda r: r.method == "POST" and r.url.path.endswith("/fine_tuning/jobs"),
    missing_job_id="00000000-0000-4000-8000-000000000000",
    dpo_rows=None,
    exact_tokens=False,  # Mistral bills whole steps of train_tokens_per_step tokens
    reports_cost=True,
)

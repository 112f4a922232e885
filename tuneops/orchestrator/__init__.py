"""Orchestrator: the job ledger, submitting jobs and following them.

    from tuneops.orchestrator import Orchestrator, SubmitRequest

    with Orchestrator(sandbox=True) as orch:       # the offline emulator: no key, no spend
        job = orch.submit(SubmitRequest(file="train.jsonl", provider="openai",
                                        model="gpt-4o-mini-2024-07-18"))
        job = orch.wait(job.id)
        print(job.fine_tuned_model, job.trained_tokens, job.billed_cost)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuneops.orchestrator.ledger import Ledger
    from tuneops.orchestrator.records import HistoryEntry, JobRecord
    from tuneops.orchestrator.submit import Orchestrator, SubmitRequest

__all__ = ["HistoryEntry", "JobRecord", "Ledger", "Orchestrator", "SubmitRequest"]

# Imported on first use: `tuneops list` needs the ledger, not the submit pipeline.
_WHERE = {"HistoryEntry": "records", "JobRecord": "records", "Ledger": "ledger",
          "Orchestrator": "submit", "SubmitRequest": "submit"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tuneops.orchestrator' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tuneops.orchestrator.{module}"), name)

"""Orchestrator: the job ledger, submitting jobs and following them.

    from tuneops.orchestrator import Orchestrator, SubmitRequest

    with Orchestrator(sandbox=True) as orch:       # the offline emulator: no key, no spend
        job = orch.submit(SubmitRequest(file="train.jsonl", provider="openai",
                                        model="gpt-4o-mini-2024-07-18"))
        job = orch.wait(job.id)
        print(job.fine_tuned_model, job.trained_tokens, job.billed_cost)
"""

from __future__ import annotations

from tuneops.orchestrator.ledger import HistoryEntry, JobRecord, Ledger
from tuneops.orchestrator.submit import Orchestrator, SubmitRequest

__all__ = ["HistoryEntry", "JobRecord", "Ledger", "Orchestrator", "SubmitRequest"]

"""Orchestrator: the job ledger (this release), then submit, watch and reconcile (next).

    from tuneops.orchestrator import Ledger

    with Ledger.open() as ledger:          # TUNEOPS_DB, else SQLite in the state directory
        for job in ledger.list_jobs(unfinished=True):
            print(job.id, job.provider, job.status)
"""

from __future__ import annotations

from tuneops.orchestrator.ledger import HistoryEntry, JobRecord, Ledger

__all__ = ["HistoryEntry", "JobRecord", "Ledger"]

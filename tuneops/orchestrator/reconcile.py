"""Reconcile the ledger with the vendors: resolve interrupted submissions, never create anything.

An intent without a vendor job id means a submission stopped somewhere between writing the intent
and recording the vendor's answer. The vendor's jobs carrying our reference tell which: found ->
adopted (the ledger takes the vendor's job); not found, and the intent older than `grace` seconds
(so a submission still in flight elsewhere is left alone) -> marked "never created", final, so it
is not followed forever. Vendor jobs carrying a tuneops reference that this ledger does not know
(another ledger's, or one lost with a deleted database) are reported, as is the count of untagged
vendor jobs (not started by tuneops).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tuneops.providers.models import Job

if TYPE_CHECKING:
    from tuneops.orchestrator.submit import Orchestrator

__all__ = ["ReconcileReport", "reconcile"]


@dataclass
class ReconcileReport:
    adopted: list[tuple[str, str]] = field(default_factory=list)  # (our id, vendor job id)
    never_created: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # recent intents left alone
    foreign: list[Job] = field(default_factory=list)
    untagged: dict[str, int] = field(default_factory=dict)  # provider -> count

    def to_dict(self) -> dict[str, Any]:
        return {
            "adopted": [{"id": a, "vendor_job_id": v} for a, v in self.adopted],
            "never_created": self.never_created,
            "in_flight": self.in_flight,
            "foreign": [{"provider": j.provider, "vendor_job_id": j.id, "client_ref": j.client_ref,
                         "status": j.status} for j in self.foreign],
            "untagged": self.untagged,
        }


def reconcile(orch: Orchestrator, *, provider: str | None = None,
              grace: float = 120.0) -> ReconcileReport:
    ledger = orch.ledger
    report = ReconcileReport()
    records = [r for r in ledger.iter_all() if provider is None or r.provider == provider]
    names = sorted({r.provider for r in records} | ({provider} if provider else set()))
    cutoff = datetime.now(UTC) - timedelta(seconds=grace)
    for name in names:
        adapter = orch.provider(name)
        vendor_jobs = list(adapter.list_jobs())
        by_ref = {j.client_ref: j for j in vendor_jobs if j.client_ref}
        ours = {r.client_ref for r in records if r.provider == name}
        for rec in records:
            if rec.provider != name or rec.vendor_job_id is not None:
                continue
            job = by_ref.get(rec.client_ref)
            if job is not None:
                # Through `apply`, not a bare status write: the adopted job may have moved on
                # (even finished) meanwhile, and a watcher fetches events (and prices a success)
                # only on a status change it sees itself, so they would never be recorded.
                orch.apply(rec, job)
                ledger.note(rec.id, f"reconcile: adopted {name} job {job.id}, created before"
                                    " the submission was interrupted")
                report.adopted.append((rec.id, job.id))
            elif rec.status in ("failed", "cancelled"):
                continue  # resolved by an earlier run (a late job would have been adopted above)
            elif rec.created_at > cutoff:
                report.in_flight.append(rec.id)
            else:
                ledger.update_fields(rec.id, status="failed", raw_status="never_created",
                                     error_kind="unknown", error_code="never_created",
                                     error_message="the submission stopped before the vendor"
                                     " created a job; nothing was created or billed: submit again")
                ledger.note(rec.id, "reconcile: no job at the vendor carries this reference")
                report.never_created.append(rec.id)
        report.foreign.extend(j for j in vendor_jobs if j.client_ref and j.client_ref not in ours)
        report.untagged[name] = sum(1 for j in vendor_jobs if not j.client_ref)
    return report

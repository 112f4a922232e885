"""Submitting a job, refreshing it, and waiting for it: the typed entry point for scripts.

    from tuneops.orchestrator import Orchestrator, SubmitRequest

    with Orchestrator(sandbox=True) as orch:
        job = orch.submit(SubmitRequest(file="train.jsonl", provider="openai",
                                        model="gpt-4o-mini-2024-07-18"))
        job = orch.wait(job.id)
        print(job.fine_tuned_model, job.trained_tokens, job.billed_cost)

Submit steps, in order: validate with the provider's rule pack (refuse on errors) -> convert when
the file is in another vendor's format -> estimate -> budget guard -> record the intent in the
ledger -> upload (skipped when the ledger knows the same content at this provider and the vendor
still has it) -> create the job carrying the ledger id as its reference -> record the vendor job.
A process killed after the intent leaves a ledger row whose reference finds the vendor's job.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneops.datasets.estimate import Estimate
from tuneops.errors import BudgetExceededError, DataValidationError, NotFoundError
from tuneops.orchestrator.ledger import JobRecord, Ledger
from tuneops.paths import state_dir
from tuneops.providers.base import Provider
from tuneops.providers.models import Job, JobSpec

if TYPE_CHECKING:
    from tuneops.datasets.convert import ConversionReport
    from tuneops.orchestrator.migrate import MigrationPlan

__all__ = ["Orchestrator", "SubmitRequest", "sha256_of"]

MAX_ERRORS_SHOWN = 5


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class SubmitRequest:
    file: str | Path
    provider: str
    model: str
    method: str = "sft"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None
    validation_file: str | Path | None = None
    suffix: str | None = None
    seed: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    max_cost: float | None = None
    parent_id: str | None = None  # the ledger job this one is migrated from


class Orchestrator:
    """Submits and follows jobs, recording everything in the ledger.

    `sandbox=True` talks to the in-process emulator (no key, no spend); `provider_factory` lets
    tests and scripts supply their own adapter instances.
    """

    def __init__(
        self,
        ledger: Ledger | None = None,
        *,
        sandbox: bool = False,
        sandbox_speed: float = 1000.0,
        provider_factory: Callable[[str], Provider] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ledger = ledger or Ledger.open()
        self.sandbox = sandbox
        self.sandbox_speed = sandbox_speed
        self._factory = provider_factory
        self._providers: dict[str, Provider] = {}
        self._sleep = sleep

    def close(self) -> None:
        for p in self._providers.values():
            p.close()
        self._providers.clear()

    def __enter__(self) -> Orchestrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- providers -------------------------------------------------------------------------------

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            self._providers[name] = self._make_provider(name)
        return self._providers[name]

    def _make_provider(self, name: str) -> Provider:
        if self._factory is not None:
            return self._factory(name)
        from tuneops.providers.registry import provider_class

        cls = provider_class(name)
        if not self.sandbox:
            return cls()
        from tuneops.providers.sandbox import SandboxTransport

        return cls.sandboxed(SandboxTransport(speed=self.sandbox_speed))  # the default store dir

    @staticmethod
    def _account(p: Provider) -> str:
        return str(getattr(p, "base_url", "") or p.name)

    # -- submit ----------------------------------------------------------------------------------

    def prepare(self, req: SubmitRequest) -> tuple[Path, Estimate | None, Any]:
        """Validate, convert if needed, and estimate; raises before anything is sent or recorded.
        Returns the file to upload, the estimate (None when no price is on record) and the
        conversion report (None when no conversion was needed)."""
        from tuneops.datasets.detect import detect_format
        from tuneops.datasets.rules import get_pack

        path = Path(req.file)
        pack = get_pack(req.provider, req.method)
        conversion = None
        upload_path = path
        fmt = detect_format(path)
        if fmt != pack.record_format:
            from tuneops.datasets.convert import convert_file

            out_dir = state_dir() / "converted"
            out_dir.mkdir(parents=True, exist_ok=True)
            upload_path = out_dir / f"{sha256_of(path)[:16]}-{pack.provider}-{pack.method}.jsonl"
            conversion = convert_file(path, upload_path, to_provider=pack.provider,
                                      to_method=pack.method, from_format=fmt)
        self._validate(upload_path, path, req, pack.title)
        if req.validation_file is not None:
            vpath = Path(req.validation_file)
            if detect_format(vpath) != pack.record_format:
                raise DataValidationError(
                    f"{vpath} is not in {pack.provider}'s format",
                    hint=f"convert it first: `tuneops convert {vpath} --to {pack.provider} -o ...`")
            self._validate(vpath, vpath, req, pack.title, dataset_rules=False)
        from tuneops.datasets.estimate import estimate_file
        from tuneops.errors import UnknownModelError, UsageError

        est: Estimate | None = None
        try:
            est, est_report = estimate_file(upload_path, provider=req.provider, model=req.model,
                                            method=req.method, epochs=req.epochs)
            est_report.close()
        except (UnknownModelError, UsageError):
            if req.max_cost is not None:
                raise
        if req.max_cost is not None and est is not None and est.cost_max > req.max_cost:
            raise BudgetExceededError(
                f"estimated cost up to {est.cost_max:,.2f} {est.price.currency} is over the"
                f" --max-cost of {req.max_cost:,.2f}", hint="raise --max-cost or trim the data")
        return upload_path, est, conversion

    @staticmethod
    def _validate(path: Path, shown_as: Path, req: SubmitRequest, title: str,
                  dataset_rules: bool = True) -> None:
        from tuneops.datasets.engine import ValidationOptions, validate_file

        with validate_file(path, ValidationOptions(provider=req.provider,
                                                   method=req.method)) as report:
            errors = [f for f in report.findings() if f.severity == "error"
                      and (dataset_rules or f.line is not None)]
            if errors:
                where = "; ".join(f"line {f.line}: {f.rule}" if f.line else f.rule
                                  for f in errors[:MAX_ERRORS_SHOWN])
                raise DataValidationError(
                    f"{shown_as} has {len(errors):,} error(s) under {title} rules ({where})",
                    hint=f"see `tuneops validate {shown_as} --provider {req.provider}`; nothing"
                    " was uploaded or submitted")

    def submit(self, req: SubmitRequest, *, confirm: Callable[[Estimate | None], bool] | None = None,
               progress: Callable[[int, int], None] | None = None,
               on_step: Callable[[str], None] | None = None,
               on_conversion: Callable[[ConversionReport], None] | None = None) -> JobRecord:
        """Run the whole pipeline. `on_conversion(report)` sees the lossiness report when the
        data had to be converted to the vendor's format, before anything is sent. `on_step(name)`
        is called after each durable step ("prepared", "intent", "uploaded", "created",
        "recorded"): crash tests kill the process there and check that `reconcile` resolves what
        is left."""
        step = on_step or (lambda _name: None)
        upload_path, est, conversion = self.prepare(req)
        if conversion is not None and on_conversion is not None:
            on_conversion(conversion)
        step("prepared")
        if confirm is not None and not confirm(est):
            raise BudgetExceededError("submission declined", hint="nothing was uploaded or submitted")
        provider = self.provider(req.provider)
        sha = sha256_of(upload_path)
        record = self.ledger.record_intent(
            provider=provider.name, endpoint=self._account(provider), base_model=req.model,
            method=req.method, sandbox=self.sandbox, labels=req.labels or None,
            hyperparameters_requested={k: v for k, v in {
                "epochs": req.epochs, "batch_size": req.batch_size,
                "learning_rate_multiplier": req.learning_rate_multiplier}.items() if v is not None},
            dataset_path=str(Path(req.file).resolve()), dataset_sha256=sha,
            validation_path=(None if req.validation_file is None
                             else str(Path(req.validation_file).resolve())),
            parent_id=req.parent_id,
            dataset_examples=est.valid_examples if est else None,
            dataset_tokens=est.dataset_tokens if est else None,
            estimated_cost=est.cost_expected if est else None,
            currency=est.price.currency if est else None,
        )
        step("intent")
        file_id = self._upload(provider, upload_path, sha, progress)
        validation_id = None
        if req.validation_file is not None:
            vpath = Path(req.validation_file)
            validation_id = self._upload(provider, vpath, sha256_of(vpath), None)
        self.ledger.update_fields(record.id, training_file_id=file_id,
                                  validation_file_id=validation_id)
        step("uploaded")
        spec = JobSpec(base_model=req.model, training_file=file_id, method=req.method,
                       validation_file=validation_id,
                       epochs=req.epochs, batch_size=req.batch_size,
                       learning_rate_multiplier=req.learning_rate_multiplier, suffix=req.suffix,
                       seed=req.seed, client_ref=record.client_ref, labels=req.labels)
        job = provider.create_job_safely(spec)
        step("created")
        updated, _ = self.ledger.record_vendor_job(record.id, job)
        step("recorded")
        return updated

    def plan_migration(self, ref: str, *, to: str, model: str, **settings: Any) -> MigrationPlan:
        """What `migrate` would submit for ledger job `ref` (our id or the vendor's)."""
        from tuneops.orchestrator.migrate import plan_migration

        return plan_migration(self.ledger.get(ref), to=to, model=model, **settings)

    def migrate(self, plan: MigrationPlan, **submit_options: Any) -> JobRecord:
        """Submit a migration plan through the normal pipeline (`submit`'s options apply); the
        new job's `parent_id` is the source job."""
        return self.submit(plan.request, **submit_options)

    def _upload(self, provider: Provider, path: Path, sha: str,
                progress: Callable[[int, int], None] | None) -> str:
        account = self._account(provider)
        known = self.ledger.find_upload(provider=provider.name, account=account, sha256=sha)
        if known is not None and self._vendor_has_file(provider, known):
            return known
        uploaded = provider.upload_file(path, progress=progress)
        self.ledger.record_upload(provider=provider.name, account=account, sha256=sha,
                                  file_id=uploaded.id, size=os.path.getsize(path))
        return uploaded.id

    @staticmethod
    def _vendor_has_file(provider: Provider, file_id: str) -> bool:
        has = getattr(provider, "has_file", None)
        if has is None:
            return False
        try:
            return bool(has(file_id))
        except NotFoundError:
            return False

    # -- follow ----------------------------------------------------------------------------------

    def refresh(self, ref: str) -> JobRecord:
        """Ask the vendor now; record status changes, new events, and on success the cost."""
        record = self.ledger.get(ref)
        if record.vendor_job_id is None:
            return record
        job = self.provider(record.provider).get_job(record.vendor_job_id)
        return self.apply(record, job)[0]

    def apply(self, record: JobRecord, job: Job, *, all_events: bool = True
              ) -> tuple[JobRecord, bool]:
        """Record what the vendor says about a job: its state, its events (all of them, or only
        when the status changed), and on success the billed cost. Returns the updated record and
        whether the status changed."""
        provider = self.provider(record.provider)
        updated, _ = self.ledger.record_vendor_job(record.id, job)
        status_changed = updated.status != record.status
        if provider.supports_events and (all_events or status_changed):
            # vendors list events newest first; the history is kept in time order
            self.ledger.add_events(record.id, reversed(list(provider.list_events(job.id))))
        if job.is_final and job.status == "succeeded" and updated.billed_cost is None:
            updated = self._record_billed_cost(updated)
        return updated, status_changed

    def _record_billed_cost(self, record: JobRecord) -> JobRecord:
        if record.trained_tokens is None or record.base_model is None:
            return record
        from tuneops.datasets.cost import load_prices
        from tuneops.errors import UnknownModelError

        try:
            price = load_prices().lookup(record.provider, record.base_model, record.method or "sft")
        except UnknownModelError:
            return record
        return self.ledger.update_fields(
            record.id, billed_cost=record.trained_tokens * price.price_per_1m_tokens / 1e6,
            currency=price.currency, cost_basis=f"billed tokens x price table ({price.as_of})")

    def cancel(self, ref: str) -> JobRecord:
        """Cancel a job at its vendor and record the answer."""
        record = self.ledger.get(ref)
        if record.vendor_job_id is None:
            from tuneops.errors import UsageError

            raise UsageError(f"{record.id} was never created at {record.provider}",
                             hint="`tuneops reconcile` resolves interrupted submissions")
        job = self.provider(record.provider).cancel_job(record.vendor_job_id)
        updated, _ = self.ledger.record_vendor_job(record.id, job)
        return updated

    def wait(self, ref: str, *, timeout: float | None = None,
             on_update: Callable[[JobRecord], None] | None = None) -> JobRecord:
        """Poll until the job is final (a success counts once its model id is known): fast at
        first, backing off to a minute."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.05 if self.sandbox else 5.0
        last = None
        while True:
            record = self.refresh(ref)
            if on_update is not None and (last is None or record.raw_status != last):
                on_update(record)
            last = record.raw_status
            final = record.status in ("failed", "cancelled") or (
                record.status == "succeeded" and record.fine_tuned_model is not None)
            if final:
                return record
            if deadline is not None and time.monotonic() > deadline:
                return record
            self._sleep(delay)
            delay = min(60.0, delay * 1.5)

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
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneops.datasets.estimate import Estimate
from tuneops.errors import BudgetExceededError, DataValidationError, NotFoundError, UsageError
from tuneops.orchestrator.ledger import JobRecord, Ledger, answer_mismatch, new_job_id
from tuneops.paths import state_dir
from tuneops.providers.base import Provider
from tuneops.providers.models import Job, JobSpec
from tuneops.redaction import url_without_password

if TYPE_CHECKING:
    from tuneops.datasets.convert import ConversionReport
    from tuneops.orchestrator.migrate import MigrationPlan

__all__ = ["Orchestrator", "Quote", "SubmitRequest", "sha256_of"]

Quote = tuple[float, str]  # a vendor's own price for a job: (amount, ISO currency)

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


def _needs_normalizing(fmt: str, provider: str, method: str) -> bool:
    """True when `provider` shares OpenAI's chat record shape but not all of its rules (Mistral's
    9-character tool-call ids, Together's alternating turns...): the converter rewrites such data
    for the target (with its report) instead of submit refusing data another vendor accepts."""
    from tuneops.datasets.formats.chat_targets import OPENAI_TARGET, chat_target

    return fmt.startswith("openai-") and chat_target(provider, method) != OPENAI_TARGET


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

    def provider_for(self, record: JobRecord) -> Provider:
        """The adapter for the endpoint `record`'s job was sent to: a job is followed where it
        was sent, whatever OPENAI_BASE_URL and the like say now."""
        return self.provider_at(record.provider, record.endpoint)

    def provider_at(self, name: str, endpoint: str | None) -> Provider:
        current = self.provider(name)
        if (self._factory is not None or self.sandbox or not endpoint or "://" not in endpoint
                or self._account(current) == endpoint):
            return current
        key = f"{name} at {endpoint}"
        if key not in self._providers:
            from tuneops.providers.registry import provider_class

            cls = provider_class(name)
            if ":***@" in endpoint:
                raise UsageError(f"this {name} job was sent to {endpoint}, and tuneops stores no"
                                 " password", hint=f"set {cls.base_url_env or 'the base URL'} to"
                                 " that URL, with its password, to follow it")
            self._providers[key] = cls.at(endpoint)
        return self._providers[key]

    @staticmethod
    def _account(p: Provider) -> str:
        # stored in the ledger and shown by list/show/export: never with a password in it
        return url_without_password(p.base_url or p.name) or p.name

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
        if fmt != pack.record_format or _needs_normalizing(fmt, pack.provider, pack.method):
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
            from tuneops.providers.registry import provider_class

            # without a price on record, --max-cost needs the vendor's own quote (after upload)
            if req.max_cost is not None and not provider_class(req.provider).supports_server_estimate:
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

    def submit(self, req: SubmitRequest, *,
               confirm: Callable[[Estimate | None, Quote | None], bool] | None = None,
               progress: Callable[[int, int], None] | None = None,
               on_step: Callable[[str], None] | None = None,
               on_conversion: Callable[[ConversionReport], None] | None = None) -> JobRecord:
        """Run the whole pipeline. `on_conversion(report)` sees the lossiness report when the
        data had to be converted to the vendor's format, before anything is sent;
        `confirm(estimate, quote)` may refuse (`quote` is the vendor's own price, (amount,
        currency), for vendors that quote one). `on_step(name)` is called after each durable step
        ("prepared", "intent", "uploaded", "created", "recorded"): crash tests kill the process
        there and check that `reconcile` resolves what is left."""
        step = on_step or (lambda _name: None)
        upload_path, est, conversion = self.prepare(req)
        if conversion is not None and on_conversion is not None:
            on_conversion(conversion)
        step("prepared")
        provider = self.provider(req.provider)
        sha = sha256_of(upload_path)
        job_id = new_job_id()
        quote: Quote | None = None
        notes: list[str] = []
        files: tuple[str, str | None] | None = None
        if provider.supports_server_estimate:
            # The vendor prices an uploaded file, so upload first: a crash here leaves only a
            # file, which the next submission of the same data reuses.
            files = self._upload_all(provider, upload_path, sha, req, progress)
            quote, why = self._quote(provider, self._spec(req, *files, client_ref=job_id))
            if why:
                notes.append(f"no price quote from {provider.name}: {why}")
            if quote is not None and req.max_cost is not None and quote[0] > req.max_cost:
                raise BudgetExceededError(
                    f"{provider.name} quotes {quote[0]:,.2f} {quote[1]}, over the --max-cost of"
                    f" {req.max_cost:,.2f}", hint="raise --max-cost or trim the data; nothing"
                    " was submitted (the file stays uploaded and is reused next time)")
        if confirm is not None and not confirm(est, quote):
            raise BudgetExceededError("submission declined", hint="nothing was submitted")
        record = self.ledger.record_intent(
            job_id=job_id, provider=provider.name, endpoint=self._account(provider),
            base_model=req.model, method=req.method, sandbox=self.sandbox,
            labels=req.labels or None,
            hyperparameters_requested={k: v for k, v in {
                "epochs": req.epochs, "batch_size": req.batch_size,
                "learning_rate_multiplier": req.learning_rate_multiplier}.items() if v is not None},
            dataset_path=str(Path(req.file).resolve()), dataset_sha256=sha,
            validation_path=(None if req.validation_file is None
                             else str(Path(req.validation_file).resolve())),
            parent_id=req.parent_id,
            dataset_examples=est.valid_examples if est else None,
            dataset_tokens=est.dataset_tokens if est else None,
            # the vendor's quote, when it gives one, over our table's estimate
            estimated_cost=quote[0] if quote else est.cost_expected if est else None,
            currency=quote[1] if quote else est.price.currency if est else None,
        )
        for note in notes:
            self.ledger.note(record.id, note)
        if quote is not None:
            self.ledger.note(record.id, f"{provider.name} quotes {quote[0]:,.4f} {quote[1]}")
        step("intent")
        if files is None:
            files = self._upload_all(provider, upload_path, sha, req, progress)
        file_id, validation_id = files
        self.ledger.update_fields(record.id, training_file_id=file_id,
                                  validation_file_id=validation_id)
        step("uploaded")
        job = provider.create_job_safely(self._spec(req, file_id, validation_id,
                                                    client_ref=record.client_ref))
        step("created")
        updated, _ = self.ledger.record_vendor_job(record.id, job)
        step("recorded")
        return updated

    def quote(self, req: SubmitRequest) -> tuple[Estimate | None, Quote | None, str]:
        """Our estimate and the vendor's own quote for `req` (None and why, when it gives
        none). The vendor prices an uploaded file: the data is validated, converted and uploaded
        (once: later submissions reuse it), nothing else is created."""
        from tuneops.errors import CapabilityError

        upload_path, est, _ = self.prepare(req)
        provider = self.provider(req.provider)
        if not provider.supports_server_estimate:
            raise CapabilityError(f"{provider.name} gives no price quote before a job runs",
                                  provider=provider.name, hint="drop --quote: the estimate"
                                  " comes from the dated price table")
        files = self._upload_all(provider, upload_path, sha256_of(upload_path), req, None)
        quote, why = self._quote(provider, self._spec(req, *files, client_ref=new_job_id()))
        return est, quote, why

    @staticmethod
    def _spec(req: SubmitRequest, file_id: str, validation_id: str | None, *, client_ref: str
              ) -> JobSpec:
        return JobSpec(base_model=req.model, training_file=file_id, method=req.method,
                       validation_file=validation_id, epochs=req.epochs, batch_size=req.batch_size,
                       learning_rate_multiplier=req.learning_rate_multiplier, suffix=req.suffix,
                       seed=req.seed, client_ref=client_ref, labels=req.labels)

    def _upload_all(self, provider: Provider, path: Path, sha: str, req: SubmitRequest,
                    progress: Callable[[int, int], None] | None) -> tuple[str, str | None]:
        file_id = self._upload(provider, path, sha, progress)
        validation_id = None
        if req.validation_file is not None:
            vpath = Path(req.validation_file)
            validation_id = self._upload(provider, vpath, sha256_of(vpath), None)
        return file_id, validation_id

    @staticmethod
    def _quote(provider: Provider, spec: JobSpec) -> tuple[Quote | None, str]:
        """The vendor's price for `spec`, or None and why not (a quote is advice: its failure
        does not stop the submission; the budget guard then uses our own estimate)."""
        from tuneops.errors import ProviderError

        try:
            return provider.server_estimate(spec), ""
        except ProviderError as exc:
            return None, exc.message

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
        job = self.provider_for(record).get_job(record.vendor_job_id)
        return self.apply(record, job)[0]

    def apply(self, record: JobRecord, job: Job, *, all_events: bool = True
              ) -> tuple[JobRecord, bool]:
        """Record what the vendor says about a job: its state, its events (all of them, or only
        when the status changed), and on success the billed cost. Returns the updated record and
        whether the status changed."""
        why = answer_mismatch(record.vendor_job_id, job.id)
        if why is not None:
            # an answer about another vendor job (stale, or a vendor's mix-up): nothing of it is
            # written, neither events nor cost nor state (the ledger refuses it too)
            logging.getLogger("tuneops").warning("%s: %s", record.id, why)
            return record, False
        provider = self.provider_for(record)
        status_changed = job.status != record.status
        events = None
        if provider.supports_events and (all_events or status_changed or job.is_final):
            # Also when the job is final: no watcher looks at it again, and the watcher that
            # saw the status change may have seen it before the last events (a success whose
            # model id came later, a concurrent watcher's older read).
            # Fetched BEFORE the status is written: a watcher fetches events only when the status
            # changes, so if the listing failed after the write (a vendor error, a crash), the
            # next pass would see no change and the events would never be recorded.
            events = list(provider.list_events(job.id))
        if events is not None:
            # Recorded before the status, for the same reason: a process killed between the two
            # writes leaves the status unchanged, so the next pass fetches the events again
            # (each is recorded once). Vendors list events newest first; the history is kept in
            # time order.
            self.ledger.add_events(record.id, reversed(events))
        if (job.is_final and job.status == "succeeded" and job.cost is None
                and record.billed_cost is None):
            # Priced before the success is written, for the same reason: once the ledger shows
            # it finished, no watcher looks at the job again.
            self._record_billed_cost(record, job.trained_tokens)
        updated, _ = self.ledger.record_vendor_job(record.id, job)
        return updated, status_changed

    def _record_billed_cost(self, record: JobRecord, trained_tokens: int | None) -> JobRecord:
        if trained_tokens is None or record.base_model is None:
            return record
        from tuneops.datasets.cost import load_prices
        from tuneops.errors import UnknownModelError

        try:
            price = load_prices().lookup(record.provider, record.base_model, record.method or "sft")
        except UnknownModelError:
            return record
        return self.ledger.update_fields(
            record.id, billed_cost=trained_tokens * price.price_per_1m_tokens / 1e6,
            currency=price.currency, cost_basis=f"billed tokens x price table ({price.as_of})")

    def cancel(self, ref: str) -> JobRecord:
        """Cancel a job at its vendor and record the answer."""
        record = self.ledger.get(ref)
        if record.vendor_job_id is None:
            from tuneops.errors import UsageError

            raise UsageError(f"{record.id} was never created at {record.provider}",
                             hint="`tuneops reconcile` resolves interrupted submissions")
        job = self.provider_for(record).cancel_job(record.vendor_job_id)
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

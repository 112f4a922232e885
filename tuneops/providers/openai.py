"""OpenAI fine-tuning, through the official `openai` SDK (which speaks httpx2).

Also serves OpenAI-compatible fine-tuning endpoints (Azure OpenAI / Microsoft Foundry, Amazon
Bedrock's OpenAI-compatible endpoint, the tuneops sandbox): give `base_url` and that endpoint's key.

API reference: https://platform.openai.com/docs/api-reference/fine-tuning
Uploads API (files over 512 MB, parts of at most 64 MB):
https://platform.openai.com/docs/api-reference/uploads
OpenAI accepts no new fine-tuning jobs from 2027-01-06 (on api.openai.com; compatible endpoints
keep their own schedules).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

from tuneops.errors import (
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    VendorConnectionError,
    VendorServerError,
    VendorTimeoutError,
    VendorUnavailableError,
    error_class_for_status,
)
from tuneops.providers.base import DEFAULT_TIMEOUT, Provider
from tuneops.providers.credentials import Secret, resolve_key, sent_credentials
from tuneops.providers.models import (
    Checkpoint,
    ErrorKind,
    Job,
    JobError,
    JobEvent,
    JobSpec,
    JobStatus,
    UploadedFile,
    VendorNote,
    reads,
    utc_from_timestamp,
    vendor_id,
)
from tuneops.providers.retry import RetryPolicy, parse_retry_after
from tuneops.redaction import redact_exception, url_without_password

__all__ = [
    "NO_NEW_JOBS_FROM",
    "OpenAIProvider",
    "checkpoint_from_openai",
    "event_from_openai",
    "file_from_openai",
    "job_from_openai",
    "status_from_openai",
    "vendor_errors",
]

NO_NEW_JOBS_FROM = date(2027, 1, 6)
DEFAULT_BASE_URL = "https://api.openai.com/v1"
SANDBOX_BASE_URL = "http://sandbox.tuneops/openai/v1"
REF_KEY = "tuneops_ref"
FILES_API_LIMIT = 512 * 1024 * 1024
PART_SIZE = 64 * 1024 * 1024

# https://platform.openai.com/docs/api-reference/fine-tuning/object (status), plus the pause
# states the API added later; anything else is kept raw and treated as not finished.
_STATUS: dict[str, JobStatus] = {
    "validating_files": "validating",
    "queued": "queued",
    "running": "running",
    "pausing": "running",
    "paused": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}


def status_from_openai(raw: str) -> tuple[JobStatus, str | None]:
    """Normalized status and, for a status we do not know, a warning (never an exception)."""
    status = _STATUS.get(raw)
    if status is None:
        return "pending", f"unknown OpenAI job status {raw!r}: treated as not finished"
    return status, None


def _error_kind(code: str | None) -> ErrorKind:
    c = (code or "").lower()
    if any(w in c for w in ("file", "format", "invalid", "example", "token", "data")):
        return "data"
    if any(w in c for w in ("quota", "billing", "limit", "budget")):
        return "quota"
    if any(w in c for w in ("auth", "permission", "key")):
        return "auth"
    if any(w in c for w in ("server", "internal", "timeout", "unavailable")):
        return "vendor"
    return "unknown"


def _method_and_hparams(raw: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    method = raw.get("method") or {}
    kind = method.get("type")
    name = None if kind is None else {"supervised": "sft", "reinforcement": "rft"}.get(kind, kind)
    hp = dict(raw.get("hyperparameters") or {})
    section = method.get(kind) if isinstance(kind, str) else None
    if isinstance(section, dict) and isinstance(section.get("hyperparameters"), dict):
        hp.update(section["hyperparameters"])
    return name, {k: v for k, v in hp.items() if v is not None}


@reads("openai", "OpenAI's answer")
def job_from_openai(raw: dict[str, Any]) -> Job:
    """A Job from an OpenAI `fine_tuning.job` payload (the SDK object's `model_dump()`)."""
    try:
        status, warning = status_from_openai(str(raw["status"]))
        err = raw.get("error")
        error = None
        if isinstance(err, dict) and (err.get("message") or err.get("code")):
            error = JobError(kind=_error_kind(err.get("code")), code=err.get("code"),
                             message=err.get("message") or "", param=err.get("param"))
        method, hparams = _method_and_hparams(raw)
        metadata = raw.get("metadata") or {}
        return Job(
            provider="openai",
            id=vendor_id(raw["id"]),
            status=status,
            raw_status=str(raw["status"]),
            base_model=raw.get("model"),
            method=method,
            fine_tuned_model=raw.get("fine_tuned_model"),
            trained_tokens=raw.get("trained_tokens"),
            error=error,
            created_at=utc_from_timestamp(raw.get("created_at")),
            finished_at=utc_from_timestamp(raw.get("finished_at")),
            estimated_finish=utc_from_timestamp(raw.get("estimated_finish")),
            training_file=raw.get("training_file"),
            validation_file=raw.get("validation_file"),
            hyperparameters=hparams,
            client_ref=metadata.get(REF_KEY),
            result_files=list(raw.get("result_files") or []),
            warnings=[warning] if warning else [],
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponseError(f"OpenAI returned a job that cannot be read: {exc!r}",
                                     provider="openai", body=raw) from exc


@reads("openai", "OpenAI's answer")
def event_from_openai(job_id: str, raw: dict[str, Any]) -> JobEvent:
    return JobEvent(provider="openai", job_id=job_id, id=vendor_id(raw["id"]),
                    created_at=utc_from_timestamp(raw.get("created_at")),
                    level=str(raw.get("level") or "info"), message=str(raw.get("message") or ""),
                    data=raw.get("data") or {})


@reads("openai", "OpenAI's answer")
def checkpoint_from_openai(job_id: str, raw: dict[str, Any]) -> Checkpoint:
    metrics = {k: float(v) for k, v in (raw.get("metrics") or {}).items()
               if isinstance(v, int | float)}
    return Checkpoint(provider="openai", job_id=job_id, id=vendor_id(raw["id"]),
                      step=raw.get("step_number"), model=raw.get("fine_tuned_model_checkpoint"),
                      created_at=utc_from_timestamp(raw.get("created_at")), metrics=metrics)


@reads("openai", "OpenAI's answer")
def file_from_openai(raw: dict[str, Any]) -> UploadedFile:
    return UploadedFile(provider="openai", id=vendor_id(raw["id"]), bytes=raw.get("bytes"),
                        filename=raw.get("filename"), status=raw.get("status"),
                        created_at=utc_from_timestamp(raw.get("created_at")), raw=raw)


def _next_cursor(endpoint: str, items: list[dict[str, Any]], sent: set[str]) -> str:
    """The `after` cursor for the page after `items` (a page that said `has_more: true`).

    The published spec lets a server answer `has_more: true` whatever it sent before; one that
    keeps doing so without moving on (the same last id again, or an empty page) would have us ask
    forever. A cursor that does not advance is an answer we cannot read: MalformedResponseError,
    after at most one repeated request. `sent` holds the cursors already sent, and grows."""
    cursor = items[-1].get("id") if items else None
    if not isinstance(cursor, str) or not cursor:
        raise MalformedResponseError(
            f"OpenAI's {endpoint} answered has_more=true with "
            + ("an empty page" if not items else f"a last item without an id ({cursor!r})")
            + f"; stopped paging after {len(sent) + 1} requests", provider="openai")
    if cursor in sent:
        raise MalformedResponseError(
            f"OpenAI's {endpoint} keeps answering has_more=true after {cursor!r}: the cursor does"
            f" not advance; stopped paging after {len(sent) + 1} requests", provider="openai")
    sent.add(cursor)
    return cursor


def _is_cancelled(job: Job) -> bool:
    return job.status == "cancelled"


def _is_paused(job: Job) -> bool:
    return job.raw_status in ("paused", "pausing")


def _is_resumed(job: Job) -> bool:
    # "pausing" maps to running but is on its way to paused
    return job.status in ("validating", "queued", "running") and job.raw_status != "pausing"


@contextlib.contextmanager
def vendor_errors() -> Iterator[None]:
    """Map the SDK's exceptions into ours, by HTTP status first; always chained."""
    import openai

    try:
        yield
    except openai.APIStatusError as exc:
        # the answer may repeat the key we sent (some vendors do): out of the SDK error too
        redact_exception(exc, sent_credentials(exc))
        status = exc.status_code
        ra = parse_retry_after(dict(exc.response.headers))
        cls = error_class_for_status(status)
        raise cls(f"OpenAI answered {status}: {exc.message}", provider="openai",
                  status_code=status, body=exc.body, retry_after=ra) from exc
    except openai.APITimeoutError as exc:
        raise VendorTimeoutError("OpenAI did not answer in time", provider="openai") from exc
    except openai.APIConnectionError as exc:
        raise VendorConnectionError(f"could not reach OpenAI: {exc.message}",
                                    provider="openai") from exc
    except openai.APIResponseValidationError as exc:
        redact_exception(exc, sent_credentials(exc))
        raise MalformedResponseError(f"OpenAI's answer does not match its schema: {exc.message}",
                                     provider="openai", body=exc.body) from exc


class OpenAIProvider(Provider):
    name = "openai"
    title = "OpenAI (and OpenAI-compatible endpoints)"
    methods = ("sft", "dpo")
    supports_pause = True
    supports_events = True
    supports_checkpoints = True
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"  # the openai SDK reads it too
    notes = (VendorNote(date=NO_NEW_JOBS_FROM.isoformat(),
                        text="OpenAI accepts no new fine-tuning jobs from 2027-01-06"),)

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        http_client: Any = None,
        part_size: int = PART_SIZE,
        files_api_limit: int = FILES_API_LIMIT,
        upload_workers: int = 4,
        page_size: int = 100,
        today: Callable[[], date] = date.today,
    ) -> None:
        import openai

        super().__init__(retry=retry, timeout=timeout)
        key, self.key_source = resolve_key(self.name, self.key_env, api_key)
        self._key: Secret = key
        self.base_url = self.configured_url(base_url, DEFAULT_BASE_URL)
        self._shown_url = url_without_password(self.base_url)
        self.part_size = part_size
        self.files_api_limit = files_api_limit
        self.upload_workers = upload_workers
        self.page_size = page_size
        self._today = today
        # max_retries=0: retries happen in one place, ours (RetryPolicy).
        self.client = openai.OpenAI(api_key=key.reveal(), base_url=self.base_url,
                                    timeout=timeout, max_retries=0, http_client=http_client)

    @classmethod
    def sandboxed(cls, transport: Any, *, retry: RetryPolicy | None = None, **options: Any
                  ) -> OpenAIProvider:
        import httpx2

        return cls(api_key="sk-sandbox", base_url=SANDBOX_BASE_URL, retry=retry,
                   http_client=httpx2.Client(transport=transport), **options)

    def __repr__(self) -> str:
        return f"OpenAIProvider(base_url={self._shown_url!r}, key from {self.key_source})"

    def close(self) -> None:
        self.client.close()

    def _vendor_errors(self) -> AbstractContextManager[None]:
        return vendor_errors()

    # -- files -----------------------------------------------------------------------------------

    def upload_file(self, path: str | Path, *, progress: Callable[[int, int], None] | None = None
                    ) -> UploadedFile:
        p = Path(path)
        size = p.stat().st_size
        if size > self.files_api_limit:
            uploaded = self._upload_in_parts(p, size, progress)
        else:
            with p.open("rb") as f, vendor_errors():
                # not retried: a second POST would create a second file
                obj = self.client.files.create(file=(p.name, f), purpose="fine-tune")
            uploaded = file_from_openai(obj.model_dump())
            if progress is not None:
                progress(size, size)
        return self._wait_processed(uploaded)

    def has_file(self, file_id: str) -> bool:
        """Whether the vendor still holds a file (uploads are reused only while it does)."""
        try:
            self._get(self.client.files.retrieve, file_id)
        except NotFoundError:
            return False
        return True

    def _wait_processed(self, uploaded: UploadedFile, poll: float = 1.0,
                        limit: float = 600.0) -> UploadedFile:
        deadline = time.monotonic() + limit
        while uploaded.status not in (None, "processed", "error"):
            if time.monotonic() > deadline:
                raise VendorServerError(f"file {uploaded.id} still {uploaded.status!r} after"
                                        f" {limit:.0f} s", provider=self.name)
            self.retry.sleep(poll)
            uploaded = file_from_openai(self._get(self.client.files.retrieve, uploaded.id)
                                        .model_dump())
        if uploaded.status == "error":
            raise InvalidRequestError(f"OpenAI could not process file {uploaded.id}",
                                      provider=self.name, body=uploaded.raw)
        return uploaded

    def _upload_in_parts(self, p: Path, size: int,
                         progress: Callable[[int, int], None] | None) -> UploadedFile:
        md5 = hashlib.md5(usedforsecurity=False)
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                md5.update(block)
        with vendor_errors():
            upload = self.client.uploads.create(bytes=size, filename=p.name,
                                                mime_type="application/jsonl",
                                                purpose="fine-tune")
        offsets = list(range(0, size, self.part_size))
        done = 0

        def send(offset: int) -> str:
            nonlocal done
            with p.open("rb") as f:
                f.seek(offset)
                data = f.read(self.part_size)
            # a part sent twice is harmless: only the ids we list in `complete` are used
            part = self._get(self.client.uploads.parts.create, upload.id, data=data)
            done += len(data)
            if progress is not None:
                progress(done, size)
            return str(part.id)

        with ThreadPoolExecutor(max_workers=self.upload_workers) as pool:
            part_ids = list(pool.map(send, offsets))
        completed = self._get(self.client.uploads.complete, upload.id, part_ids=part_ids,
                              md5=md5.hexdigest())
        if completed.file is None:
            raise MalformedResponseError(f"upload {upload.id} completed without a file",
                                         provider=self.name, body=completed.model_dump())
        return file_from_openai(completed.file.model_dump())

    # -- jobs ------------------------------------------------------------------------------------

    def _create_job_once(self, spec: JobSpec) -> Job:
        if self.base_url.rstrip("/") == DEFAULT_BASE_URL and self._today() >= NO_NEW_JOBS_FROM:
            raise VendorUnavailableError(
                f"OpenAI accepts no new fine-tuning jobs since {NO_NEW_JOBS_FROM.isoformat()}",
                provider=self.name,
                hint="migrate the data to another provider (`tuneops convert --to ...`)")
        hp: dict[str, Any] = {}
        for ours, theirs in (("epochs", "n_epochs"), ("batch_size", "batch_size"),
                             ("learning_rate_multiplier", "learning_rate_multiplier"),
                             ("beta", "beta")):
            value = getattr(spec, ours)
            if value is not None:
                hp[theirs] = value
        kind = {"sft": "supervised", "dpo": "dpo"}.get(spec.method)
        if kind is None:
            raise InvalidRequestError(f"OpenAI has no {spec.method!r} method here",
                                      provider=self.name, hint="use sft or dpo")
        metadata = {**spec.labels, REF_KEY: spec.client_ref}
        kwargs: dict[str, Any] = {
            "model": spec.base_model, "training_file": spec.training_file,
            "method": {"type": kind, kind: {"hyperparameters": hp}},
            "metadata": metadata, "suffix": spec.suffix or spec.client_ref,
        }
        if spec.validation_file:
            kwargs["validation_file"] = spec.validation_file
        if spec.seed is not None:
            kwargs["seed"] = spec.seed
        if "integrations" in spec.extra:
            kwargs["integrations"] = spec.extra["integrations"]
        with vendor_errors():
            return job_from_openai(self.client.fine_tuning.jobs.create(**kwargs).model_dump())

    @reads("openai", "OpenAI's answer")
    def get_job(self, job_id: str) -> Job:
        return job_from_openai(self._get(self.client.fine_tuning.jobs.retrieve, job_id).model_dump())

    def _pages(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
               ) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paged list (jobs, events, checkpoints), one explicit page
        request at a time; every paging loop of this adapter goes through here. Not the SDK's
        auto-pagination: it follows `has_more` without checking that the cursor moves."""
        sent: set[str] = set()
        after: str | None = None
        while True:
            extra = {"after": after} if after is not None else {}
            page = self._get(fn, *args, limit=self.page_size, **kwargs, **extra)
            items = [item.model_dump() for item in page.data]
            yield from items
            if not getattr(page, "has_more", False):
                return
            after = _next_cursor(endpoint, items, sent)

    def _change_state(self, action: str, fn: Callable[..., Any], job_id: str,
                      reached: Callable[[Job], bool]) -> Job:
        """Cancel, pause or resume `job_id`, through the one retry layer (`RetryPolicy`; the SDK's
        own retries are off). The retry layer repeats the request after a dropped connection, a
        timeout or a 5xx, but such a failure is ambiguous: the vendor may have acted and only its
        answer was lost, and then the repeated request is refused (400 "already cancelled", "job
        is not running") although the job is where we asked it to be. So a refusal that follows
        an ambiguous failure is settled by re-reading the job: in the requested state, the call
        succeeded; otherwise (or if the job cannot be read) the refusal is raised as it was."""
        lost: list[ProviderError] = []

        def once() -> Any:
            try:
                with vendor_errors():
                    return fn(job_id)
            except (VendorConnectionError, VendorServerError) as exc:
                lost.append(exc)
                raise

        try:
            return job_from_openai(self.retry.call(once).model_dump())
        except InvalidRequestError as exc:
            if not lost:  # refused at the first answer we got: nothing was ambiguous
                raise
            refused = exc
        try:
            job: Job | None = self.get_job(job_id)
        except ProviderError:
            job = None
        if job is None or not reached(job):
            raise refused
        return job.model_copy(update={"warnings": [
            *job.warnings,
            f"the answer to {action} was lost ({lost[-1].message}) and the repeated request was"
            f" refused ({refused.message}); the job is {job.raw_status}, as requested",
        ]})

    @reads("openai", "OpenAI's answer")
    def list_jobs(self, *, client_ref: str | None = None) -> Iterator[Job]:
        meta = {"metadata": {REF_KEY: client_ref}} if client_ref else {}
        for raw in self._pages("GET /fine_tuning/jobs", self.client.fine_tuning.jobs.list,
                               **meta):
            yield job_from_openai(raw)

    @reads("openai", "OpenAI's answer")
    def cancel_job(self, job_id: str) -> Job:
        return self._change_state("cancel", self.client.fine_tuning.jobs.cancel, job_id,
                                  _is_cancelled)

    @reads("openai", "OpenAI's answer")
    def pause_job(self, job_id: str) -> Job:
        return self._change_state("pause", self.client.fine_tuning.jobs.pause, job_id,
                                  _is_paused)

    @reads("openai", "OpenAI's answer")
    def resume_job(self, job_id: str) -> Job:
        return self._change_state("resume", self.client.fine_tuning.jobs.resume, job_id,
                                  _is_resumed)

    @reads("openai", "OpenAI's answer")
    def list_events(self, job_id: str) -> Iterator[JobEvent]:
        for raw in self._pages(f"GET /fine_tuning/jobs/{job_id}/events",
                               self.client.fine_tuning.jobs.list_events, job_id):
            yield event_from_openai(job_id, raw)

    @reads("openai", "OpenAI's answer")
    def list_checkpoints(self, job_id: str) -> Iterator[Checkpoint]:
        for raw in self._pages(f"GET /fine_tuning/jobs/{job_id}/checkpoints",
                               self.client.fine_tuning.jobs.checkpoints.list, job_id):
            yield checkpoint_from_openai(job_id, raw)

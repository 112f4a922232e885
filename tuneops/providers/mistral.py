"""Mistral fine-tuning: files through the `mistralai` SDK, jobs over plain HTTP.

Mistral has deprecated its fine-tuning jobs API: the published OpenAPI spec
(https://docs.mistral.ai/api/, tag ``deprecated.fine-tuning``) still documents
``/v1/fine_tuning/jobs``, but mistralai >= 2.5.2 no longer ships a client for it. So the adapter
uses the SDK (over httpx2, its retries off) for the Files API, and its own httpx2 calls, on the
same client, for the jobs endpoints.

Vendor quirks this module handles:

- Mistral jobs have no metadata or labels field. The only free-text field that survives
  retrieval and listing is `suffix` (at most 18 characters, also filterable server-side with
  ``GET /v1/fine_tuning/jobs?suffix=``), so it carries our `client_ref`; a user suffix cannot be
  sent as well and is reported as ignored in the job's warnings.
- Jobs are created with ``auto_start=false`` and then started (``POST .../{id}/start``): the
  created job's `metadata` holds Mistral's price quote (cost, cost_currency, train_tokens), read
  before any training is paid for. `create_job_safely` starts the job it created or adopted.
- The price quote for `server_estimate` comes from ``POST /v1/fine_tuning/jobs?dry_run=true``
  (spec: "the job is not spawned", the answer is `LegacyJobMetadataOut`), so quoting leaves no
  stray job behind. Its `cost` may be null (no quote; `details` says why) or sit in `metadata`
  (`JobMetadataOut`, the job-shaped branch of the same response schema). The schema lets a
  creation be answered in the quote shape too: that names no job, and is a malformed answer.
- File objects may carry ``bytes: null`` (the spec's own examples do), which the SDK's models
  refuse: such answers are read from their JSON, and an unknown size is not a missing file.
- A failed validation (``FAILED_VALIDATION``) has no error field on the job; the reason, when
  Mistral gives one, is in the detailed job's status events.
- Request validation errors are 422 ``{"detail": [...]}``; service refusals are 422 with a plain
  string ``{"detail": "Model not available for this type of fine-tuning (completion)."}``
  (https://github.com/mistralai/client-python/issues/450).

API reference: https://docs.mistral.ai/api/ (endpoints ``files`` and ``deprecated.fine-tuning``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tuneops.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    VendorConnectionError,
    VendorTimeoutError,
    error_class_for_status,
)
from tuneops.providers.base import DEFAULT_TIMEOUT, Provider
from tuneops.providers.credentials import Secret, resolve_key, sent_credentials
from tuneops.providers.models import (
    Checkpoint,
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
from tuneops.redaction import redact, redact_exception

__all__ = [
    "DEFAULT_LEARNING_RATE",
    "DEPRECATION_NOTED",
    "SANDBOX_SERVER_URL",
    "MistralProvider",
    "checkpoint_from_mistral",
    "create_payload",
    "error_for_status",
    "event_from_mistral",
    "file_from_mistral",
    "job_from_mistral",
    "status_from_mistral",
    "vendor_errors",
]

DEFAULT_SERVER_URL = "https://api.mistral.ai"
SANDBOX_SERVER_URL = "http://sandbox.tuneops/mistral"
JOBS_PATH = "/v1/fine_tuning/jobs"
SUFFIX_MAX = 18  # spec: JobIn.suffix maxLength
# Spec default of CompletionTrainingParametersIn.learning_rate; our learning-rate multiplier
# (an OpenAI notion) scales it, since Mistral takes an absolute rate.
DEFAULT_LEARNING_RATE = 1e-4
# The spec states no date for the deprecation; this is the date tuneops found it documented
# (the deprecated text & vision fine-tuning guide and the spec's deprecated.fine-tuning tag,
# checked 2026-11-28, as in tuneops/datasets/rules/mistral.py).
DEPRECATION_NOTED = "2026-11-28"

# Spec: CompletionJobOut.status. VALIDATED waits for /start only when auto_start is false.
_STATUS: dict[str, JobStatus] = {
    "QUEUED": "queued",
    "VALIDATING": "validating",
    "STARTED": "queued",
    "RUNNING": "running",
    "CANCELLATION_REQUESTED": "running",  # winding down, not final yet
    "SUCCESS": "succeeded",
    "FAILED": "failed",
    "FAILED_VALIDATION": "failed",
    "CANCELLED": "cancelled",
}
_FINAL = {"SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"}
_BEFORE_START = {"QUEUED", "VALIDATING", "VALIDATED"}


def status_from_mistral(raw: str, auto_start: bool | None = None) -> tuple[JobStatus, str | None]:
    """Normalized status and, for a status we do not know, a warning (never an exception)."""
    if raw == "VALIDATED":
        # validated and waiting for POST .../start, or about to start by itself
        return ("pending" if auto_start is False else "queued"), None
    status = _STATUS.get(raw)
    if status is None:
        return "pending", f"unknown Mistral job status {raw!r}: treated as not finished"
    return status, None


def _reason(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in ("error", "message", "reason"):
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])
    return None


def _event_error(raw: dict[str, Any], status: str) -> str | None:
    """The reason given in the newest event of `status`, if any (the job has no error field)."""
    for event in raw.get("events") or ():
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict) and data.get("status") == status and _reason(data):
            return _reason(data)
    return None


def _event_time(raw: dict[str, Any], status: str) -> datetime | None:
    times: list[float] = [e["created_at"] for e in raw.get("events") or ()
                          if isinstance(e, dict) and isinstance(e.get("data"), dict)
                          and e["data"].get("status") == status
                          and isinstance(e.get("created_at"), int | float)]
    return utc_from_timestamp(min(times)) if times else None


@reads("mistral", "Mistral's answer")
def job_from_mistral(raw: dict[str, Any]) -> Job:
    """A Job from a Mistral `CompletionJobOut` / `CompletionDetailedJobOut` payload."""
    try:
        raw_status = str(raw["status"])
        status, warning = status_from_mistral(raw_status, raw.get("auto_start"))
        error = None
        if raw_status == "FAILED_VALIDATION":
            error = JobError(kind="data", code=raw_status, message=_event_error(raw, raw_status)
                             or "Mistral's validation of the training data failed")
        elif raw_status == "FAILED":
            error = JobError(kind="vendor", code=raw_status, message=_event_error(raw, raw_status)
                             or "Mistral reports the job failed")
        meta = raw.get("metadata") or {}
        hp = {k: v for k, v in (raw.get("hyperparameters") or {}).items() if v is not None}
        started = _event_time(raw, "RUNNING")
        finished = utc_from_timestamp(raw.get("modified_at")) if raw_status in _FINAL else None
        estimated = None
        expected = meta.get("expected_duration_seconds")
        if raw_status == "RUNNING" and started is not None and expected:
            estimated = utc_from_timestamp(started.timestamp() + float(expected))
        training = list(raw.get("training_files") or [])
        validation = list(raw.get("validation_files") or [])
        success = raw_status == "SUCCESS"
        return Job(
            provider="mistral",
            id=vendor_id(raw["id"]),
            status=status,
            raw_status=raw_status,
            base_model=raw.get("model"),
            method="sft" if raw.get("job_type", "completion") == "completion" else raw.get("job_type"),
            fine_tuned_model=raw.get("fine_tuned_model"),
            trained_tokens=raw.get("trained_tokens"),
            # metadata.cost is a quote until the job succeeds; only then is it what is billed
            cost=meta.get("cost") if success else None,
            currency=meta.get("cost_currency") if success and meta.get("cost") is not None else None,
            error=error,
            created_at=utc_from_timestamp(raw.get("created_at")),
            started_at=started,
            finished_at=finished,
            estimated_finish=estimated,
            training_file=str(training[0]) if training else None,
            validation_file=str(validation[0]) if validation else None,
            hyperparameters=hp,
            client_ref=raw.get("suffix") or None,
            warnings=[warning] if warning else [],
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponseError(f"Mistral returned a job that cannot be read: {exc!r}",
                                     provider="mistral", body=raw) from exc


@reads("mistral", "Mistral's answer")
def event_from_mistral(job_id: str, index: int, raw: dict[str, Any]) -> JobEvent:
    """`index` counts from the oldest event, so ids stay put as new events arrive."""
    data: dict[str, Any] = raw["data"] if isinstance(raw.get("data"), dict) else {}
    status = data.get("status")
    name = str(raw.get("name") or "event")
    message = f"status changed to {status}" if status else name
    reason = _reason(data)
    if reason:
        message += f": {reason}"
    level = "error" if status in ("FAILED", "FAILED_VALIDATION") else "info"
    return JobEvent(provider="mistral", job_id=job_id, id=f"{job_id}:{index}",
                    created_at=utc_from_timestamp(raw.get("created_at")), level=level,
                    message=message, data=dict(data))


@reads("mistral", "Mistral's answer")
def checkpoint_from_mistral(job_id: str, raw: dict[str, Any]) -> Checkpoint:
    metrics = {k: float(v) for k, v in (raw.get("metrics") or {}).items()
               if isinstance(v, int | float) and not isinstance(v, bool)}
    step = raw.get("step_number")
    return Checkpoint(provider="mistral", job_id=job_id, id=f"{job_id}:step-{step}", step=step,
                      created_at=utc_from_timestamp(raw.get("created_at")), metrics=metrics)


@reads("mistral", "Mistral's answer")
def file_from_mistral(raw: dict[str, Any]) -> UploadedFile:
    # Mistral files need no processing after upload: no status to wait for.
    return UploadedFile(provider="mistral", id=vendor_id(raw["id"]), bytes=raw.get("bytes"),
                        filename=raw.get("filename"), status=None,
                        created_at=utc_from_timestamp(raw.get("created_at")), raw=raw)


def _is_quote(answer: Any) -> bool:
    """Whether an answer to ``POST /v1/fine_tuning/jobs`` is the dry-run shape
    (`LegacyJobMetadataOut`: ``object: job.metadata``, a required `details`, no job id or status),
    which the spec allows for that endpoint whatever `dry_run` says."""
    return (isinstance(answer, dict) and "status" not in answer and "id" not in answer
            and (answer.get("object") == "job.metadata" or "details" in answer))


def _quote_from_mistral(answer: Any) -> tuple[float, str]:
    """The price in a dry-run answer: `LegacyJobMetadataOut` carries `cost` and `cost_currency`
    at the top (both nullable); a job-shaped answer carries them in `metadata` (`JobMetadataOut`,
    nullable too). A null price is no quote: the error says why (`details`, when Mistral gives
    it). A price without a currency is no quote either (its amount cannot be recorded as a
    price)."""
    if not isinstance(answer, dict):
        raise MalformedResponseError("Mistral's dry run answer is not an object",
                                     provider="mistral", body=answer)
    metadata = answer.get("metadata")
    meta: dict[str, Any] = metadata if isinstance(metadata, dict) else {}
    if answer.get("cost") is not None:
        cost, currency = answer["cost"], answer.get("cost_currency") or meta.get("cost_currency")
    else:
        cost, currency = meta.get("cost"), meta.get("cost_currency") or answer.get("cost_currency")
    if cost is None:
        details = answer.get("details")
        reason = details.strip() if isinstance(details, str) and details.strip() else (
            "Mistral gave no reason")
        raise ProviderError(f"Mistral's dry run gave no price ({reason})"[:500],
                            provider="mistral", body=answer)
    if (not isinstance(cost, int | float) or isinstance(cost, bool) or not math.isfinite(cost)
            or cost < 0):
        raise MalformedResponseError(f"Mistral's dry run gave a price that is not an amount:"
                                     f" {cost!r}"[:500], provider="mistral", body=answer)
    if not isinstance(currency, str) or not currency.strip():
        raise ProviderError(f"Mistral's dry run priced the job at {float(cost):g} but named no"
                            " currency", provider="mistral", body=answer)
    return float(cost), currency.strip()


def _json_object(text: Any) -> dict[str, Any] | None:
    """`text` parsed as a JSON object, else None."""
    if not isinstance(text, str | bytes) or not text:
        return None
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def create_payload(spec: JobSpec) -> tuple[dict[str, Any], list[str]]:
    """The JobIn body for `spec` (created with auto_start=false) and warnings about options
    Mistral has no place for. Raises InvalidRequestError for what cannot be sent at all."""
    if spec.method != "sft":
        raise InvalidRequestError(f"Mistral has no {spec.method!r} method here", provider="mistral",
                                  hint="use sft")
    ref = spec.client_ref
    if len(ref) > SUFFIX_MAX:
        raise InvalidRequestError(
            f"reference {ref!r} is longer than Mistral's {SUFFIX_MAX}-character suffix, which"
            " carries it", provider="mistral", hint="use a reference of at most 18 characters")
    warnings: list[str] = []
    if spec.suffix and spec.suffix != ref:
        warnings.append(f"suffix {spec.suffix!r} not sent: Mistral's suffix carries the tuneops"
                        f" reference {ref} (jobs have no other field that survives a listing)")
    hp: dict[str, Any] = {}
    if isinstance(spec.epochs, int):
        hp["epochs"] = float(spec.epochs)
    if "training_steps" in spec.extra:
        hp["training_steps"] = int(spec.extra["training_steps"])
    if "learning_rate" in spec.extra:
        hp["learning_rate"] = float(spec.extra["learning_rate"])
    elif isinstance(spec.learning_rate_multiplier, int | float):
        hp["learning_rate"] = DEFAULT_LEARNING_RATE * float(spec.learning_rate_multiplier)
    for name, value in (("batch_size", spec.batch_size), ("seed", spec.seed), ("beta", spec.beta)):
        if value is not None and value != "auto":
            warnings.append(f"{name} not sent: Mistral's fine-tuning API has no such setting")
    if spec.labels:
        warnings.append("labels kept in the tuneops ledger only: Mistral jobs carry no labels")
    body: dict[str, Any] = {
        "model": spec.base_model,
        "training_files": [{"file_id": spec.training_file, "weight": 1}],
        "hyperparameters": hp,
        "suffix": ref,
        "auto_start": False,
        "job_type": "completion",
    }
    if spec.validation_file:
        body["validation_files"] = [spec.validation_file]
    if "integrations" in spec.extra:
        body["integrations"] = spec.extra["integrations"]
    return body, warnings


def _detail(body: Any) -> str:
    """The human part of a Mistral error body, whatever its shape (see module docstring)."""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    loc = ".".join(str(x) for x in item.get("loc") or () if x != "body")
                    parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
            return "; ".join(parts) or "invalid request"
        message = body.get("message")
        if isinstance(message, str):
            return message
        if isinstance(message, dict):
            return _detail(message)
    return str(body)[:500] if body else "no details"


def error_for_status(status: int, body_text: str, headers: Mapping[str, str],
                     secrets: Sequence[str] = ()) -> ProviderError:
    """Our error for a Mistral HTTP error answer, chosen by status first. `secrets` (the
    credentials the request carried) are taken out of the answer, which may repeat them."""
    body_text = redact(body_text, secrets)
    try:
        body: Any = orjson.loads(body_text) if body_text else None
    except orjson.JSONDecodeError:
        body = body_text
    detail = _detail(body)
    cls = error_class_for_status(status)
    hint = ""
    if cls is AuthError:
        hint = "check MISTRAL_API_KEY (or `tuneops keys set mistral`)"
    elif (cls is InvalidRequestError and "not available" in detail.lower()
          and "fine-tuning" in detail.lower()):
        hint = ("Mistral does not fine-tune this model through its (deprecated) jobs API; pick a"
                " model it accepts, e.g. open-mistral-7b or mistral-small-latest")
    return cls(f"Mistral answered {status}: {detail}", provider="mistral", status_code=status,
               body=body, retry_after=parse_retry_after(dict(headers)), hint=hint)


@contextlib.contextmanager
def vendor_errors() -> Iterator[None]:
    """Map the SDK's and httpx2's exceptions into ours, by HTTP status first; always chained."""
    import httpx2
    from mistralai.client import errors as sdk_errors

    try:
        yield
    except sdk_errors.ResponseValidationError as exc:
        redact_exception(exc, sent_credentials(exc))
        raise MalformedResponseError(f"Mistral's answer does not match its schema: {exc.message}",
                                     provider="mistral", body=exc.body) from exc
    except sdk_errors.MistralError as exc:
        secrets = sent_credentials(exc)
        redact_exception(exc, secrets)  # we chain from it: its message quotes the answer
        raise error_for_status(exc.status_code, exc.body, exc.headers, secrets) from exc
    except httpx2.HTTPStatusError as exc:
        raise error_for_status(exc.response.status_code, exc.response.text,
                               exc.response.headers, sent_credentials(exc)) from exc
    except httpx2.TimeoutException as exc:
        raise VendorTimeoutError("Mistral did not answer in time", provider="mistral") from exc
    except (httpx2.TransportError, sdk_errors.NoResponseError) as exc:
        raise VendorConnectionError(f"could not reach Mistral: {type(exc).__name__}",
                                    provider="mistral") from exc


class MistralProvider(Provider):
    name = "mistral"
    title = "Mistral (deprecated fine-tuning jobs API)"
    methods = ("sft",)
    supports_events = True
    supports_checkpoints = True
    supports_server_estimate = True  # dry_run quotes without creating a job
    key_env = "MISTRAL_API_KEY"
    # the server root, as the SDK's server_url (its paths start with /v1); mistralai itself reads
    # no such variable: pass Mistral(server_url=...) to the SDK
    base_url_env = "MISTRAL_BASE_URL"
    notes = (VendorNote(date=DEPRECATION_NOTED, text=(
        "Mistral's fine-tuning jobs API is deprecated (its OpenAPI spec tags /v1/fine_tuning/jobs"
        " 'deprecated.fine-tuning') and mistralai >= 2.5.2 no longer ships it; tuneops calls the"
        " REST endpoints directly, which may stop working without notice")),)

    def __init__(
        self,
        *,
        api_key: str | None = None,
        server_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        http_client: Any = None,
        page_size: int = 100,
        start_wait: float = 600.0,
        poll: float = 2.0,
    ) -> None:
        import httpx2
        from mistralai.client import Mistral

        super().__init__(retry=retry, timeout=timeout)
        key, self.key_source = resolve_key(self.name, self.key_env, api_key)
        self._key: Secret = key
        self.server_url = self.base_url = self.configured_url(server_url, DEFAULT_SERVER_URL)
        self.page_size = page_size
        self.start_wait = start_wait
        self.poll = poll
        self.http = http_client if http_client is not None else httpx2.Client(timeout=timeout)
        # retry_config=None: retries happen in one place, ours (RetryPolicy).
        self.client = Mistral(api_key=key.reveal(), server_url=self.server_url, client=self.http,
                              retry_config=None, timeout_ms=int(timeout * 1000))

    @classmethod
    def sandboxed(cls, transport: Any, *, retry: RetryPolicy | None = None, **options: Any
                  ) -> MistralProvider:
        import httpx2

        return cls(api_key="sk-sandbox", server_url=SANDBOX_SERVER_URL, retry=retry,
                   http_client=httpx2.Client(transport=transport), **options)

    @classmethod
    def at(cls, endpoint: str) -> MistralProvider:
        return cls(server_url=endpoint)  # the SDK's name for it

    def __repr__(self) -> str:
        return f"MistralProvider(server_url={self.server_url!r}, key from {self.key_source})"

    def close(self) -> None:
        self.http.close()

    # -- HTTP --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, json: Any = None,
                 params: dict[str, Any] | None = None) -> Any:
        """One call to a jobs endpoint (no retry here), with our error mapping."""
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "Accept": "application/json"}
        with vendor_errors():
            response = self.http.request(method, self.server_url + path, json=json, params=params,
                                         headers=headers, timeout=self.timeout)
            response.raise_for_status()
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise MalformedResponseError(f"Mistral answered {path} with something not JSON",
                                         provider=self.name, body=response.text[:500]) from exc

    def _vendor_errors(self) -> AbstractContextManager[None]:
        return vendor_errors()

    # -- files -------------------------------------------------------------------------------

    def upload_file(self, path: str | Path, *, progress: Callable[[int, int], None] | None = None
                    ) -> UploadedFile:
        p = Path(path)
        size = p.stat().st_size
        with p.open("rb") as f:
            # not retried: a second POST would create a second file
            raw = self._file_answer(self.client.files.upload,
                                    file={"file_name": p.name, "content": f}, purpose="fine-tune")
        if progress is not None:
            progress(size, size)
        return file_from_mistral(raw)

    def _file_answer(self, call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        """A Files API answer as a dict, with our error mapping. The SDK's models require an
        integer `bytes`, but Mistral sends ``bytes: null`` (the spec's own upload, list and
        retrieve examples do): a successful answer the SDK refuses is read from its JSON."""
        from mistralai.client import errors as sdk_errors

        with vendor_errors():
            try:
                return dict(call(**kwargs).model_dump(by_alias=True))
            except sdk_errors.ResponseValidationError as exc:
                raw = _json_object(exc.body) if 200 <= exc.status_code < 300 else None
                if raw is None:
                    raise
                return raw

    def has_file(self, file_id: str) -> bool:
        """Whether the vendor still holds a file (uploads are reused only while it does). Its
        size is not compared: Mistral may report it as null (unknown), which is no sign of a
        missing file; only a 404 or an answer saying ``deleted: true`` is."""
        try:
            raw = self._get(self._file_answer, self.client.files.retrieve, file_id=file_id)
        except NotFoundError:
            return False
        return file_from_mistral(raw).raw.get("deleted") is not True  # read: an id, at least

    # -- jobs --------------------------------------------------------------------------------

    def _create_job_once(self, spec: JobSpec) -> Job:
        body, warnings = create_payload(spec)
        answer = self._request("POST", JOBS_PATH, json=body)
        if _is_quote(answer):
            # The spec allows this shape here, but it names no job: nothing can be followed.
            raise MalformedResponseError(
                "Mistral answered the job creation with a price quote (the dry-run"
                " LegacyJobMetadataOut shape), not a job: it names no job id",
                provider=self.name, body=answer,
                hint=f"nothing was recorded as created; `tuneops reconcile` adopts the job if"
                     f" Mistral created one (its suffix carries {spec.client_ref})")
        job = job_from_mistral(answer)
        return job.model_copy(update={"warnings": [*job.warnings, *warnings]}) if warnings else job

    def create_job_safely(self, spec: JobSpec) -> Job:
        """Create (or adopt) the job exactly once, then start it: it was created with
        auto_start=false so that its price quote could be read first."""
        job = super().create_job_safely(spec)
        if job.raw.get("auto_start") is not False or job.raw_status not in _BEFORE_START:
            return job
        started = self._start(job.id)
        return started.model_copy(update={"warnings": [*job.warnings, *started.warnings]})

    def _start(self, job_id: str) -> Job:
        deadline = time.monotonic() + self.start_wait
        while True:
            try:
                # Retried: repeating a start that took effect is refused, and handled below.
                return job_from_mistral(self.retry.call(
                    self._request, "POST", f"{JOBS_PATH}/{job_id}/start"))
            except InvalidRequestError:
                current = self.get_job(job_id)
                if current.raw_status in ("QUEUED", "VALIDATING") and time.monotonic() < deadline:
                    # the spec says "start of a *validated* job": wait for validation to end
                    self.retry.sleep(self.poll)
                    continue
                if current.raw_status == "VALIDATED":
                    raise
                return current  # already started by an earlier attempt, or finished

    def server_estimate(self, spec: JobSpec) -> tuple[float, str]:
        body, _ = create_payload(spec)
        # dry_run spawns no job, so the call is safe to retry
        quote = self.retry.call(self._request, "POST", JOBS_PATH, json=body,
                                params={"dry_run": "true"})
        return _quote_from_mistral(quote)

    @reads("mistral", "Mistral's answer")
    def get_job(self, job_id: str) -> Job:
        return job_from_mistral(self.retry.call(self._request, "GET", f"{JOBS_PATH}/{job_id}"))

    @reads("mistral", "Mistral's answer")
    def list_jobs(self, *, client_ref: str | None = None) -> Iterator[Job]:
        # Offset paging: a job created meanwhile shifts the pages, so ids already seen are skipped.
        seen: set[str] = set()
        params: dict[str, Any] = {"page_size": self.page_size}
        if client_ref:
            params["suffix"] = client_ref
        page = 0
        while True:
            doc = self.retry.call(self._request, "GET", JOBS_PATH, params={**params, "page": page})
            items = doc.get("data") or []
            for raw in items:
                job = job_from_mistral(raw)
                if job.id in seen or (client_ref and job.client_ref != client_ref):
                    continue
                seen.add(job.id)
                yield job
            total = doc.get("total")
            page += 1
            if not items or (isinstance(total, int) and page * self.page_size >= total):
                return

    @reads("mistral", "Mistral's answer")
    def cancel_job(self, job_id: str) -> Job:
        try:
            return job_from_mistral(self.retry.call(
                self._request, "POST", f"{JOBS_PATH}/{job_id}/cancel"))
        except InvalidRequestError:
            current = self.get_job(job_id)
            if current.raw_status in ("CANCELLED", "CANCELLATION_REQUESTED"):
                return current  # an earlier attempt whose answer was lost took effect
            raise

    @reads("mistral", "Mistral's answer")
    def list_events(self, job_id: str) -> Iterator[JobEvent]:
        raw = self.get_job(job_id).raw.get("events") or []
        # Mistral lists them newest first; ids count from the oldest
        ordered = sorted(enumerate(reversed(raw)), key=lambda e: e[1].get("created_at") or 0)
        for index, event in reversed(ordered):
            yield event_from_mistral(job_id, index, event)

    @reads("mistral", "Mistral's answer")
    def list_checkpoints(self, job_id: str) -> Iterator[Checkpoint]:
        for raw in self.get_job(job_id).raw.get("checkpoints") or []:
            yield checkpoint_from_mistral(job_id, raw)

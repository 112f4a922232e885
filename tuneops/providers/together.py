"""Together AI fine-tuning, over Together's REST API with our own `httpx2.Client`.

Why not the official `together` SDK: v3.x speaks `httpx`, not `httpx2`, so neither our
in-process sandbox transport (an httpx2 transport) nor our single retry layer (`RetryPolicy`) can
be injected into it. The adapter owns its client and sends exactly what the SDK sends; the SDK
(together-py 3.1.1) stays the authority on paths and shapes:

- upload (`together/lib/resources/files.py`, `UploadManager`): ``POST /files`` as a multipart form
  (purpose, file_name, file_type, checksum = sha256 hex) without following redirects answers 302
  with ``Location`` (a signed storage URL) and ``X-Together-File-Id``, or 409 with ``{"file_id"}``
  when a file with that checksum already exists (adopted, as the SDK does); then ``PUT`` the bytes
  to the URL (following 301/302/303/307/308 by hand, 20 hops at most), expecting 200; then
  ``POST /files/{id}/preprocess``, which starts the server-side validation whose verdict is
  ``processing_status`` + ``validation_report`` (`together/types/file_response.py`).
- jobs (`together/resources/fine_tuning.py`): ``/fine-tunes`` (create, list), ``/fine-tunes/{id}``,
  ``/fine-tunes/{id}/cancel``, ``/events``, ``/checkpoints``, ``/fine-tunes/estimate-price``;
  bodies per `together/lib/types/fine_tuning.py` (`FinetuneRequest`, `FinetuneJobStatus`).
- money: ``total_price`` is in nanodollars (`together/lib/utils/tools.py`, `NANODOLLAR`,
  `finetune_price_to_dollars`); ``estimated_total_price`` is in dollars (the CLI prints it as
  ``$x.xx``, `together/lib/cli/api/fine_tuning/create.py`).

Our reference (`JobSpec.client_ref`) rides in ``suffix``: the one free-text field the caller sets
that Together returns on every job in the list (`types/fine_tuning_list_response.py`, ``suffix``)
and on retrieve (`lib/types/fine_tuning.py`, `FinetuneResponse.suffix`). Jobs have no metadata.
``GET /fine-tunes`` has no paging: one call returns every job.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuneops.errors import (
    DataValidationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    VendorConnectionError,
    VendorServerError,
    VendorTimeoutError,
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
    reads,
    utc_from_timestamp,
    vendor_id,
)
from tuneops.providers.retry import RetryPolicy, parse_retry_after
from tuneops.redaction import redact

__all__ = [
    "NANODOLLAR",
    "TogetherProvider",
    "checkpoint_from_together",
    "event_from_together",
    "file_from_together",
    "job_from_together",
    "parse_time",
    "ref_from_suffix",
    "status_from_together",
    "suffix_with_ref",
    "usd_from_nanodollars",
    "vendor_errors",
]

DEFAULT_BASE_URL = "https://api.together.ai/v1"
SANDBOX_BASE_URL = "http://sandbox.tuneops/together/v1"
NANODOLLAR = 1_000_000_000
# `suffix` holds "<user suffix or 'tuneops'>--<client_ref>"; at most 40 characters (SDK docstring
# of `fine_tuning.create`: "Up to 40 character suffix").
REF_SEP = "--"
SUFFIX_MAX = 40
DEFAULT_LEARNING_RATE = 1e-5  # the SDK's default `learning_rate` for `fine_tuning.create`
_FILE_TYPES = {".jsonl": "jsonl", ".parquet": "parquet", ".csv": "csv"}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_PUT_HOPS = 20
_PROCESSING_DONE = frozenset({"COMPLETED", "FAILED", "INVALID_FORMAT"})
# Options of `FinetuneRequest` passed through from `JobSpec.extra` as given.
_PASSTHROUGH = ("n_evals", "n_checkpoints", "max_seq_length", "warmup_ratio", "weight_decay",
                "max_grad_norm", "lr_scheduler", "packing", "gradient_accumulation_steps",
                "from_checkpoint", "wandb_project_name", "wandb_name", "wandb_entity")

# `FinetuneJobStatus` (together/lib/types/fine_tuning.py). compressing / uploading come after
# training, before the model exists; cancel_requested is a job still stopping.
_STATUS: dict[str, JobStatus] = {
    "pending": "pending",
    "queued": "queued",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    "cancel_requested": "running",
    "cancelled": "cancelled",
    "error": "failed",
    "user_error": "failed",
    "completed": "succeeded",
}


def status_from_together(raw: str) -> tuple[JobStatus, str | None]:
    """Normalized status and, for a status we do not know, a warning (never an exception)."""
    status = _STATUS.get(raw)
    if status is None:
        return "pending", f"unknown Together job status {raw!r}: treated as not finished"
    return status, None


def usd_from_nanodollars(value: Any) -> float | None:
    """Dollars from Together's integer nanodollars; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    return float(value) / NANODOLLAR


def parse_time(value: Any) -> datetime | None:
    """A UTC datetime from Together's ISO 8601 strings (``...Z`` included; a time without an
    offset is taken as UTC); None when absent or unreadable. Lenient on purpose: the spec types
    event and checkpoint `created_at` as any string, and one odd timestamp must cost that item
    its time, not the whole listing (the text stays in the item's raw payload or data)."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        if isinstance(value, int | float):  # not in the spec; a Unix time, as files carry
            return utc_from_timestamp(value)
        if not isinstance(value, str):
            return None
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, TypeError, OverflowError, OSError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def suffix_with_ref(user_suffix: str | None, client_ref: str) -> str:
    """The `suffix` carrying our reference. Raises InvalidRequestError when it cannot fit."""
    if REF_SEP in client_ref or len(client_ref) + len(REF_SEP) + 1 > SUFFIX_MAX:
        raise InvalidRequestError(
            f"reference {client_ref!r} cannot ride in a Together suffix", provider="together",
            hint=f"use a reference without {REF_SEP!r} of at most {SUFFIX_MAX - 3} characters")
    head = (user_suffix or "tuneops")[: SUFFIX_MAX - len(client_ref) - len(REF_SEP)]
    return f"{head}{REF_SEP}{client_ref}"


def ref_from_suffix(suffix: Any) -> str | None:
    """Our reference from a job's `suffix`; None for jobs created without tuneops."""
    if not isinstance(suffix, str) or REF_SEP not in suffix:
        return None
    return suffix.rpartition(REF_SEP)[2] or None


def _job_error(raw: dict[str, Any], status: str) -> JobError | None:
    if status not in ("error", "user_error"):
        return None
    # Jobs carry no error field: the reason is the message of the job_error / job_user_error event
    # (`FinetuneEventType`), present on retrieve (events are left out of list entries).
    message = ""
    for event in reversed(raw.get("events") or []):
        if isinstance(event, dict) and event.get("type") in ("job_error", "job_user_error"):
            message = str(event.get("message") or "")
            break
    kind: ErrorKind = "data" if status == "user_error" else "vendor"
    return JobError(kind=kind, code=status, message=message or f"the job ended in {status}")


@reads("together", "Together's answer")
def job_from_together(raw: dict[str, Any]) -> Job:
    """A Job from a Together fine-tune payload (retrieve, list entry, create or cancel answer)."""
    try:
        raw_status = str(raw["status"])
        status, warning = status_from_together(raw_status)
        method_doc = raw.get("training_method") or {}
        method = method_doc.get("method") if isinstance(method_doc, dict) else None
        hp: dict[str, Any] = {k: raw[k] for k in ("n_epochs", "batch_size", "learning_rate",
                                                 "n_evals", "n_checkpoints", "warmup_ratio")
                              if raw.get(k) is not None}
        if isinstance(method_doc, dict) and method_doc.get("dpo_beta") is not None:
            hp["dpo_beta"] = method_doc["dpo_beta"]
        ttype = raw.get("training_type")
        if isinstance(ttype, dict) and ttype.get("type"):
            hp["training_type"] = str(ttype["type"]).lower()
        final = status in ("succeeded", "failed", "cancelled")
        cost = usd_from_nanodollars(raw.get("total_price"))
        return Job(
            provider="together",
            id=vendor_id(raw["id"]),
            status=status,
            raw_status=raw_status,
            base_model=raw.get("model"),
            method=method,
            # the output name may be announced early; the model exists once the job completes
            fine_tuned_model=raw.get("model_output_name") if status == "succeeded" else None,
            trained_tokens=raw.get("token_count"),
            cost=cost if cost else None,
            currency="USD" if cost else None,
            error=_job_error(raw, raw_status),
            created_at=parse_time(raw.get("created_at")),
            started_at=parse_time(raw.get("started_at")),
            # no finished_at: a finished job's last update is when it finished
            finished_at=parse_time(raw.get("updated_at")) if final else None,
            training_file=raw.get("training_file"),
            validation_file=raw.get("validation_file") or None,
            hyperparameters=hp,
            client_ref=ref_from_suffix(raw.get("suffix")),
            warnings=[warning] if warning else [],
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponseError(f"Together returned a job that cannot be read: {exc!r}",
                                     provider="together", body=raw) from exc


@reads("together", "Together's answer")
def event_from_together(job_id: str, index: int, raw: dict[str, Any]) -> JobEvent:
    # Events have no id; `hash` when given, else the position in the job's (oldest first) list.
    data = {k: raw[k] for k in ("type", "step", "total_steps", "token_count", "param_count",
                                "checkpoint_path", "model_path", "wandb_url") if raw.get(k) is not None}
    created = parse_time(raw.get("created_at"))
    if created is None and raw.get("created_at") not in (None, ""):
        data["created_at_raw"] = str(raw["created_at"])[:200]  # unreadable: kept as sent
    return JobEvent(provider="together", job_id=job_id, id=str(raw.get("hash") or f"{job_id}:{index}"),
                    created_at=created,
                    level=str(raw.get("level") or "info"), message=str(raw.get("message") or ""),
                    data=data)


@reads("together", "Together's answer")
def checkpoint_from_together(job_id: str, raw: dict[str, Any]) -> Checkpoint:
    return Checkpoint(provider="together", job_id=job_id,
                      id=f"{job_id}:{raw['step']}", step=raw.get("step"),
                      model=raw.get("object_name") or raw.get("path"),
                      created_at=parse_time(raw.get("created_at")))


@reads("together", "Together's answer")
def file_from_together(raw: dict[str, Any]) -> UploadedFile:
    # `FileResponse.created_at` is a Unix timestamp (jobs use ISO strings); parse_time reads
    # both, and an unreadable one costs the file its time, not the upload
    return UploadedFile(provider="together", id=vendor_id(raw["id"]), bytes=raw.get("bytes"),
                        filename=raw.get("filename"), status=raw.get("processing_status"),
                        created_at=parse_time(raw.get("created_at")), raw=raw)


class _StatusError(Exception):
    """A non-2xx answer, raised inside `vendor_errors` and mapped there."""

    def __init__(self, response: Any) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _error_body(response: Any) -> tuple[Any, str]:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text, text[:300] or f"HTTP {response.status_code}"
    message = ""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or "")
        elif isinstance(err, str):
            message = err
        message = message or str(body.get("message") or "")
    return body, message or f"HTTP {response.status_code}"


@contextlib.contextmanager
def vendor_errors() -> Iterator[None]:
    """Map failed exchanges into our errors, by HTTP status first; always chained."""
    import httpx2

    try:
        yield
    except _StatusError as exc:
        status = exc.response.status_code
        # the answer may repeat the key we sent (some vendors do); keep it out of our error
        body, message = redact(_error_body(exc.response), sent_credentials(exc.response))
        cls = error_class_for_status(status)
        raise cls(f"Together answered {status}: {message}", provider="together",
                  status_code=status, body=body,
                  retry_after=parse_retry_after(dict(exc.response.headers))) from exc
    except httpx2.TimeoutException as exc:
        raise VendorTimeoutError("Together did not answer in time", provider="together") from exc
    except httpx2.TransportError as exc:
        raise VendorConnectionError(f"could not reach Together: {exc}", provider="together") from exc
    except ValueError as exc:  # a 2xx whose body is not the JSON we expect
        raise MalformedResponseError(f"Together's answer cannot be read: {exc}",
                                     provider="together") from exc


class TogetherProvider(Provider):
    name = "together"
    title = "Together AI"
    methods = ("sft", "dpo")
    supports_events = True
    supports_checkpoints = True
    supports_server_estimate = True
    key_env = "TOGETHER_API_KEY"
    base_url_env = "TOGETHER_BASE_URL"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        http_client: Any = None,
        poll_interval: float = 1.0,
        processing_limit: float = 600.0,
    ) -> None:
        import httpx2

        super().__init__(retry=retry, timeout=timeout)
        key, self.key_source = resolve_key(self.name, self.key_env, api_key)
        self._key: Secret = key
        # TOGETHER_BASE_URL is the server root, as the together SDK reads it; ours ends in /v1
        self.base_url = self.configured_url(base_url, DEFAULT_BASE_URL, env_path="/v1")
        self.poll_interval = poll_interval
        self.processing_limit = processing_limit
        self.client = http_client if http_client is not None else httpx2.Client(timeout=timeout)

    @classmethod
    def sandboxed(cls, transport: Any, *, retry: RetryPolicy | None = None, **options: Any
                  ) -> TogetherProvider:
        import httpx2

        return cls(api_key="tgp-sandbox-fake", base_url=SANDBOX_BASE_URL, retry=retry,
                   http_client=httpx2.Client(transport=transport), **options)

    def __repr__(self) -> str:
        return f"TogetherProvider(base_url={self.base_url!r}, key from {self.key_source})"

    def close(self) -> None:
        self.client.close()

    # -- HTTP ------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), auth: bool = True,
              **kwargs: Any) -> Any:
        """One exchange; answers outside `ok` raise (map them with `vendor_errors`)."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        headers = dict(kwargs.pop("headers", None) or {})
        if auth:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        response = self.client.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        if response.status_code not in ok:
            response.read()
            raise _StatusError(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        with vendor_errors():
            return self._send(method, path, **kwargs).json()

    def _get_path(self, path: str, **kwargs: Any) -> Any:
        """An idempotent call, with our retries and error mapping."""
        return self.retry.call(self._json, "GET", path, **kwargs)

    # -- files -----------------------------------------------------------------------------------

    def upload_file(self, path: str | Path, *, progress: Callable[[int, int], None] | None = None
                    ) -> UploadedFile:
        p = Path(path)
        file_type = _FILE_TYPES.get(p.suffix.lower())
        if file_type is None:
            raise InvalidRequestError(f"Together takes .jsonl, .parquet or .csv files, not {p.name}",
                                      provider=self.name)
        size = p.stat().st_size
        sha = hashlib.sha256()
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
        form = {"purpose": (None, "fine-tune"), "file_name": (None, p.name),
                "file_type": (None, file_type), "checksum": (None, sha.hexdigest())}
        # Retrying this POST is safe: a file only exists once its bytes arrive, so a lost answer
        # leaves at most an empty reservation, and the checksum dedupe catches finished uploads.
        try:
            slot = self.retry.call(self._reserve, form)
        except InvalidRequestError as exc:
            existing = exc.body.get("file_id") if isinstance(exc.body, dict) else None
            if exc.status_code != 409 or not isinstance(existing, str):
                raise
            # 409: a file with these exact bytes is already there; adopt it (the SDK does too).
            if progress is not None:
                progress(size, size)
            return self._wait_processed(file_from_together(self._get_path(f"/files/{existing}")))
        url, file_id = slot
        self.retry.call(self._put, url, p)
        if progress is not None:
            progress(size, size)
        raw = self.retry.call(self._json, "POST", f"/files/{file_id}/preprocess")
        return self._wait_processed(file_from_together(raw))

    def _reserve(self, form: dict[str, Any]) -> tuple[str, str]:
        with vendor_errors():
            response = self._send("POST", "/files", ok=(302,), files=form, follow_redirects=False)
            location = response.headers.get("location")
            file_id = response.headers.get("x-together-file-id")
            if not location or not file_id:
                raise MalformedResponseError(
                    "Together's upload answer lacks Location or X-Together-File-Id",
                    provider=self.name, status_code=response.status_code)
        return str(response.url.join(location)), file_id

    def _put(self, url: str, p: Path) -> None:
        with vendor_errors():
            for _ in range(_MAX_PUT_HOPS + 1):
                # The signed URL carries its own authorisation: our key must not go to storage.
                response = self._send("PUT", url, ok=(200, *_REDIRECTS), auth=False,
                                      content=p.read_bytes(), follow_redirects=False)
                if response.status_code == 200:
                    return
                location = response.headers.get("location")
                if not location:
                    raise _StatusError(response)
                url = str(response.url.join(location))
        raise VendorServerError(f"the upload of {p.name} was redirected more than"
                                f" {_MAX_PUT_HOPS} times", provider=self.name)

    def has_file(self, file_id: str) -> bool:
        """Whether the vendor still holds a file (uploads are reused only while it does)."""
        try:
            self._get_path(f"/files/{file_id}")
        except NotFoundError:
            return False
        return True

    def _wait_processed(self, uploaded: UploadedFile) -> UploadedFile:
        deadline = time.monotonic() + self.processing_limit
        while uploaded.status is not None and uploaded.status not in _PROCESSING_DONE:
            if time.monotonic() > deadline:
                raise VendorServerError(f"file {uploaded.id} still {uploaded.status} after"
                                        f" {self.processing_limit:.0f} s", provider=self.name)
            self.retry.sleep(self.poll_interval)
            uploaded = file_from_together(self._get_path(f"/files/{uploaded.id}"))
        report = uploaded.raw.get("validation_report") or {}
        if uploaded.status == "INVALID_FORMAT" or report.get("valid") is False:
            raise DataValidationError(
                f"Together refused file {uploaded.id} ({uploaded.filename}):"
                f" {report.get('error') or 'invalid format'}",
                hint="`tuneops validate --provider together FILE` lists every problem")
        if uploaded.status == "FAILED":
            raise VendorServerError(f"Together failed to process file {uploaded.id}",
                                    provider=self.name, body=uploaded.raw)
        return uploaded

    # -- jobs ------------------------------------------------------------------------------------

    def _training_method(self, spec: JobSpec) -> dict[str, Any]:
        if spec.method == "sft":
            return {"method": "sft", "train_on_inputs": spec.extra.get("train_on_inputs", "auto")}
        if spec.method == "dpo":
            doc: dict[str, Any] = {"method": "dpo"}
            if isinstance(spec.beta, float | int):
                doc["dpo_beta"] = float(spec.beta)
            return doc
        raise InvalidRequestError(f"Together has no {spec.method!r} method here",
                                  provider=self.name, hint="use sft or dpo")

    def _training_type(self, spec: JobSpec) -> dict[str, Any] | None:
        kind = str(spec.extra.get("training_type", "lora")).lower()
        if kind == "full":
            return {"type": "Full"}
        if kind != "lora":
            raise InvalidRequestError(f"unknown Together training_type {kind!r}",
                                      provider=self.name, hint="use lora or full")
        rank = spec.extra.get("lora_r")
        if rank is None:
            return None  # Together's default: LoRA at the model's default rank
        return {"type": "Lora", "lora_r": int(rank),
                "lora_alpha": int(spec.extra.get("lora_alpha", 2 * int(rank))),
                "lora_dropout": float(spec.extra.get("lora_dropout", 0.0)),
                "lora_trainable_modules": spec.extra.get("lora_trainable_modules", "all-linear")}

    def _common(self, spec: JobSpec) -> dict[str, Any]:
        body: dict[str, Any] = {"model": spec.base_model, "training_file": spec.training_file,
                                "training_method": self._training_method(spec)}
        if spec.validation_file:
            body["validation_file"] = spec.validation_file
        if isinstance(spec.epochs, int):
            body["n_epochs"] = spec.epochs
        ttype = self._training_type(spec)
        if ttype is not None:
            body["training_type"] = ttype
        if "n_evals" in spec.extra:
            body["n_evals"] = spec.extra["n_evals"]
        return body

    def request_body(self, spec: JobSpec) -> dict[str, Any]:
        """The ``POST /fine-tunes`` body for `spec` (pure; exposed for tests and dry runs)."""
        body = self._common(spec)
        if isinstance(spec.batch_size, int):
            body["batch_size"] = spec.batch_size
        elif spec.batch_size == "auto":
            body["batch_size"] = "max"  # Together's own automatic choice
        if "learning_rate" in spec.extra:
            body["learning_rate"] = float(spec.extra["learning_rate"])
        elif isinstance(spec.learning_rate_multiplier, float | int):
            # Together takes an absolute rate; a multiplier scales the SDK's default (1e-5).
            body["learning_rate"] = DEFAULT_LEARNING_RATE * float(spec.learning_rate_multiplier)
        if spec.seed is not None:
            body["random_seed"] = spec.seed
        body["suffix"] = suffix_with_ref(spec.suffix, spec.client_ref)
        for key in _PASSTHROUGH:
            if key in spec.extra:
                body[key] = spec.extra[key]
        return body

    def _create_job_once(self, spec: JobSpec) -> Job:
        body = self.request_body(spec)
        job = job_from_together(self._json("POST", "/fine-tunes", json=body))
        if spec.labels:
            job = job.model_copy(update={"warnings": [
                *job.warnings, "Together jobs carry no labels; they are kept in the ledger only"]})
        return job

    @reads("together", "Together's answer")
    def get_job(self, job_id: str) -> Job:
        return job_from_together(self._get_path(f"/fine-tunes/{job_id}"))

    @reads("together", "Together's answer")
    def list_jobs(self, *, client_ref: str | None = None) -> Iterator[Job]:
        raw = self._get_path("/fine-tunes")
        jobs = [job_from_together(item) for item in raw.get("data") or []]
        jobs.sort(key=lambda j: j.created_at.timestamp() if j.created_at else 0.0, reverse=True)
        for job in jobs:
            if client_ref is None or job.client_ref == client_ref:
                yield job

    @reads("together", "Together's answer")
    def cancel_job(self, job_id: str) -> Job:
        # Cancelling twice is harmless, so the call is retried like a read.
        return job_from_together(self.retry.call(self._json, "POST", f"/fine-tunes/{job_id}/cancel"))

    @reads("together", "Together's answer")
    def list_events(self, job_id: str) -> Iterator[JobEvent]:
        raw = self._get_path(f"/fine-tunes/{job_id}/events")
        for i, item in enumerate(raw.get("data") or []):
            yield event_from_together(job_id, i, item)

    @reads("together", "Together's answer")
    def list_checkpoints(self, job_id: str) -> Iterator[Checkpoint]:
        raw = self._get_path(f"/fine-tunes/{job_id}/checkpoints")
        for item in raw.get("data") or []:
            yield checkpoint_from_together(job_id, item)

    def server_estimate(self, spec: JobSpec) -> tuple[float, str]:
        body = self._common(spec)
        if body["training_method"]["method"] == "dpo":
            # the SDK always sends a beta here, 0 meaning the server's default
            body["training_method"].setdefault("dpo_beta", 0.0)
        # The quote changes nothing at the vendor: retried like a read.
        raw = self.retry.call(self._json, "POST", "/fine-tunes/estimate-price", json=body)
        if not isinstance(raw, dict):
            raise MalformedResponseError("Together's price estimate is not an object",
                                         provider=self.name, body=raw)
        if raw.get("estimation_available") is False:
            reason = raw.get("unavailable_reason") or "unknown"
            raise InvalidRequestError(f"Together cannot quote this job ({reason})",
                                      provider=self.name, body=raw,
                                      hint="wait until the files are processed, or fix them")
        price = raw.get("estimated_total_price")
        if not isinstance(price, int | float):
            raise MalformedResponseError("Together's price estimate has no estimated_total_price",
                                         provider=self.name, body=raw)
        return float(price), "USD"

"""Gemini tuning on Vertex AI, through the official `google-genai` SDK (in Vertex mode, over httpx2)
and `google-cloud-storage` for the training data.

Tuning exists in Vertex mode only: the Gemini Developer API (API keys from AI Studio) has offered no
tunable model since 2025, and google-genai 3.x silently drops the `examples` of a tuning request
there. This adapter therefore refuses that mode instead of sending anything.

Flow: the JSONL goes to Cloud Storage under a configured ``gs://bucket/prefix`` (object named by
its sha256, so the same content is stored once), then ``tunings.tune`` gets its ``gs://`` URI.

Credentials: ``TUNEOPS_VERTEX_ACCESS_TOKEN``, when set, is a plain OAuth 2 access token (e.g. the
output of ``gcloud auth print-access-token``), sent as it is and never refreshed (it lasts about an
hour); it is held as a secret, redacted from everything tuneops shows. Otherwise Application
Default Credentials (``google.auth.default``). Settings: ``GOOGLE_CLOUD_PROJECT``,
``GOOGLE_CLOUD_LOCATION``, ``TUNEOPS_VERTEX_BUCKET`` (``gs://BUCKET/PREFIX``);
``GOOGLE_VERTEX_BASE_URL`` points the tuning calls elsewhere and ``STORAGE_EMULATOR_HOST`` the
uploads (google-cloud-storage then sends no credentials, as it does for any emulator): both are
what ``tuneops sandbox serve`` prints, with the other settings above.

API reference: https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/projects.locations.tuningJobs
Supervised tuning: https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-use-supervised-tuning
Preference tuning: https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from tuneops.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    MissingCredentialsError,
    UsageError,
    VendorConnectionError,
    VendorTimeoutError,
    error_class_for_status,
)
from tuneops.providers.base import DEFAULT_TIMEOUT, Provider
from tuneops.providers.credentials import sent_credentials
from tuneops.providers.models import (
    ErrorKind,
    Job,
    JobError,
    JobSpec,
    JobStatus,
    UploadedFile,
    VendorNote,
    reads,
    vendor_id,
)
from tuneops.providers.retry import RetryPolicy, parse_retry_after
from tuneops.redaction import redact_exception, remember

__all__ = [
    "ADAPTER_SIZES",
    "VertexProvider",
    "client_ref_of",
    "job_from_vertex",
    "label_value",
    "parse_bucket",
    "status_from_vertex",
    "vendor_errors",
]

SANDBOX_BASE_URL = "http://sandbox.tuneops/vertex/"
SANDBOX_STORAGE_ENDPOINT = "http://sandbox.tuneops/vertex"
SANDBOX_PROJECT, SANDBOX_LOCATION, SANDBOX_BUCKET = "tuneops-sandbox", "us-central1", "gs://tuneops-sandbox/tuneops"
REF_LABEL = "tuneops_ref"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
# a plain OAuth 2 access token, used instead of Application Default Credentials when set
TOKEN_ENV = "TUNEOPS_VERTEX_ACCESS_TOKEN"
# google-cloud-storage's emulator setting (a URL, scheme included, despite its name)
STORAGE_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
_METHODS = {"sft": "SUPERVISED_FINE_TUNING", "dpo": "PREFERENCE_TUNING"}
# AdapterSize enum of the API (google-genai types.AdapterSize); which sizes a model accepts is per
# model (Gemini 2.5 Flash: 1, 2, 4, 8, 16 per the supervised tuning page).
ADAPTER_SIZES = {1: "ADAPTER_SIZE_ONE", 2: "ADAPTER_SIZE_TWO", 4: "ADAPTER_SIZE_FOUR",
                 8: "ADAPTER_SIZE_EIGHT", 16: "ADAPTER_SIZE_SIXTEEN", 32: "ADAPTER_SIZE_THIRTY_TWO"}
# Label keys and values: at most 63 characters of lowercase letters, digits, "_" and "-"; keys start
# with a letter (TuningJob.labels in the REST reference; https://cloud.google.com/resource-manager/docs/labels-overview).
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_DISPLAY_REF = re.compile(r"\[([^\[\]]+)\]$")
DISPLAY_NAME_MAX = 128

# JobState (google-genai types.JobState). CANCELLING can still end in SUCCEEDED or FAILED, and
# PAUSED / UPDATING are not ends either, so none of them counts as final.
_STATUS: dict[str, JobStatus] = {
    "JOB_STATE_QUEUED": "queued",
    "JOB_STATE_PENDING": "pending",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_UPDATING": "running",
    "JOB_STATE_CANCELLING": "running",
    "JOB_STATE_PAUSED": "pending",
    "JOB_STATE_SUCCEEDED": "succeeded",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLED": "cancelled",
}
# TuningJobState, the detail of a running job (google-genai types.TuningJobState)
_DETAIL: dict[str, JobStatus] = {
    "TUNING_JOB_STATE_PROCESSING_DATASET": "validating",
    "TUNING_JOB_STATE_WAITING_FOR_QUOTA": "queued",
    "TUNING_JOB_STATE_WAITING_FOR_CAPACITY": "queued",
}
# google.rpc.Code numbers in a job's `error.code`
_RPC_KIND: dict[int, ErrorKind] = {3: "data", 9: "data", 11: "data", 8: "quota", 7: "auth",
                                   16: "auth", 4: "vendor", 13: "vendor", 14: "vendor", 10: "vendor"}


def status_from_vertex(state: str, detail: str | None = None) -> tuple[JobStatus, str | None]:
    """Normalized status and, for a state we do not know or one worth a word, a warning."""
    status = _STATUS.get(state)
    if status is None:
        return "pending", f"unknown Vertex job state {state!r}: treated as not finished"
    if status in ("pending", "running") and detail in _DETAIL and state != "JOB_STATE_CANCELLING":
        status = _DETAIL[detail]
    if state == "JOB_STATE_PARTIALLY_SUCCEEDED":
        return status, "Vertex reports the job only partially succeeded"
    if state == "JOB_STATE_EXPIRED":
        return status, "the job expired before it finished"
    return status, None


def label_value(ref: str) -> str:
    """Our reference as a GCP label value: itself when it is a valid one, else a digest of it."""
    if _LABEL_VALUE.fullmatch(ref):
        return ref
    return "h-" + hashlib.sha256(ref.encode()).hexdigest()[:40]


def _label_key(key: str) -> str:
    k = re.sub(r"[^a-z0-9_-]", "_", key.lower())[:63]
    return k if _LABEL_KEY.fullmatch(k) else ("l" + k)[:63]


def client_ref_of(display_name: str | None, labels: dict[str, str] | None) -> str | None:
    """Our reference on a job: the exact one in the display name's trailing ``[ref]`` when the
    label agrees with it, else the label when it is the reference itself (not a digest)."""
    label = (labels or {}).get(REF_LABEL)
    hit = _DISPLAY_REF.search(display_name or "")
    if hit and (label is None or label_value(hit.group(1)) == label):
        return hit.group(1)
    if label and not label.startswith("h-"):
        return label
    return None


def _display_name(spec: JobSpec) -> str:
    tail = f" [{spec.client_ref}]"
    head = (spec.suffix or "tuneops")[: max(1, DISPLAY_NAME_MAX - len(tail))]
    return (head + tail)[:DISPLAY_NAME_MAX]


def parse_bucket(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of ``gs://bucket/prefix``; UsageError when it is not one."""
    m = re.fullmatch(r"gs://([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:/(.*))?", uri.strip())
    if m is None:
        raise UsageError(f"not a Cloud Storage location: {uri!r}",
                         hint="use gs://BUCKET or gs://BUCKET/PREFIX")
    return m.group(1), (m.group(2) or "").strip("/")


def _int(value: Any) -> int | None:
    """An int64 field, which proto JSON sends as a string."""
    if value is None or value == "":
        return None
    return int(value)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _error_kind(code: int | None, message: str) -> ErrorKind:
    kind = _RPC_KIND.get(code or -1)
    if kind is not None:
        return kind
    m = message.lower()
    if any(w in m for w in ("dataset", "line", "example", "format", "invalid")):
        return "data"
    if "quota" in m:
        return "quota"
    return "unknown"


@reads("vertex", "Vertex AI's answer")
def job_from_vertex(raw: dict[str, Any]) -> Job:
    """A Job from a `TuningJob` as google-genai dumps it (snake_case; int64 fields may arrive as
    strings, as proto JSON sends them)."""
    try:
        state = str(raw.get("state") or "JOB_STATE_UNSPECIFIED")
        status, warning = status_from_vertex(state, raw.get("tuning_job_state"))
        spec_key = next((k for k in ("supervised_tuning_spec", "preference_optimization_spec",
                                     "distillation_spec", "reinforcement_tuning_spec") if raw.get(k)), None)
        method = {"supervised_tuning_spec": "sft", "preference_optimization_spec": "dpo",
                  "distillation_spec": "distillation", "reinforcement_tuning_spec": "rft"}.get(spec_key or "")
        spec = raw.get(spec_key or "") or {}
        hp = {k: v for k, v in (spec.get("hyper_parameters") or {}).items() if v is not None}
        if "epoch_count" in hp:
            hp["epoch_count"] = _int(hp["epoch_count"])
        stats = raw.get("tuning_data_stats") or {}
        # Both stats say "number of billable tokens in the tuning dataset" (REST reference).
        section = stats.get("supervised_tuning_data_stats") or stats.get(
            "preference_optimization_data_stats") or {}
        tuned = raw.get("tuned_model") or {}
        err = raw.get("error")
        error = None
        if isinstance(err, dict) and (err.get("message") or err.get("code")):
            code = _int(err.get("code"))
            message = str(err.get("message") or "")
            error = JobError(kind=_error_kind(code, message), code=None if code is None else str(code),
                             message=message)
        elif state == "JOB_STATE_EXPIRED":
            error = JobError(kind="vendor", code="EXPIRED", message="the job expired")
        return Job(
            provider="vertex",
            id=vendor_id(raw["name"]),
            status=status,
            raw_status=state,
            base_model=raw.get("base_model"),
            method=method,
            # the endpoint is what serves the tuned model; the model resource is kept in `raw`
            fine_tuned_model=tuned.get("endpoint") or tuned.get("model"),
            trained_tokens=_int(section.get("total_billable_token_count")),
            error=error,
            created_at=_time(raw.get("create_time")),
            started_at=_time(raw.get("start_time")),
            finished_at=_time(raw.get("end_time")),
            training_file=spec.get("training_dataset_uri"),
            validation_file=spec.get("validation_dataset_uri"),
            hyperparameters=hp,
            client_ref=client_ref_of(raw.get("tuned_model_display_name"), raw.get("labels")),
            warnings=[warning] if warning else [],
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponseError(f"Vertex returned a tuning job that cannot be read: {exc!r}",
                                     provider="vertex", body=raw) from exc


@contextlib.contextmanager
def vendor_errors(what: str = "Vertex AI") -> Iterator[None]:
    """Map google-genai, google-cloud-storage, google-auth and transport exceptions into ours, by
    HTTP status first; always chained. Messages carry the vendor's words, never credentials."""
    import google.auth.exceptions as auth_exc
    import httpx2
    import pydantic
    import requests
    from google.api_core import exceptions as core_exc
    from google.genai import errors as genai_errors

    try:
        yield
    except genai_errors.APIError as exc:
        # the answer may repeat the token we sent: out of the SDK error (we chain from it) too
        redact_exception(exc, sent_credentials(exc))
        status = int(exc.code or 0)
        headers = dict(getattr(exc.response, "headers", None) or {})
        hint = (f"the access token in {TOKEN_ENV} may have expired (one lasts about an hour):"
                " set a fresh one (`gcloud auth print-access-token`)"
                if status == 401 and os.environ.get(TOKEN_ENV) else "")
        raise error_class_for_status(status)(
            f"{what} answered {status} {exc.status or ''}: {exc.message}", provider="vertex",
            status_code=status, body=exc.details, retry_after=parse_retry_after(headers),
            hint=hint) from exc
    except core_exc.GoogleAPICallError as exc:
        redact_exception(exc, sent_credentials(exc))
        status = int(exc.code or 0)
        response = getattr(exc, "response", None)
        headers = dict(getattr(response, "headers", None) or {})
        raise error_class_for_status(status)(
            f"{what} answered {status}: {exc.message}", provider="vertex", status_code=status or None,
            body=getattr(exc, "errors", None), retry_after=parse_retry_after(headers)) from exc
    except (httpx2.TimeoutException, requests.exceptions.Timeout) as exc:
        raise VendorTimeoutError(f"{what} did not answer in time", provider="vertex") from exc
    except (httpx2.TransportError, requests.exceptions.ConnectionError) as exc:
        raise VendorConnectionError(f"could not reach {what}: {type(exc).__name__}",
                                    provider="vertex") from exc
    except auth_exc.RefreshError as exc:
        raise AuthError("Google refused to refresh the credentials", provider="vertex",
                        hint="run `gcloud auth application-default login` again") from exc
    except auth_exc.TransportError as exc:
        raise VendorConnectionError("could not reach Google to refresh the credentials",
                                    provider="vertex") from exc
    except pydantic.ValidationError as exc:
        raise MalformedResponseError(f"{what} answered with something google-genai cannot read:"
                                     f" {exc.error_count()} error(s)", provider="vertex") from exc
    except ValueError as exc:
        # a 2xx whose body is not JSON (google-genai's json.loads, google-cloud-storage's
        # requests `.json()`): without this, a raw JSONDecodeError reached the user
        raise MalformedResponseError(f"{what} answered with something that is not JSON: {exc}",
                                     provider="vertex") from exc


class VertexProvider(Provider):
    name = "vertex"
    title = "Google Gemini tuning on Vertex AI"
    methods = ("sft", "dpo")
    upload_kind = "gcs"
    key_env = "GOOGLE_APPLICATION_CREDENTIALS"
    # google-genai reads it too; Cloud Storage follows STORAGE_EMULATOR_HOST (google-cloud-storage)
    base_url_env = "GOOGLE_VERTEX_BASE_URL"
    uses_api_key = False
    # https://ai.google.dev/gemini-api/docs/model-tuning (checked 2026-11-28)
    notes = (
        VendorNote(date="2025-05", text="Gemini tuning runs on Vertex AI only: since Gemini 1.5"
                   " Flash-001 was deprecated (May 2025) no model can be tuned through the Gemini"
                   " Developer API or AI Studio"),
    )

    @classmethod
    def credentials_status(cls) -> tuple[str | None, str]:
        # Application Default Credentials, looked for where google.auth looks first, without its
        # last resort (asking the GCE metadata server, a network call).
        # https://cloud.google.com/docs/authentication/application-default-credentials
        where = ", ".join(f"{label} {os.environ[var]}" for label, var in (
            ("project", "GOOGLE_CLOUD_PROJECT"), ("location", "GOOGLE_CLOUD_LOCATION"))
            if os.environ.get(var)) or "no GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION set"
        how = ("run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS"
               f" to a service-account key file or {TOKEN_ENV} to an access token (`gcloud auth"
               " print-access-token`); set GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION"
               " and TUNEOPS_VERTEX_BUCKET (gs://BUCKET/PREFIX)")
        if _env_token() is not None:
            return f"env:{TOKEN_ENV} ({where})", ""
        named = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if named:
            if Path(named).is_file():
                return f"env:GOOGLE_APPLICATION_CREDENTIALS ({where})", ""
            return None, f"GOOGLE_APPLICATION_CREDENTIALS names {named}, which is not a file; {how}"
        config = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
        if (Path(config) / "application_default_credentials.json").is_file():
            return f"gcloud application-default credentials ({where})", ""
        return None, f"no Application Default Credentials found: {how} (on Google Cloud the" \
            " attached service account is used)"

    def __init__(
        self,
        *,
        project: str | None = None,
        location: str | None = None,
        bucket: str | None = None,
        credentials: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        http_client: Any = None,
        storage_client: Any = None,
        base_url: str | None = None,
        page_size: int = 100,
    ) -> None:
        super().__init__(retry=retry, timeout=timeout)
        _refuse_developer_api(project)
        self.location = location or os.environ.get("GOOGLE_CLOUD_LOCATION") or ""
        if not self.location:
            raise UsageError("no Vertex AI location for Gemini tuning",
                             hint="set GOOGLE_CLOUD_LOCATION (e.g. `export GOOGLE_CLOUD_LOCATION="
                             "us-central1`, a region that offers Gemini tuning) or pass location=")
        self._bucket_flag = bucket
        self._credentials, adc_project = _credentials(credentials)
        self.project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or adc_project or ""
        if not self.project:
            raise UsageError("no Google Cloud project for Vertex AI",
                             hint="set GOOGLE_CLOUD_PROJECT (`export GOOGLE_CLOUD_PROJECT=my-project`),"
                             " run `gcloud config set project my-project` before"
                             " `gcloud auth application-default login`, or pass project=")
        self.page_size = page_size
        self._storage = storage_client
        host = ("aiplatform.googleapis.com" if self.location == "global"
                else f"{self.location}-aiplatform.googleapis.com")
        self.base_url = self.configured_url(base_url, f"https://{host}")
        self.client = self._genai_client(http_client, self.base_url + "/")

    def _genai_client(self, http_client: Any, base_url: str | None) -> Any:
        import httpx2
        from google import genai
        from google.genai import types

        # google-genai sets no timeout by default: ours goes on the httpx2 client and on each
        # request (HttpOptions.timeout is in milliseconds). attempts=1: the SDK's own retries are
        # off, RetryPolicy is the one retry layer.
        self._http = http_client if http_client is not None else httpx2.Client(timeout=self.timeout)
        options = types.HttpOptions(httpx_client=self._http, timeout=int(self.timeout * 1000),
                                    retry_options=types.HttpRetryOptions(attempts=1))
        if base_url:
            options.base_url = base_url
        # Kept on self: the genai client closes its HTTP client when it is garbage-collected.
        return genai.Client(vertexai=True, project=self.project, location=self.location,
                            credentials=self._credentials, http_options=options)

    @classmethod
    def sandboxed(cls, transport: Any, *, retry: RetryPolicy | None = None, **options: Any
                  ) -> VertexProvider:
        import httpx2
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage  # type: ignore[import-untyped]
        from google.oauth2.credentials import Credentials

        from tuneops.providers.sandbox.requests_transport import sandbox_session

        storage_client = storage.Client(
            project=SANDBOX_PROJECT, credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            _http=sandbox_session(transport.sandbox),
            client_options={"api_endpoint": SANDBOX_STORAGE_ENDPOINT})
        options.setdefault("project", SANDBOX_PROJECT)
        options.setdefault("location", SANDBOX_LOCATION)
        options.setdefault("bucket", SANDBOX_BUCKET)
        # a fixed, fake bearer token: the sandbox accepts any and never stores it
        token = Credentials(token="sandbox-token")  # type: ignore[no-untyped-call]
        return cls(credentials=token, base_url=SANDBOX_BASE_URL,
                   http_client=httpx2.Client(transport=transport), storage_client=storage_client,
                   retry=retry, **options)

    def __repr__(self) -> str:
        return f"VertexProvider(project={self.project!r}, location={self.location!r})"

    def close(self) -> None:
        self.client.close()
        self._http.close()
        if self._storage is not None:
            self._storage.close()

    def _vendor_errors(self) -> AbstractContextManager[None]:
        return vendor_errors()

    # -- files -----------------------------------------------------------------------------------

    def bucket(self) -> tuple[str, str]:
        from tuneops.config import resolve

        setting = resolve("vertex_bucket", flag=self._bucket_flag)
        if not setting.value:
            raise UsageError("no Cloud Storage location for Vertex training data",
                             hint="pass --vertex-bucket gs://BUCKET/PREFIX, set TUNEOPS_VERTEX_BUCKET,"
                             " or add vertex_bucket = \"gs://BUCKET/PREFIX\" to tuneops.toml")
        return parse_bucket(str(setting.value))

    def storage(self) -> Any:
        if self._storage is None:
            from google.cloud import storage

            # With STORAGE_EMULATOR_HOST set, google-cloud-storage talks to that endpoint with
            # anonymous credentials: ours (a real token, or ADC that would refresh against
            # Google) are not handed to it, so they never reach an emulator.
            emulated = bool(os.environ.get(STORAGE_EMULATOR_ENV))
            self._storage = storage.Client(project=self.project,
                                           credentials=None if emulated else self._credentials)
        # google-cloud-storage 3.x fetches bucket metadata in a background thread only to label
        # trace spans; that is an extra buckets.get a tuning user may not be allowed to make.
        if getattr(self._storage, "_bucket_metadata_cache", None) is not None:
            self._storage._bucket_metadata_cache = None
        return self._storage

    def upload_file(self, path: str | Path, *, progress: Callable[[int, int], None] | None = None
                    ) -> UploadedFile:
        from google.api_core import exceptions as core_exc

        p = Path(path)
        bucket_name, prefix = self.bucket()
        digest = hashlib.sha256()
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        sha = digest.hexdigest()
        name = f"{prefix}/{sha}.jsonl" if prefix else f"{sha}.jsonl"
        blob = self.storage().bucket(bucket_name).blob(name)
        size = p.stat().st_size
        # retry=None on every call: RetryPolicy is the one retry layer.
        reused = bool(self._get(blob.exists, retry=None, timeout=self.timeout))
        if not reused:
            def send() -> None:
                # ifGenerationMatch=0 (create only) makes the upload safe to retry: after a lost
                # answer, the second attempt finds the object and gets 412 (same name, same bytes).
                try:
                    with vendor_errors("Cloud Storage"):
                        blob.upload_from_filename(str(p), content_type="application/jsonl",
                                                  if_generation_match=0, retry=None,
                                                  timeout=self.timeout)
                except InvalidRequestError as exc:
                    if not isinstance(exc.__cause__, core_exc.PreconditionFailed):
                        raise

            self.retry.call(send)
        if progress is not None:
            progress(size, size)
        uri = f"gs://{bucket_name}/{name}"
        return UploadedFile(provider=self.name, id=uri, bytes=size, filename=p.name,
                            status="uploaded", raw={"bucket": bucket_name, "name": name,
                                                    "sha256": sha, "reused": reused})

    # -- jobs ------------------------------------------------------------------------------------

    def _config(self, spec: JobSpec) -> Any:
        from google.genai import types

        method = _METHODS.get(spec.method)
        if method is None:
            raise UsageError(f"Vertex has no {spec.method!r} tuning method here", hint="use sft or dpo")
        if spec.batch_size not in (None, "auto") or spec.seed is not None:
            raise UsageError("Vertex Gemini tuning takes no batch size or seed",
                             hint="drop --batch-size / --seed for --provider vertex")
        kw: dict[str, Any] = {"method": method, "tuned_model_display_name": _display_name(spec)}
        if isinstance(spec.epochs, int):
            kw["epoch_count"] = spec.epochs
        if isinstance(spec.learning_rate_multiplier, float | int):
            kw["learning_rate_multiplier"] = float(spec.learning_rate_multiplier)
        if spec.method == "dpo" and isinstance(spec.beta, float | int):
            kw["beta"] = float(spec.beta)
        size = spec.extra.get("adapter_size")
        if size is not None:
            value = ADAPTER_SIZES.get(size) if isinstance(size, int) else str(size)
            if value not in ADAPTER_SIZES.values():
                raise UsageError(f"adapter size {size!r} is not one Vertex knows",
                                 hint=f"use one of {sorted(ADAPTER_SIZES)}")
            kw["adapter_size"] = value
        labels = {_label_key(k): label_value(str(v).lower()) for k, v in spec.labels.items()}
        kw["labels"] = {**labels, REF_LABEL: label_value(spec.client_ref)}
        if spec.validation_file:
            kw["validation_dataset"] = types.TuningValidationDataset(gcs_uri=spec.validation_file)
        return types.CreateTuningJobConfig(**kw)

    def _create_job_once(self, spec: JobSpec) -> Job:
        from google.genai import types

        config = self._config(spec)
        if not spec.training_file.startswith("gs://"):
            raise UsageError(f"Vertex trains on a gs:// URI, not {spec.training_file!r}",
                             hint="upload the file first (`upload_file`)")
        with vendor_errors(), warnings.catch_warnings():
            # the SDK flags tunings.tune as experimental on every call
            warnings.simplefilter("ignore")
            job = self.client.tunings.tune(
                base_model=spec.base_model,
                training_dataset=types.TuningDataset(gcs_uri=spec.training_file), config=config)
        return job_from_vertex(_dump(job))

    def _name(self, job_id: str) -> str:
        if job_id.startswith("projects/"):
            return job_id
        return f"projects/{self.project}/locations/{self.location}/tuningJobs/{job_id}"

    @reads("vertex", "Vertex AI's answer")
    def get_job(self, job_id: str) -> Job:
        return job_from_vertex(_dump(self._get(self.client.tunings.get, name=self._name(job_id))))

    @reads("vertex", "Vertex AI's answer")
    def list_jobs(self, *, client_ref: str | None = None) -> Iterator[Job]:
        # All pages, filtered here: the list filter's support for labels is not documented.
        token: str | None = None
        while True:
            config = {"page_size": self.page_size, **({"page_token": token} if token else {})}
            pager = self._get(self.client.tunings.list, config=config)
            for item in pager.page:
                job = job_from_vertex(_dump(item))
                if client_ref is None or job.client_ref == client_ref:
                    yield job
            token = pager.config.get("page_token")
            if not token:
                return

    @reads("vertex", "Vertex AI's answer")
    def cancel_job(self, job_id: str) -> Job:
        # The cancel call answers google.protobuf.Empty; the job is read back afterwards.
        self._get(self.client.tunings.cancel, name=self._name(job_id))
        return self.get_job(job_id)


def _dump(obj: Any) -> dict[str, Any]:
    raw: dict[str, Any] = obj.model_dump(mode="json", exclude_none=True)
    raw.pop("sdk_http_response", None)
    return raw


def _refuse_developer_api(project: str | None) -> None:
    use = (os.environ.get("GOOGLE_GENAI_USE_ENTERPRISE") or os.environ.get("GOOGLE_GENAI_USE_VERTEXAI")
           or "").strip().lower()
    keyed = [v for v in ("GEMINI_API_KEY", "GOOGLE_API_KEY") if os.environ.get(v)]
    dev_mode = use in ("0", "false") or (keyed and not project and not os.environ.get("GOOGLE_CLOUD_PROJECT"))
    if dev_mode:
        how = "GOOGLE_GENAI_USE_VERTEXAI is false" if use in ("0", "false") else \
            f"only {' / '.join(keyed)} is set"
        raise UsageError(
            f"Gemini tuning needs Vertex AI, but {how}: the Gemini Developer API has no tunable"
            " model (and google-genai drops tuning examples there)",
            hint="use a Google Cloud project: `gcloud auth application-default login`, then set"
            " GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION (and unset GOOGLE_GENAI_USE_VERTEXAI=false)")


def _env_token() -> str | None:
    """The access token in TUNEOPS_VERTEX_ACCESS_TOKEN, remembered as a secret, or None."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return None
    remember(token)  # from now on, redacted from every error, body and log record
    return token


def _credentials(given: Any) -> tuple[Any, str | None]:
    if given is not None:
        return given, None
    token = _env_token()
    if token is not None:
        from google.oauth2.credentials import Credentials

        # no refresh token: used as it is until Google answers 401 (it lasts about an hour)
        return Credentials(token=token), None  # type: ignore[no-untyped-call]
    import google.auth
    import google.auth.exceptions

    try:
        creds, project = google.auth.default(scopes=SCOPES)
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise MissingCredentialsError(
            "no Google Cloud credentials (Application Default Credentials) for Vertex AI",
            hint="run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS"
            f" to a service-account key file, or set {TOKEN_ENV} to an access token"
            " (`gcloud auth print-access-token`)") from exc
    return creds, project

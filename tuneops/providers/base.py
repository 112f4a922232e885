"""The interface every vendor adapter implements.

A Provider owns its credentials and its HTTP client. Vendor payloads are translated into
`tuneops.providers.models` by pure functions in each adapter module; vendor errors are mapped into
`tuneops.errors.ProviderError` subclasses (by HTTP status first) by one context manager per vendor.

Retries live in one place, `RetryPolicy`, and only wrap idempotent calls. Job creation is never
retried blindly: `create_job_safely` sends it once and, after an ambiguous failure (a timeout, a
dropped connection, a 5xx after the request was sent), looks for a job carrying our `client_ref`
and adopts it; only when the vendor has none does it create again.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar, Literal

from tuneops.errors import (
    CapabilityError,
    ProviderError,
    UnconfirmedCreateError,
    VendorConnectionError,
    VendorServerError,
)
from tuneops.providers.models import Checkpoint, Job, JobEvent, JobSpec, UploadedFile, VendorNote
from tuneops.providers.retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "Provider", "UploadKind"]

UploadKind = Literal["vendor_files", "gcs", "s3"]
DEFAULT_TIMEOUT = 60.0


class Provider(ABC):
    """Base of every vendor adapter. Subclasses set the class attributes and implement the
    abstract operations; optional ones raise `CapabilityError` unless the vendor offers them."""

    name: ClassVar[str]
    title: ClassVar[str]
    methods: ClassVar[tuple[str, ...]]
    upload_kind: ClassVar[UploadKind] = "vendor_files"
    supports_cancel: ClassVar[bool] = True
    supports_pause: ClassVar[bool] = False
    supports_events: ClassVar[bool] = False
    supports_checkpoints: ClassVar[bool] = False
    supports_server_estimate: ClassVar[bool] = False
    key_env: ClassVar[str] = ""
    # the environment variable that points this adapter (and, where it reads one, the vendor's
    # own SDK) at another endpoint: a compatible service, a proxy, `tuneops sandbox serve`
    base_url_env: ClassVar[str] = ""
    uses_api_key: ClassVar[bool] = True  # False: the vendor's own credential chain (e.g. ADC)
    notes: ClassVar[tuple[VendorNote, ...]] = ()

    # where this adapter sends its requests (recorded with each job); set by every adapter
    base_url: str = ""

    def __init__(self, *, retry: RetryPolicy | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.retry = retry or RetryPolicy()
        self.timeout = timeout

    @classmethod
    def at(cls, endpoint: str) -> Provider:
        """This adapter sending to `endpoint` (a job's recorded endpoint), credentials as usual."""
        return cls(base_url=endpoint)  # type: ignore[call-arg]

    @classmethod
    def configured_url(cls, given: str | None, default: str, *, env_path: str = "") -> str:
        """The endpoint to use: `given`, else `base_url_env`, else the vendor's `default`, without
        a trailing slash. `env_path` is what the adapter adds to the variable's value when that is
        the server root the vendor's SDK reads (Together's paths start with /v1; a value that
        ends with it already is kept). A password in the URL becomes a secret, redacted from
        everything shown."""
        import os

        from tuneops.redaction import url_without_password

        from_env = os.environ.get(cls.base_url_env, "").rstrip("/") if cls.base_url_env else ""
        if from_env and env_path and not from_env.endswith(env_path):
            from_env += env_path
        url = (given or from_env or default).rstrip("/")
        url_without_password(url)  # remembers its password
        return url

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - adapters without a client have nothing to release
        """Release the HTTP client."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "title": cls.title,
            "methods": list(cls.methods),
            "upload": cls.upload_kind,
            "cancel": cls.supports_cancel,
            "pause": cls.supports_pause,
            "events": cls.supports_events,
            "checkpoints": cls.supports_checkpoints,
            "server_estimate": cls.supports_server_estimate,
            "credentials_env": cls.key_env,
            "base_url_env": cls.base_url_env,
            "notes": [n.model_dump() for n in cls.notes],
        }

    @classmethod
    def credentials_status(cls) -> tuple[str | None, str]:
        """Where this adapter would find its credentials ("env:NAME", "keys file", ...; never
        the secret itself), or None and how to set them. Reads no network."""
        from tuneops.errors import MissingCredentialsError
        from tuneops.providers.credentials import resolve_key

        try:
            return resolve_key(cls.name, cls.key_env)[1], ""
        except MissingCredentialsError as err:
            return None, err.hint or err.message

    @classmethod
    def sandboxed(cls, transport: Any, *, retry: RetryPolicy | None = None, **options: Any) -> Provider:
        """An adapter whose every request (uploads included) goes to the sandbox behind
        `transport`: an httpx2 transport over a `Sandbox` (a `SandboxTransport`, or a wrapper of
        one exposing `.sandbox`). `options` are the adapter's own keyword arguments."""
        raise CapabilityError(f"the sandbox does not emulate {cls.name}", provider=cls.name)

    # -- calling the vendor ------------------------------------------------------------------------

    def _vendor_errors(self) -> AbstractContextManager[None]:
        """The context manager mapping this vendor's SDK/transport errors into ours."""
        return contextlib.nullcontext()

    def _get(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """An idempotent vendor call, with our retries and this vendor's error mapping."""

        def once() -> Any:
            with self._vendor_errors():
                return fn(*args, **kwargs)

        return self.retry.call(once)

    # -- operations ------------------------------------------------------------------------------

    @abstractmethod
    def upload_file(self, path: str | Path, *, progress: Callable[[int, int], None] | None = None
                    ) -> UploadedFile:
        """Upload a training file and wait for the vendor's processing, if it has any."""

    @abstractmethod
    def _create_job_once(self, spec: JobSpec) -> Job:
        """Send one job creation request. Never retried by itself."""

    @abstractmethod
    def get_job(self, job_id: str) -> Job: ...

    @abstractmethod
    def list_jobs(self, *, client_ref: str | None = None) -> Iterator[Job]:
        """Every job (all pages), newest first; only those carrying `client_ref` if given."""

    def cancel_job(self, job_id: str) -> Job:
        raise CapabilityError(f"{self.name} jobs cannot be cancelled", provider=self.name)

    def pause_job(self, job_id: str) -> Job:
        raise CapabilityError(f"{self.name} jobs cannot be paused", provider=self.name)

    def resume_job(self, job_id: str) -> Job:
        raise CapabilityError(f"{self.name} jobs cannot be resumed", provider=self.name)

    def list_events(self, job_id: str) -> Iterator[JobEvent]:
        raise CapabilityError(f"{self.name} does not publish job events", provider=self.name)

    def list_checkpoints(self, job_id: str) -> Iterator[Checkpoint]:
        raise CapabilityError(f"{self.name} does not publish checkpoints", provider=self.name)

    def server_estimate(self, spec: JobSpec) -> tuple[float, str]:
        """The vendor's own price quote for `spec`: (amount, ISO currency). Only adapters whose
        vendor quotes prices (`supports_server_estimate`) implement it."""
        raise CapabilityError(f"{self.name} does not quote prices before a job runs",
                              provider=self.name)

    def find_job_by_ref(self, client_ref: str) -> Job | None:
        """The vendor's job carrying our reference, if any (newest first)."""
        for job in self.list_jobs(client_ref=client_ref):
            if job.client_ref == client_ref:
                return job
        return None

    def create_job_safely(self, spec: JobSpec) -> Job:
        """Create a job exactly once, even when the answer to the create request is lost.

        A creation that fails ambiguously (no answer, a dropped connection, a 5xx: the vendor may
        have created the job) is followed by a look-up of `spec.client_ref` (its reads retried); the
        job found is adopted. Only a creation known not to have happened is sent again: a 429
        (refused), or an ambiguous failure after the look-up found no job; both wait as the retry
        policy says. A look-up that fails for good raises `UnconfirmedCreateError`, which is
        never retried. Other refusals (4xx) are raised as they are.
        """
        def attempt() -> Job:
            try:
                return self._create_job_once(spec)
            except (VendorConnectionError, VendorServerError) as exc:
                ambiguous: ProviderError = exc
            try:
                # not wrapped in another retry: each page of the look-up is a retried read
                # already (one retry layer; wrapping it sent attempts x attempts requests)
                found = self.find_job_by_ref(spec.client_ref)
            except ProviderError as exc:
                raise UnconfirmedCreateError(
                    f"creating the job failed ambiguously ({ambiguous.message}) and {self.name}"
                    f" could not be asked whether job {spec.client_ref} exists ({exc.message})",
                    provider=self.name,
                    hint="nothing more was sent; `tuneops reconcile` adopts the job if it exists",
                ) from exc
            if found is not None:
                return found.model_copy(update={"warnings": [
                    *found.warnings,
                    f"the create request failed ambiguously ({ambiguous.message}); adopted the"
                    f" job carrying reference {spec.client_ref}",
                ]})
            raise ambiguous  # the vendor has no such job: sending again is safe

        return self.retry.call(attempt)

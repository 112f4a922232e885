"""Vendor-neutral models of what a fine-tuning API returns: jobs, files, events, checkpoints.

Every vendor names things differently (a job's model id is `fine_tuned_model`,
`tuned_model.endpoint`, `model_output_name` or `outputModel`); each adapter translates its vendor's
payloads into these models in pure functions, keeping the vendor's own words in `raw_status` and
the whole payload in `raw`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, ParamSpec, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from tuneops.errors import MalformedResponseError

__all__ = [
    "FINAL_STATUSES",
    "Checkpoint",
    "ErrorKind",
    "Job",
    "JobError",
    "JobEvent",
    "JobSpec",
    "JobStatus",
    "UploadedFile",
    "VendorNote",
    "readable",
    "reads",
    "utc_from_timestamp",
    "vendor_id",
]

P = ParamSpec("P")
R = TypeVar("R")

# What reading a vendor payload of the wrong shape raises: a list where an object belongs
# (AttributeError, TypeError), a missing key, a string for a number, a timestamp past year 9999
# (OverflowError / ValueError), a body that is not JSON (JSONDecodeError, a ValueError), a model
# that fails validation (pydantic's ValidationError, a ValueError).
UNREADABLE: tuple[type[Exception], ...] = (
    KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError,
)


@contextmanager
def readable(provider: str, what: str, body: Any = None) -> Iterator[None]:
    """Turn an unreadable vendor answer into a chained MalformedResponseError naming the vendor.

    Our own ProviderErrors pass through untouched (none of them is in `UNREADABLE`).
    """
    try:
        yield
    except UNREADABLE as exc:
        raise MalformedResponseError(f"{what} cannot be read: {type(exc).__name__}: {exc}"[:500],
                                     provider=provider, body=body) from exc


def vendor_id(value: Any) -> str:
    """An id from a vendor payload: a non-empty string (or a number). Anything else (None, "",
    a list) is an unreadable answer, not a job called "None"."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ValueError(f"not an id: {value!r}")
    return str(value)


def reads(provider: str, what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function that reads vendor answers (a translation, or a provider method that
    fetches and translates; generators included) with `readable`."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*args: P.args, **kwargs: P.kwargs) -> Any:
                with readable(provider, what):
                    yield from cast(Iterator[Any], fn(*args, **kwargs))

            return cast(Callable[P, R], gen)

        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            with readable(provider, what):
                return fn(*args, **kwargs)

        return call

    return wrap

JobStatus = Literal["pending", "validating", "queued", "running", "succeeded", "failed", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
ErrorKind = Literal["data", "quota", "auth", "vendor", "unknown"]


def utc_from_timestamp(value: Any) -> datetime | None:
    """A UTC datetime from a Unix timestamp (seconds); None for None or 0."""
    if value is None or value == 0:
        return None
    return datetime.fromtimestamp(float(value), tz=UTC)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VendorNote(_Model):
    """A dated fact users must know (a shutdown, a deprecation)."""

    date: str  # ISO date the fact takes or took effect
    text: str


class JobError(_Model):
    kind: ErrorKind
    code: str | None = None
    message: str
    param: str | None = None


class Job(_Model):
    """A fine-tuning job as one vendor reports it, normalized."""

    provider: str
    id: str
    status: JobStatus
    raw_status: str
    base_model: str | None = None
    method: str | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    cost: float | None = None
    currency: str | None = None
    error: JobError | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    estimated_finish: datetime | None = None
    training_file: str | None = None
    validation_file: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    client_ref: str | None = None
    result_files: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        """Finished for good. A success without a model id is not final until the id appears."""
        if self.status == "succeeded":
            return self.fine_tuned_model is not None
        return self.status in FINAL_STATUSES


class UploadedFile(_Model):
    provider: str
    id: str
    bytes: int | None = None
    filename: str | None = None
    status: str | None = None  # the vendor's processing status, when it has one
    created_at: datetime | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class JobEvent(_Model):
    provider: str
    job_id: str
    id: str
    created_at: datetime | None = None
    level: str = "info"
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


class Checkpoint(_Model):
    provider: str
    job_id: str
    id: str
    step: int | None = None
    model: str | None = None
    created_at: datetime | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class JobSpec(_Model):
    """What to create. `client_ref` is our reference, carried to the vendor so that a job whose
    creation ended ambiguously can be found and adopted instead of created twice."""

    base_model: str
    training_file: str
    method: str = "sft"
    validation_file: str | None = None
    epochs: int | Literal["auto"] | None = None
    batch_size: int | Literal["auto"] | None = None
    learning_rate_multiplier: float | Literal["auto"] | None = None
    beta: float | Literal["auto"] | None = None
    suffix: str | None = None
    seed: int | None = None
    client_ref: str
    labels: dict[str, str] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)  # vendor passthrough (e.g. integrations)

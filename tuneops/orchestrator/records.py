"""What the ledger hands back: frozen dataclasses, importable without SQLAlchemy or pydantic.

`tuneops list` builds them straight from SQLite rows (see `readpath`); importing pydantic and
building a model class would cost more than half of that command's start-up budget. Rows come
from our own database, so there is nothing to validate; `to_dict()` gives the JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

__all__ = ["JOB_TIMES", "HistoryEntry", "JobRecord", "utc"]

JOB_TIMES = ("created_at", "updated_at", "submitted_at", "finished_at")


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything the ledger stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (times as ISO 8601 strings in UTC)."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord(_Record):
    """A ledger row."""

    id: str
    provider: str
    endpoint: str | None = None
    base_model: str | None = None
    method: str | None = None
    hyperparameters_requested: dict[str, Any] | None = None
    hyperparameters_resolved: dict[str, Any] | None = None
    dataset_path: str | None = None
    dataset_sha256: str | None = None
    dataset_examples: int | None = None
    dataset_tokens: int | None = None
    training_file_id: str | None = None
    validation_file_id: str | None = None
    vendor_job_id: str | None = None
    client_ref: str
    status: str
    raw_status: str | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    estimated_cost: float | None = None
    billed_cost: float | None = None
    currency: str | None = None
    cost_basis: str | None = None
    error_kind: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    labels: dict[str, str] | None = None
    sandbox: bool = False
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    parent_id: str | None = None  # the job this one was migrated from (`tuneops migrate`)
    validation_path: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> JobRecord:
        """From a SQLAlchemy row."""
        return cls.from_mapping(dict(row._mapping))

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> JobRecord:
        """From column values as the database driver gives them (naive UTC times, 0/1 flags)."""
        for key in JOB_TIMES:
            data[key] = utc(data[key])
        data["sandbox"] = bool(data["sandbox"])
        return cls(**data)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry(_Record):
    """One row of a job's append-only history: a status change, a vendor event, or a note."""

    seq: int
    job_id: str
    at: datetime
    kind: str
    status: str | None = None
    raw_status: str | None = None
    vendor_event_id: str | None = None
    message: str | None = None
    data: dict[str, Any] | None = None

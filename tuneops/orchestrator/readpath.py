"""The ledger's read path for commands people type often (`tuneops list`), without SQLAlchemy.

Importing SQLAlchemy alone costs about 150 ms, the whole start-up budget of `tuneops list`
(bench/cli_startup.py). When the ledger is a local SQLite file already at the latest migration,
`list_jobs` reads it with the standard library's sqlite3, using the statement SQLAlchemy compiles
for `Ledger.list_jobs` (tests/orchestrator/test_readpath.py pins the two paths to the same
records over every filter). Any other case (PostgreSQL, a ledger that does not exist yet or needs
a migration) goes through `Ledger`, which creates and migrates it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tuneops.orchestrator.records import JOB_TIMES, JobRecord
from tuneops.paths import state_dir

__all__ = ["JOB_COLUMNS", "LATEST_MIGRATION", "default_url", "list_jobs", "sqlite_path"]

# Pinned against schema.jobs and schema.MIGRATIONS by the tests.
LATEST_MIGRATION = "0003_job_lineage"
JOB_COLUMNS = (
    "id", "provider", "endpoint", "base_model", "method", "hyperparameters_requested",
    "hyperparameters_resolved", "dataset_path", "dataset_sha256", "dataset_examples",
    "dataset_tokens", "training_file_id", "validation_file_id", "vendor_job_id", "client_ref",
    "status", "raw_status", "fine_tuned_model", "trained_tokens", "estimated_cost", "billed_cost",
    "currency", "cost_basis", "error_kind", "error_code", "error_message", "labels", "sandbox",
    "created_at", "updated_at", "submitted_at", "finished_at", "parent_id", "validation_path",
)
_JSON = frozenset({"hyperparameters_requested", "hyperparameters_resolved", "labels"})
_FINAL = ("succeeded", "failed", "cancelled")


def default_url() -> str:
    """`TUNEOPS_DB`, else `db` in tuneops.toml / the state dir's config.toml, else SQLite."""
    from tuneops.config import resolve

    url = resolve("db").value
    if url:
        return str(url)
    path = state_dir() / "ledger.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def sqlite_path(url: str) -> Path | None:
    """The file of a plain `sqlite:///path` URL (no driver, no query, not in memory)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix):]
    return Path(path) if path and path != ":memory:" else None


def _db_time(value: datetime) -> str:
    # how SQLAlchemy stores a DateTime in SQLite: the UTC wall time, no offset
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _record(row: tuple[Any, ...]) -> JobRecord:
    data: dict[str, Any] = dict(zip(JOB_COLUMNS, row, strict=True))
    for key in _JSON:
        if data[key] is not None:
            data[key] = orjson.loads(data[key])
    for key in JOB_TIMES:  # SQLAlchemy's text form in SQLite; from_mapping makes them UTC
        if data[key] is not None:
            data[key] = datetime.fromisoformat(data[key])
    return JobRecord.from_mapping(data)


def _sqlite_list(path: Path, provider: str | None, status: str | None, since: datetime | None,
                 unfinished: bool) -> list[JobRecord] | None:
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(path, timeout=30)
    except sqlite3.Error:
        return None
    try:
        done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
        if LATEST_MIGRATION not in done:
            return None
        where, args = [], []
        if provider:
            where.append("jobs.provider = ?")
            args.append(provider)
        if status:
            where.append("jobs.status = ?")
            args.append(status)
        if since:
            where.append("jobs.created_at >= ?")
            args.append(_db_time(since))
        if unfinished:
            where.append("(jobs.status NOT IN (?, ?, ?) OR jobs.status = ? AND"
                         " jobs.fine_tuned_model IS NULL)")
            args.extend([*_FINAL, "succeeded"])
        sql = (f"SELECT {', '.join('jobs.' + c for c in JOB_COLUMNS)} FROM jobs"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY jobs.created_at DESC, jobs.id")
        rows = conn.execute(sql, args).fetchall()
    except sqlite3.Error:  # not a ledger, or one from another version: let Ledger say so
        return None
    finally:
        conn.close()
    return [_record(r) for r in rows]


def list_jobs(url: str | None = None, *, provider: str | None = None, status: str | None = None,
              since: datetime | None = None, label: tuple[str, str] | None = None,
              unfinished: bool = False) -> list[JobRecord]:
    """The jobs in the ledger at `url` (default: `default_url()`), newest first, filtered as
    `Ledger.list_jobs` filters them."""
    url = url or default_url()
    path = sqlite_path(url)
    records = None if path is None else _sqlite_list(path, provider, status, since, unfinished)
    if records is None:
        from tuneops.orchestrator.ledger import Ledger

        with Ledger.open(url) as ledger:
            return ledger.list_jobs(provider=provider, status=status, since=since, label=label,
                                    unfinished=unfinished)
    if label is not None:
        key, value = label
        records = [r for r in records if (r.labels or {}).get(key) == value]
    return records

"""The job ledger: every job tuneops starts, what happened to it, what it cost.

SQLite in the state directory by default (WAL mode, so readers never block the writer); any
SQLAlchemy URL given by `TUNEOPS_DB` (or the `url` argument) works the same, e.g. a shared
PostgreSQL `postgresql+psycopg://user:pass@host/db`. Opening a ledger applies pending migrations.

Writes are small transactions; concurrent writers (several watchers, a submit) are safe: SQLite
serializes them with BEGIN IMMEDIATE and a busy timeout, PostgreSQL with row-level updates; a
vendor event is recorded once (a unique key), however many watchers see it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from tuneops.errors import MissingExtraError, UsageError
from tuneops.orchestrator.readpath import default_url
from tuneops.orchestrator.records import HistoryEntry, JobRecord, utc
from tuneops.orchestrator.schema import history, jobs, migrate, uploads

if TYPE_CHECKING:
    from tuneops.providers.models import Job, JobEvent

__all__ = ["HistoryEntry", "JobRecord", "Ledger", "default_url", "new_job_id"]

log = logging.getLogger(__name__)

# Crockford-style alphabet without look-alikes (no 0/o, 1/l/i): ids people can read out and type.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def new_job_id() -> str:
    return "tn-" + "".join(secrets.choice(_ALPHABET) for _ in range(7))


def _now() -> datetime:
    return datetime.now(UTC)


_READ_ONLY = "tuneops_read_only"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        # Take the write lock at the start: two writers never deadlock upgrading read locks.
        # Reads begin DEFERRED instead: in WAL mode they then never block (nor wait for) a
        # writer. With IMMEDIATE everywhere, a read held open (iterating `iter_all` while
        # calling `history`, an export streaming to a slow pipe) held the write lock, and every
        # watcher's write waited out the busy timeout and failed with "database is locked".
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def answer_mismatch(recorded: str | None, answered: str) -> str | None:
    """Why an answer about vendor job `answered` must not be applied to a row that follows vendor
    job `recorded` (None: it may be). A row without a vendor job yet (an intent, or one marked
    never_created by reconcile) adopts the answer's job."""
    if recorded is None or recorded == answered:
        return None
    return (f"an answer about vendor job {answered} was not applied: this job follows vendor job"
            f" {recorded}")


def _finished(row: dict[str, Any]) -> bool:
    if row["status"] == "succeeded":
        return row["fine_tuned_model"] is not None
    return row["status"] in ("failed", "cancelled")


class Ledger:
    """The job ledger. `Ledger.open()` uses `TUNEOPS_DB`, else SQLite in the state directory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, migrate_now: bool = True) -> Ledger:
        url = url or default_url()
        try:
            engine = create_engine(url, future=True, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            if url.startswith("postgresql"):
                raise MissingExtraError("a PostgreSQL ledger", "postgres") from None
            raise UsageError(f"cannot use the database URL: the driver {exc.name!r} is not"
                             " installed", hint="install it, or use sqlite:///path/ledger.db"
                             ) from None
        except Exception as exc:
            raise UsageError(f"cannot use the database URL: {exc.__class__.__name__}",
                             hint="give an SQLAlchemy URL such as sqlite:///path/ledger.db or"
                             " postgresql+psycopg://user:password@host/db") from None
        if engine.dialect.name == "sqlite":
            _sqlite_setup(engine)
        ledger = cls(engine)
        if migrate_now:
            try:
                migrate(engine)
            except DBAPIError as exc:
                engine.dispose()
                where = engine.url.render_as_string(hide_password=True)
                raise UsageError(f"cannot open the ledger {where}: {exc.orig}",
                                 hint="give --db / TUNEOPS_DB a ledger database (SQLite file or"
                                 " PostgreSQL URL) that this user can reach") from exc
        return ledger

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------------

    def record_intent(self, *, provider: str, client_ref: str | None = None,
                      job_id: str | None = None, **fields: Any) -> JobRecord:
        """Write down a job we are about to create, before any vendor call, so that a crash
        at any later step leaves a row that `reconcile` can resolve."""
        now = _now()
        jid = job_id or new_job_id()
        row = {"id": jid, "provider": provider, "client_ref": client_ref or jid,
               "status": "pending", "raw_status": "intent", "created_at": now, "updated_at": now,
               "sandbox": False, **fields}
        with self.engine.begin() as conn:
            conn.execute(jobs.insert().values(**row))
            self._append(conn, jid, "status", status="pending", raw_status="intent",
                         message="intent recorded")
        return self.get(jid)

    def update_fields(self, job_id: str, **fields: Any) -> JobRecord:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id)
                         .values(updated_at=_now(), **fields))
        return self.get(job_id)

    def record_vendor_job(self, job_id: str, job: Job) -> tuple[JobRecord, bool]:
        """Store what the vendor says about a job; append a history row when its status (or
        raw status) changed. Returns the record and whether anything changed."""
        values: dict[str, Any] = {
            "vendor_job_id": job.id,
            "status": job.status,
            "raw_status": job.raw_status,
            "fine_tuned_model": job.fine_tuned_model,
            "trained_tokens": job.trained_tokens,
            "hyperparameters_resolved": job.hyperparameters or None,
            "error_kind": job.error.kind if job.error else None,
            "error_code": job.error.code if job.error else None,
            "error_message": job.error.message if job.error else None,
            "finished_at": job.finished_at if job.is_final else None,
        }
        if job.cost is not None:
            values.update(billed_cost=job.cost, currency=job.currency, cost_basis="vendor")
        with self.engine.begin() as conn:
            # Lock the row while comparing and updating: two watchers seeing the same change must
            # not both append it (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers).
            current = conn.execute(select(jobs).where(jobs.c.id == job_id).with_for_update()).first()
            if current is None:
                raise UsageError(f"no job {job_id} in the ledger")
            before = dict(current._mapping)
            mismatch = answer_mismatch(before["vendor_job_id"], job.id)
            if mismatch is not None:
                # An answer about another vendor job (an old one, a vendor's mix-up): applying it
                # would overwrite this row's vendor job, and could undo a final state.
                log.warning("%s: %s", job_id, mismatch)
                return JobRecord.from_row(current), False
            if before["vendor_job_id"] == job.id and _finished(before) and not job.is_final:
                # A stale answer: another watcher read the job earlier and wrote later. A
                # vendor job never leaves a final state, so writing it would undo the final
                # state (and append a second, bogus stretch of history). (A row without a vendor
                # job, marked never_created by reconcile, still adopts a late job.)
                return JobRecord.from_row(current), False
            if before["submitted_at"] is None:
                values["submitted_at"] = _now()
            changed = {k: v for k, v in values.items() if before.get(k) != v}
            if changed:
                conn.execute(update(jobs).where(jobs.c.id == job_id)
                             .values(updated_at=_now(), **changed))
            if ("status" in changed or "raw_status" in changed):
                self._append(conn, job_id, "status", status=job.status, raw_status=job.raw_status,
                             message="; ".join(job.warnings) or None)
        return self.get(job_id), bool(changed)

    def add_events(self, job_id: str, events: Iterable[JobEvent]) -> int:
        """Record vendor events not seen before; returns how many were new. Events of another
        vendor job than the one the row follows (a stale or mixed-up answer) are not recorded."""
        added = 0
        foreign: dict[str, int] = {}  # vendor job id -> events not recorded
        with self.engine.begin() as conn:
            recorded = conn.execute(select(jobs.c.vendor_job_id)
                                    .where(jobs.c.id == job_id)).scalar()
            for ev in events:
                if answer_mismatch(recorded, ev.job_id) is not None:
                    foreign[ev.job_id] = foreign.get(ev.job_id, 0) + 1
                    continue
                values = {"job_id": job_id, "at": ev.created_at or _now(), "kind": "event",
                          "vendor_event_id": ev.id, "message": ev.message,
                          "data": ev.data or None}
                stmt: Any
                if conn.dialect.name == "postgresql":
                    from sqlalchemy.dialects.postgresql import insert as pg_insert

                    stmt = pg_insert(history).values(**values).on_conflict_do_nothing()
                elif conn.dialect.name == "sqlite":
                    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                    stmt = sqlite_insert(history).values(**values).on_conflict_do_nothing()
                else:  # pragma: no cover - other dialects: rely on the unique key
                    stmt = history.insert().values(**values)
                try:
                    # count what RETURNING gives back: drivers disagree about rowcount here
                    added += len(conn.execute(stmt.returning(history.c.seq)).all())
                except IntegrityError:  # pragma: no cover
                    continue
        for other, count in foreign.items():
            log.warning("%s: %d event(s) of vendor job %s not recorded: this job follows vendor"
                        " job %s", job_id, count, other, recorded)
        return added

    def note(self, job_id: str, message: str, data: dict[str, Any] | None = None) -> None:
        with self.engine.begin() as conn:
            self._append(conn, job_id, "note", message=message, data=data)

    @staticmethod
    def _append(conn: Connection, job_id: str, kind: str, **values: Any) -> None:
        conn.execute(history.insert().values(job_id=job_id, at=_now(), kind=kind, **values))

    def record_upload(self, *, provider: str, account: str, sha256: str, file_id: str,
                      size: int | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(uploads.delete().where(
                (uploads.c.provider == provider) & (uploads.c.account == account)
                & (uploads.c.sha256 == sha256)))
            conn.execute(uploads.insert().values(provider=provider, account=account,
                                                 sha256=sha256, file_id=file_id, bytes=size,
                                                 created_at=_now()))

    def forget_upload(self, *, provider: str, account: str, sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(uploads.delete().where(
                (uploads.c.provider == provider) & (uploads.c.account == account)
                & (uploads.c.sha256 == sha256)))

    # -- reading ---------------------------------------------------------------------------------

    def _reading(self) -> Connection:
        """A connection for reads only (on SQLite its transactions begin DEFERRED)."""
        return self.engine.connect().execution_options(**{_READ_ONLY: True})

    def find_upload(self, *, provider: str, account: str, sha256: str) -> str | None:
        with self._reading() as conn:
            row = conn.execute(select(uploads.c.file_id).where(
                (uploads.c.provider == provider) & (uploads.c.account == account)
                & (uploads.c.sha256 == sha256))).first()
        return None if row is None else str(row[0])

    def get(self, ref: str) -> JobRecord:
        """A job by our id, its vendor job id, or its client reference."""
        with self._reading() as conn:
            row = conn.execute(select(jobs).where(
                (jobs.c.id == ref) | (jobs.c.vendor_job_id == ref) | (jobs.c.client_ref == ref)
            ).order_by(jobs.c.created_at.desc())).first()
        if row is None:
            raise UsageError(f"no job {ref!r} in the ledger",
                             hint="`tuneops list --all` shows the jobs it knows")
        return JobRecord.from_row(row)

    def children(self, job_id: str) -> list[JobRecord]:
        """Jobs migrated from `job_id`, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.parent_id == job_id)
                                .order_by(jobs.c.created_at, jobs.c.id))
            return [JobRecord.from_row(r) for r in rows]

    def list_jobs(self, *, provider: str | None = None, status: str | None = None,
             since: datetime | None = None, label: tuple[str, str] | None = None,
             unfinished: bool = False) -> list[JobRecord]:
        query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id)
        if provider:
            query = query.where(jobs.c.provider == provider)
        if status:
            query = query.where(jobs.c.status == status)
        if since:
            query = query.where(jobs.c.created_at >= since)
        if unfinished:
            query = query.where(jobs.c.status.not_in(("succeeded", "failed", "cancelled"))
                                | ((jobs.c.status == "succeeded")
                                   & jobs.c.fine_tuned_model.is_(None)))
        with self._reading() as conn:
            records = [JobRecord.from_row(r) for r in conn.execute(query)]
        if label is not None:  # JSON filtering differs between databases: filter here
            key, value = label
            records = [r for r in records if (r.labels or {}).get(key) == value]
        return records

    def history(self, job_id: str) -> list[HistoryEntry]:
        with self._reading() as conn:
            rows = conn.execute(select(history).where(history.c.job_id == job_id)
                                .order_by(history.c.seq))
            return [HistoryEntry(**{**dict(r._mapping), "at": utc(r.at)}) for r in rows]

    def iter_all(self) -> Iterator[JobRecord]:
        with self._reading() as conn:
            for row in conn.execute(select(jobs).order_by(jobs.c.created_at, jobs.c.id)):
                yield JobRecord.from_row(row)

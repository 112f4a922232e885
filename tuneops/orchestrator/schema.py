"""The ledger's tables (SQLAlchemy Core, portable between SQLite and PostgreSQL) and its
migrations: named, ordered, each applied in its own transaction together with its bookkeeping row.

Never store a secret here: no keys, no Authorization headers, no vendor payload fields that carry
credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

__all__ = ["MIGRATIONS", "applied_migrations", "history", "jobs", "metadata", "migrate", "uploads"]

metadata = MetaData()

migrations_table = Table(
    "schema_migrations", metadata,
    Column("name", String(200), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

jobs = Table(
    "jobs", metadata,
    Column("id", String(32), primary_key=True),  # ours: short, human-typable
    Column("provider", String(64), nullable=False),
    Column("endpoint", String(500)),  # base URL / account the job was sent to
    Column("base_model", String(200)),
    Column("method", String(32)),
    Column("hyperparameters_requested", JSON),
    Column("hyperparameters_resolved", JSON),
    Column("dataset_path", Text),
    Column("dataset_sha256", String(64)),
    Column("dataset_examples", Integer),
    Column("dataset_tokens", Integer),
    Column("training_file_id", String(200)),
    Column("validation_file_id", String(200)),
    Column("vendor_job_id", String(200)),
    Column("client_ref", String(200), nullable=False, unique=True),
    Column("status", String(32), nullable=False),
    Column("raw_status", String(64)),
    Column("fine_tuned_model", String(500)),
    Column("trained_tokens", Integer),
    Column("estimated_cost", Float),
    Column("billed_cost", Float),
    Column("currency", String(8)),
    Column("cost_basis", String(64)),  # "vendor" or "tokens x price table <as_of>"
    Column("error_kind", String(32)),
    Column("error_code", String(200)),
    Column("error_message", Text),
    Column("labels", JSON),
    Column("sandbox", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    # 0003: lineage (`tuneops migrate`) and where the validation set came from
    Column("parent_id", String(32)),  # the job this one was migrated from
    Column("validation_path", Text),
    UniqueConstraint("provider", "vendor_job_id", name="uq_jobs_vendor_id"),
)
# Columns added by a later migration than the one that creates their table.
ADDED_LATER: dict[str, tuple[str, ...]] = {"jobs": ("parent_id", "validation_path")}

uploads = Table(
    "uploads", metadata,
    Column("provider", String(64), primary_key=True),
    Column("account", String(500), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("file_id", String(200), nullable=False),
    Column("bytes", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

history = Table(
    "job_history", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),  # "status", "event", "note"
    Column("status", String(32)),
    Column("raw_status", String(64)),
    Column("vendor_event_id", String(200)),
    Column("message", Text),
    Column("data", JSON),
    # a vendor event is recorded once, however many watchers see it
    UniqueConstraint("job_id", "vendor_event_id", name="uq_history_event"),
)
Index("ix_history_job", history.c.job_id, history.c.seq)
Index("ix_jobs_status", jobs.c.status)


def _as_first_created(table: Table) -> Table:
    """`table` without the columns later migrations add: what its first migration created."""
    later = ADDED_LATER.get(table.name, ())
    if not later:
        return table
    return Table(table.name, MetaData(),
                 *(c._copy() for c in table.columns if c.name not in later),
                 *(UniqueConstraint(*c.columns.keys(), name=c.name) for c in table.constraints
                   if isinstance(c, UniqueConstraint) and len(c.columns) > 1))


def _create(*tables: Table) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        for table in tables:
            _as_first_created(table).create(conn)
            for index in table.indexes:
                if not inspect(conn).has_index(table.name, str(index.name)):
                    index.create(conn)

    return run


def _add_columns(table: Table, *names: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        present = {c["name"] for c in inspect(conn).get_columns(table.name)}
        for name in names:
            if name not in present:
                kind = table.c[name].type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))

    return run


# Named and ordered. Never edit one that has shipped: add the next.
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_jobs_and_uploads", _create(jobs, uploads)),
    ("0002_job_history", _create(history)),
    ("0003_job_lineage", _add_columns(jobs, *ADDED_LATER["jobs"])),
]


def applied_migrations(conn: Connection) -> set[str]:
    if not inspect(conn).has_table("schema_migrations"):
        return set()
    return {row[0] for row in conn.execute(select(migrations_table.c.name))}


def migrate(engine: Engine, upto: str | None = None) -> list[str]:
    """Apply the pending migrations in order, each in its own transaction with its bookkeeping
    row; returns the names applied. `upto` stops after that migration (for tests).

    Two processes opening a fresh ledger at once are serialized: PostgreSQL by an advisory lock,
    SQLite by its write lock (the engine begins every transaction with BEGIN IMMEDIATE).
    """
    done: list[str] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7231066)"))
        migrations_table.create(conn, checkfirst=True)
    for name, run in MIGRATIONS:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(7231066)"))
            if name not in applied_migrations(conn):
                run(conn)
                conn.execute(migrations_table.insert().values(name=name,
                                                              applied_at=datetime.now(UTC)))
                done.append(name)
        if name == upto:
            break
    return done

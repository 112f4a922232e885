"""The ledger on SQLite and PostgreSQL alike (`db_url` comes from conftest.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, select, text

from tuneops.errors import UsageError
from tuneops.orchestrator import schema
from tuneops.orchestrator.ledger import Ledger, new_job_id
from tuneops.providers.models import Job, JobError, JobEvent


def vendor_job(status: str, raw: str | None = None, **kw: object) -> Job:
    return Job(provider="openai", id="ftjob-1", status=status, raw_status=raw or status, **kw)  # type: ignore[arg-type]


def test_migrations_from_a_blank_database(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        insp = inspect(ledger.engine)
        assert {"jobs", "uploads", "job_history", "schema_migrations"} <= set(insp.get_table_names())
        with ledger.engine.connect() as conn:
            assert schema.applied_migrations(conn) == {name for name, _ in schema.MIGRATIONS}
        assert schema.migrate(ledger.engine) == []  # nothing left to apply


def test_migrations_from_the_previous_schema_keep_the_data(db_url: str) -> None:
    engine = create_engine(db_url)
    first = schema.MIGRATIONS[0][0]
    assert schema.migrate(engine, upto=first) == [first]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(schema.jobs.insert().values(
            id="tn-old0001", provider="openai", client_ref="tn-old0001", status="running",
            created_at=now, updated_at=now, sandbox=False))
    engine.dispose()
    with Ledger.open(db_url) as ledger:
        assert not inspect(ledger.engine).has_table("nope")
        record = ledger.get("tn-old0001")
        assert record.status == "running"
        ledger.note(record.id, "history works after the upgrade")
        assert [h.message for h in ledger.history(record.id)] == ["history works after the upgrade"]


def test_lineage_columns_are_added_to_a_0002_ledger(db_url: str) -> None:
    engine = create_engine(db_url)
    assert schema.migrate(engine, upto="0002_job_history")[-1] == "0002_job_history"
    assert "parent_id" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(schema.jobs.insert().values(
            id="tn-old0002", provider="openai", client_ref="tn-old0002", status="succeeded",
            created_at=now, updated_at=now, sandbox=False))
    engine.dispose()
    with Ledger.open(db_url) as ledger:
        assert {"parent_id", "validation_path"} <= {
            c["name"] for c in inspect(ledger.engine).get_columns("jobs")}
        old = ledger.get("tn-old0002")
        assert old.parent_id is None
        child = ledger.record_intent(provider="mistral", parent_id=old.id,
                                     validation_path="/data/val.jsonl")
        assert ledger.get(child.id).parent_id == old.id
        assert [c.id for c in ledger.children(old.id)] == [child.id]


def test_concurrent_openers_apply_each_migration_once(db_url: str) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Ledger.open(db_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = create_engine(db_url)
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(text("SELECT name FROM schema_migrations"))]
    engine.dispose()
    assert sorted(names) == [name for name, _ in schema.MIGRATIONS]


def test_intent_then_vendor_updates_make_a_history(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        rec = ledger.record_intent(provider="openai", base_model="gpt-4o-mini-2024-07-18",
                                   method="sft", labels={"team": "search"}, sandbox=True,
                                   hyperparameters_requested={"n_epochs": 3})
        assert rec.status == "pending" and rec.raw_status == "intent" and rec.client_ref == rec.id
        assert rec.id.startswith("tn-") and rec.created_at.tzinfo is not None
        _, changed = ledger.record_vendor_job(rec.id, vendor_job("queued"))
        assert changed
        _, changed = ledger.record_vendor_job(rec.id, vendor_job("queued"))
        assert not changed  # a poll that sees nothing new writes nothing
        done, _ = ledger.record_vendor_job(rec.id, vendor_job(
            "succeeded", fine_tuned_model="ft:gpt-4o-mini-2024-07-18:org::abc", trained_tokens=1234,
            finished_at=datetime(2026, 11, 28, tzinfo=UTC), hyperparameters={"n_epochs": 3}))
        assert done.fine_tuned_model and done.trained_tokens == 1234 and done.finished_at
        assert done.submitted_at is not None and done.vendor_job_id == "ftjob-1"
        assert [(h.kind, h.status) for h in ledger.history(rec.id)] == [
            ("status", "pending"), ("status", "queued"), ("status", "succeeded")]


def test_a_stale_answer_never_undoes_a_final_state(db_url: str) -> None:
    """Two watchers: one read the job while running and writes after the other wrote success."""
    with Ledger.open(db_url) as ledger:
        rec = ledger.record_intent(provider="openai")
        ledger.record_vendor_job(rec.id, vendor_job("running"))
        ledger.record_vendor_job(rec.id, vendor_job(
            "succeeded", fine_tuned_model="ft:m:org::x", trained_tokens=10))
        after, changed = ledger.record_vendor_job(rec.id, vendor_job("running"))
        assert not changed and after.status == "succeeded" and after.fine_tuned_model
        assert [h.status for h in ledger.history(rec.id)] == ["pending", "running", "succeeded"]


def test_an_open_read_does_not_block_a_writer(db_url: str) -> None:
    """A slow reader (an export streaming to a pipe) must not stall watchers' writes."""
    with Ledger.open(db_url) as ledger, Ledger.open(db_url) as other:
        for _ in range(3):
            ledger.record_intent(provider="openai")
        rows = ledger.iter_all()
        first = next(rows)  # the read transaction stays open
        done: list[str] = []
        writer = threading.Thread(target=lambda: done.append(
            other.record_intent(provider="mistral").id))
        writer.start()
        writer.join(timeout=10)
        assert done, "the write waited for the reader"
        assert first.provider == "openai" and len(list(rows)) == 2


def test_failed_job_keeps_its_error(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        rec = ledger.record_intent(provider="openai")
        failed, _ = ledger.record_vendor_job(rec.id, vendor_job("failed", error=JobError(
            kind="data", code="invalid_training_file", message="line 3: bad role")))
        assert (failed.error_kind, failed.error_code, failed.error_message) == (
            "data", "invalid_training_file", "line 3: bad role")


def test_events_are_recorded_once_by_concurrent_watchers(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        rec = ledger.record_intent(provider="openai")
    events = [JobEvent(provider="openai", job_id="ftjob-1", id=f"ev-{i}", message=f"step {i}")
              for i in range(40)]
    counts: list[int] = []

    def watcher() -> None:
        with Ledger.open(db_url) as mine:
            counts.append(mine.add_events(rec.id, events))

    threads = [threading.Thread(target=watcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 40  # every event counted once across the watchers
    with Ledger.open(db_url) as ledger:
        seen = [h.vendor_event_id for h in ledger.history(rec.id) if h.kind == "event"]
        assert sorted(seen) == sorted(e.id for e in events)


def test_concurrent_status_writers_lose_no_update(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        ids = [ledger.record_intent(provider="openai").id for _ in range(8)]

    def writer(jid: str) -> None:
        with Ledger.open(db_url) as mine:
            for status in ("validating", "queued", "running", "succeeded"):
                mine.record_vendor_job(jid, Job(provider="openai", id=f"v-{jid}", status=status,  # type: ignore[arg-type]
                                                raw_status=status, fine_tuned_model="ft:m"))

    threads = [threading.Thread(target=writer, args=(j,)) for j in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Ledger.open(db_url) as ledger:
        for jid in ids:
            assert ledger.get(jid).status == "succeeded"
            assert [h.status for h in ledger.history(jid)] == [
                "pending", "validating", "queued", "running", "succeeded"]


def test_lookup_by_any_id_and_filters(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        a = ledger.record_intent(provider="openai", labels={"team": "a"})
        b = ledger.record_intent(provider="mistral", labels={"team": "b"})
        ledger.record_vendor_job(a.id, vendor_job("succeeded"))  # no model id yet
        assert ledger.get("ftjob-1").id == a.id and ledger.get(b.client_ref).id == b.id
        with pytest.raises(UsageError, match="no job 'nope'"):
            ledger.get("nope")
        assert [r.id for r in ledger.list_jobs(provider="mistral")] == [b.id]
        assert [r.id for r in ledger.list_jobs(label=("team", "a"))] == [a.id]
        assert {r.id for r in ledger.list_jobs(unfinished=True)} == {a.id, b.id}
        assert ledger.list_jobs(since=datetime.now(UTC) + timedelta(hours=1)) == []
        assert [r.id for r in ledger.list_jobs(status="pending")] == [b.id]


def test_uploads_are_remembered_per_provider_account_and_content(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        key = {"provider": "openai", "account": "https://api.openai.com/v1", "sha256": "ab" * 32}
        assert ledger.find_upload(**key) is None
        ledger.record_upload(**key, file_id="file-1", size=10)
        ledger.record_upload(**key, file_id="file-2", size=10)  # re-uploaded: newest wins
        assert ledger.find_upload(**key) == "file-2"
        assert ledger.find_upload(**{**key, "account": "other"}) is None
        ledger.forget_upload(**key)
        assert ledger.find_upload(**key) is None


def test_job_ids_are_short_and_typable() -> None:
    ids = {new_job_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 10 and not set(i[3:]) & set("01ilo") for i in ids)


def test_bad_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="database URL"):
        Ledger.open("notadatabase://x")


def test_default_ledger_lives_in_the_state_dir(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path))
    monkeypatch.delenv("TUNEOPS_DB", raising=False)
    with Ledger.open() as ledger:
        assert ledger.engine.url.database is not None
        assert ledger.engine.url.database.endswith("ledger.db")
        with ledger.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(select(schema.jobs.c.id)).all() == []

"""`tuneops list` reads a local SQLite ledger without SQLAlchemy: the same records as `Ledger`,
over every filter, and a fall-back to `Ledger` (which creates or migrates) whenever it can't."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tuneops.orchestrator import Ledger, readpath
from tuneops.orchestrator.schema import MIGRATIONS, jobs, migrate


def test_the_pinned_columns_and_migration_match_the_schema() -> None:
    assert tuple(c.name for c in jobs.c) == readpath.JOB_COLUMNS
    assert MIGRATIONS[-1][0] == readpath.LATEST_MIGRATION


def _fill(url: str) -> None:
    now = datetime.now(UTC)
    with Ledger.open(url) as ledger:
        for i in range(12):
            rec = ledger.record_intent(
                provider=("openai", "mistral", "together")[i % 3], base_model=f"m-{i}",
                labels={"team": f"t{i % 2}"} if i % 4 else None,
                hyperparameters_requested={"n_epochs": i, "nested": {"a": [1, 2]}},
                estimated_cost=0.5 * i, sandbox=bool(i % 2))
            status = ("succeeded", "running", "failed", "cancelled")[i % 4]
            ledger.update_fields(
                rec.id, status=status, raw_status=status.upper(), trained_tokens=i * 1000,
                fine_tuned_model=f"ft-{i}" if status == "succeeded" and i % 8 else None,
                created_at=now - timedelta(days=i), finished_at=now - timedelta(hours=i),
                error_message="bad line 5" if status == "failed" else None)


FILTERS = [
    {},
    {"provider": "openai"},
    {"status": "succeeded"},
    {"since": datetime.now(UTC) - timedelta(days=4, hours=1)},
    {"label": ("team", "t1")},
    {"unfinished": True},
    {"provider": "mistral", "unfinished": True, "label": ("team", "t0")},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_same_records_as_the_ledger(tmp_path: Path, filters: dict[str, object],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    _fill(url)
    with Ledger.open(url) as ledger:
        expected = ledger.list_jobs(**filters)  # type: ignore[arg-type]
    monkeypatch.setattr(Ledger, "open", lambda *a, **k: pytest.fail("took the slow path"))
    got = readpath.list_jobs(url, **filters)  # type: ignore[arg-type]
    assert got == expected
    assert [r.to_dict() for r in got] == [r.to_dict() for r in expected]


def test_a_missing_ledger_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/ledger.db"
    (tmp_path / "new").mkdir()
    assert readpath.list_jobs(url) == []
    assert (tmp_path / "new" / "ledger.db").is_file()


def test_an_old_schema_is_migrated_first(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path}/ledger.db"
    engine = sa.create_engine(url)
    migrate(engine, upto=MIGRATIONS[0][0])
    engine.dispose()
    assert readpath.list_jobs(url) == []
    with Ledger.open(url, migrate_now=False) as ledger, ledger.engine.connect() as conn:
        from tuneops.orchestrator.schema import applied_migrations

        assert applied_migrations(conn) == {name for name, _ in MIGRATIONS}


def test_a_file_that_is_not_a_ledger_gets_the_ledgers_error(tmp_path: Path) -> None:
    bad = tmp_path / "ledger.db"
    bad.write_bytes(b"this is not a database" * 100)
    from tuneops.errors import UsageError

    with pytest.raises(UsageError) as info:
        readpath.list_jobs(f"sqlite:///{bad}")
    assert "not a database" in str(info.value) and str(bad) in str(info.value)


def test_tuneops_list_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    _fill(url)
    code = ("import sys; from tuneops.cli import main\n"
            "try:\n    main(['list', '--all', '--db', sys.argv[1]])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'sqlalchemy' not in sys.modules and 'pydantic' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("openai") == 4

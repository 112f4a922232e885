"""The database fixtures themselves: both backends are reachable, empty, and isolated per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from tests.orchestrator.conftest import DB_NAME_PREFIX, _create_database, _drop_database


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_gets_an_empty_database(db_url: str, round_: int) -> None:
    # Both rounds first check that the table is absent, then create it: whichever runs second would
    # see the other's table if databases were shared between tests.
    engine = sa.create_engine(db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        marker = sa.Table("isolation_marker", sa.MetaData(), sa.Column("round", sa.Integer))
        with engine.begin() as conn:
            marker.create(conn)
            conn.execute(marker.insert().values(round=round_))
        with engine.connect() as conn:
            assert conn.execute(sa.select(marker.c.round)).scalars().all() == [round_]
    finally:
        engine.dispose()


def test_url_names_the_expected_backend(db_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["db_url"]
    url = make_url(db_url)
    assert url.get_backend_name() == backend
    if backend == "sqlite":
        assert url.database is not None
        assert Path(url.database).name == "ledger.db"
        assert Path(url.database).is_absolute()
    else:
        assert url.drivername == "postgresql+psycopg"
        assert url.database is not None
        assert url.database.startswith(DB_NAME_PREFIX)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_file_url_supports_wal(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar() == "wal"
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.commit()
        # WAL is a property of the file: a new connection finds it set, and the -wal file exists.
        engine.dispose()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("SELECT x FROM t").scalar() == 1
            database = make_url(db_url).database
            assert database is not None
            assert os.path.exists(database + "-wal")
    finally:
        engine.dispose()


def test_postgresql_is_reachable(pg_url: str, record_property: pytest.RecordProperty) -> None:
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            server_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            current = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        record_property("postgresql_version", version)
        print(f"PostgreSQL server: {version}")
        assert version.startswith("PostgreSQL ")
        assert int(server_version.split(".")[0]) >= 13
        assert engine.dialect.server_version_info is not None
        assert current == make_url(pg_url).database
        assert current.startswith(DB_NAME_PREFIX)
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_earlier_test_databases_were_dropped(pg_url: str, _pg_admin: tuple[Engine, URL]) -> None:
    # Databases are named tuneops_t_<pid>_<random>: of this process's, only the current test's exists.
    admin, _ = _pg_admin
    with admin.connect() as conn:
        names = conn.execute(
            sa.text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)"),
            {"prefix": f"{DB_NAME_PREFIX}{os.getpid()}_"},
        ).scalars().all()
    assert names == [make_url(pg_url).database]


def test_drop_ends_connections_left_open(_pg_admin: tuple[Engine, URL]) -> None:
    # A test may leave a connection open (an engine it never disposed of); the drop must still work.
    admin, base = _pg_admin
    name = _create_database(admin)
    engine = sa.create_engine(base.set(database=name), poolclass=NullPool)
    conn = engine.connect()
    try:
        conn.execute(sa.text("CREATE TABLE left_open (x int)"))
        conn.commit()
        _drop_database(admin, name)
        with admin.connect() as check:
            exists = check.execute(
                sa.text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar_one()
        assert exists == 0
        with pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text("SELECT 1"))
    finally:
        conn.invalidate()
        conn.close()
        engine.dispose()

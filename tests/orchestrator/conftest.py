"""Database fixtures for the job-ledger tests: the same test runs on SQLite and on PostgreSQL.

``db_url`` is parametrized over ``sqlite`` (a file in the test's ``tmp_path``) and ``postgresql`` (a
fresh, empty database per test, created on the server named by ``TUNEOPS_TEST_PG_URL`` and dropped
afterwards). ``pg_url`` is the PostgreSQL case alone.

Without ``TUNEOPS_TEST_PG_URL`` the PostgreSQL cases are skipped on a developer's machine and FAIL under
CI (``CI`` set), so CI can never pass by silently not testing PostgreSQL. To enable them locally (as root
on a Debian machine; installs and starts a local server if needed):

    export TUNEOPS_TEST_PG_URL="$(bash .ci/postgres.sh)"

The URL's role needs the CREATEDB privilege (the script's role has it). Each per-test database is named
``tuneops_t_<pid>_<random>``; one is left behind only if pytest itself is killed mid-test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

PG_URL_ENV = "TUNEOPS_TEST_PG_URL"
ENABLE_HINT = f'export {PG_URL_ENV}="$(bash .ci/postgres.sh)"'
DB_NAME_PREFIX = "tuneops_t_"

_server_version_key = pytest.StashKey[str]()


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _pg_base_url() -> URL:
    """The server to test against, or skip (developer machine) / fail (CI) when none is configured."""
    raw = os.environ.get(PG_URL_ENV, "").strip()
    if not raw:
        if _running_in_ci():
            pytest.fail(
                f"{PG_URL_ENV} is not set under CI: .ci/run must start PostgreSQL and export it "
                f"({ENABLE_HINT}); the PostgreSQL cases are never skipped in CI.",
                pytrace=False,
            )
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV}; to enable: {ENABLE_HINT}")
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        pytest.fail(f"{PG_URL_ENV} must be a postgresql URL, got {url!r}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def _pg_admin() -> Iterator[tuple[Engine, URL]]:
    """An AUTOCOMMIT engine on the configured database, used only to create and drop test databases.

    NullPool: no connection stays open between uses, so nothing holds a test database (or the base
    database) open behind the tests' backs.
    """
    base = _pg_base_url()
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.fail(
            f"cannot connect to the PostgreSQL server in {PG_URL_ENV} ({base!r}): {exc.orig}\n"
            f"(re)start it with: {ENABLE_HINT}",
            pytrace=False,
        )
    yield engine, base
    engine.dispose()


def _create_database(admin: Engine) -> str:
    name = f"{DB_NAME_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    quoted = admin.dialect.identifier_preparer.quote(name)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    return name


def _drop_database(admin: Engine, name: str) -> None:
    """Drop a test database. Our own role's leftover sessions (a pooled engine the test did not
    dispose of, say) are terminated first. Not `DROP ... WITH (FORCE)`: it also tries to end an
    autovacuum worker on the database, which belongs to the superuser, and fails with
    InsufficientPrivilege; a plain DROP cancels autovacuum by itself. A session of ours that
    connects in between makes the DROP fail with "being accessed by other users": try again."""
    import time

    quoted = admin.dialect.identifier_preparer.quote(name)
    for attempt in range(20):
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                    " AND pid <> pg_backend_pid() AND usename = current_user"
                ),
                {"name": name},
            )
            try:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}"))
                return
            except sa.exc.OperationalError:
                if attempt == 19:
                    raise
        time.sleep(0.25)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, _pg_admin: tuple[Engine, URL]) -> Iterator[str]:
    """URL (with password) of a fresh, empty PostgreSQL database that exists for this test only."""
    admin, base = _pg_admin
    name = _create_database(admin)
    with admin.connect() as conn:
        if _server_version_key not in request.config.stash:
            version = conn.execute(sa.text("SELECT version()")).scalar()
            request.config.stash[_server_version_key] = str(version)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(admin, name)


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database: a SQLite file in ``tmp_path``, or a fresh PostgreSQL database.

    Tests that only make sense on one backend can narrow it with
    ``@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)``.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    if request.param == "postgresql":
        # Resolved lazily so that the sqlite case never needs (or skips for) a PostgreSQL server.
        return str(request.getfixturevalue("pg_url"))
    raise ValueError(f"unknown database backend {request.param!r}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say which PostgreSQL server the tests ran against (shown in CI logs)."""
    version = config.stash.get(_server_version_key, None)
    if version is not None:
        terminalreporter.write_line(f"PostgreSQL tests ran against: {version}")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state directory (ledger default, keys, sandbox state), no ambient faults or DB."""
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("TUNEOPS_DB", raising=False)
    return tmp_path / "home"

"""The reliability suite: `python -m pytest -m chaos [--chaos-jobs N]`.

Not part of the default run (pyproject's addopts deselect the `chaos` marker); `.ci/run` runs it
at a reduced size. The full run (N = 1,000) is the one whose figures the README publishes.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def chaos_jobs(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--chaos-jobs"))


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--chaos-seed"))


# The ledger database fixtures of the orchestrator tests (SQLite and PostgreSQL, the same test on
# both): imported so that pytest registers them for this directory too.
from tests.orchestrator.conftest import _pg_admin, db_url, home, pg_url  # noqa: E402, F401

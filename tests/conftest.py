"""Options for the whole suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tuneops chaos", "the reliability suite (tests/chaos, -m chaos)")
    group.addoption("--chaos-jobs", type=int, default=100,
                    help="jobs per chaos run (the full run uses 1000; CI 100)")
    group.addoption("--chaos-seed", type=int, default=20261128, help="seed of the chaos runs")


def pytest_configure(config: pytest.Config) -> None:
    # TUNEOPS_SECRET_SCAN=1 switches on the secret scan (same as `-p tests.chaos.secret_scan`).
    import os

    if os.environ.get("TUNEOPS_SECRET_SCAN", "") not in ("", "0"):
        config.pluginmanager.import_plugin("tests.chaos.secret_scan")

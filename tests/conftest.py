"""Options for the whole suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tuneops chaos", "the reliability suite (tests/chaos, -m chaos)")
    group.addoption("--chaos-jobs", type=int, default=100,
                    help="jobs per chaos run (the full run uses 1000; CI 100)")
    group.addoption("--chaos-seed", type=int, default=20261128, help="seed of the chaos runs")

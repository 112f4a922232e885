"""Settings precedence: flag > environment > project tuneops.toml > state config.toml > default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tuneops import config
from tuneops.cli import cli
from tuneops.errors import UsageError
from tuneops.orchestrator.ledger import default_url


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("TUNEOPS_HOME", str(home))
    monkeypatch.chdir(project)
    for var in ("TUNEOPS_DB", "TUNEOPS_PRICES", "TUNEOPS_SANDBOX_FAULTS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_precedence(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.resolve("db").source == "default"
    assert default_url().endswith("home/ledger.db")
    (isolated / "home" / "config.toml").write_text('db = "sqlite:///state.db"\n')
    assert config.resolve("db").value == "sqlite:///state.db"
    (isolated / "project" / "tuneops.toml").write_text('db = "sqlite:///project.db"\n')
    assert config.resolve("db").value == "sqlite:///project.db"
    assert default_url() == "sqlite:///project.db"
    monkeypatch.setenv("TUNEOPS_DB", "sqlite:///env.db")
    assert config.resolve("db").source == "env:TUNEOPS_DB"
    assert config.resolve("db", flag="sqlite:///flag.db").source == "flag"


def test_bad_config_files_say_what_and_where(isolated: Path) -> None:
    path = isolated / "project" / "tuneops.toml"
    path.write_text("db = [oops")
    with pytest.raises(UsageError, match="cannot be read"):
        config.resolve("db")
    path.write_text('database = "x"\n')
    with pytest.raises(UsageError, match="unknown settings: database"):
        config.resolve("db")


def test_cli_config_json_shows_sources(isolated: Path) -> None:
    (isolated / "home" / "config.toml").write_text('prices = "mine.toml"\n')
    res = CliRunner().invoke(cli, ["config", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["prices"] == {"value": "mine.toml", "source": str(isolated / "home" / "config.toml"),
                             "description": config.SETTINGS["prices"][1]}
    assert doc["db"]["source"] == "default" and doc["home"]["source"] == "env:TUNEOPS_HOME"


def test_a_database_password_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from tuneops.cli import cli

    monkeypatch.setenv("TUNEOPS_DB", "postgresql+psycopg://team:pa:ss@w0rd@db.example/ledger")
    res = CliRunner().invoke(cli, ["config", "--json"])
    assert res.exit_code == 0 and "w0rd" not in res.output and "pa:ss" not in res.output
    assert "postgresql+psycopg://team:***@db.example/ledger" in res.output

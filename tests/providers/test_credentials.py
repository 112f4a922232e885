"""Keys: flag > environment > keys file (0600); a missing key says how to set it; never shown."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tuneops.cli import cli
from tuneops.errors import MissingCredentialsError, UsageError
from tuneops.providers import credentials as cred

FAKE = "sk-tuneops-fake-0123456789"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return tmp_path / "home"


def test_precedence_flag_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    cred.set_key("openai", "from-file")
    assert cred.resolve_key("openai", "OPENAI_API_KEY")[1] == "keys file"
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    key, source = cred.resolve_key("openai", "OPENAI_API_KEY")
    assert (key.reveal(), source) == ("from-env", "env:OPENAI_API_KEY")
    key, source = cred.resolve_key("openai", "OPENAI_API_KEY", "from-flag")
    assert (key.reveal(), source) == ("from-flag", "flag")


def test_keys_file_is_private(home: Path) -> None:
    path = cred.set_key("openai", FAKE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"openai": FAKE}
    assert cred.remove_key("openai") and not cred.remove_key("openai")


def test_missing_key_says_how_to_set_it() -> None:
    with pytest.raises(MissingCredentialsError) as exc:
        cred.resolve_key("openai", "OPENAI_API_KEY")
    assert "OPENAI_API_KEY" in exc.value.hint and "tuneops keys set openai" in exc.value.hint


def test_secret_never_shows() -> None:
    s = cred.Secret(FAKE)
    assert FAKE not in repr(s) and FAKE not in str(s) and FAKE not in f"{s}"
    assert s.reveal() == FAKE


def test_corrupt_keys_file(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "keys.json").write_text("[1, 2")
    with pytest.raises(UsageError, match="cannot be read"):
        cred.resolve_key("openai", "OPENAI_API_KEY")


def test_cli_reads_the_key_from_stdin_and_never_prints_it(home: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["keys", "set", "openai"], input=FAKE + "\n")
    assert res.exit_code == 0 and FAKE not in res.output
    assert cred.resolve_key("openai", "OPENAI_API_KEY")[0].reveal() == FAKE
    res = runner.invoke(cli, ["keys", "list", "--json"])
    assert json.loads(res.output)["providers"] == ["openai"] and FAKE not in res.output
    res = runner.invoke(cli, ["providers", "--json"])
    assert res.exit_code == 0 and FAKE not in res.output
    by_name = {p["name"]: p for p in json.loads(res.output)}
    assert by_name["openai"]["credentials"] == "keys file"
    res = runner.invoke(cli, ["keys", "set", "opnai"], input="x\n")
    assert res.exit_code == 2 and "did you mean 'openai'" in res.output

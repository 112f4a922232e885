"""Effective settings and where each came from.

Precedence, highest first: a command-line flag, an environment variable, `tuneops.toml` in the
current directory (the project), `config.toml` in the state directory, the built-in default.

    # tuneops.toml (or $TUNEOPS_HOME/config.toml)
    db = "postgresql+psycopg://me@db.internal/tuneops"
    prices = "prices.toml"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneops.errors import UsageError
from tuneops.paths import state_dir
from tuneops.redaction import url_without_password

__all__ = ["SETTINGS", "Setting", "effective", "resolve"]

PROJECT_FILE = "tuneops.toml"
STATE_FILE = "config.toml"

# name -> (environment variable, description)
SETTINGS: dict[str, tuple[str, str]] = {
    "db": ("TUNEOPS_DB", "ledger database URL"),
    "prices": ("TUNEOPS_PRICES", "your own price table (TOML), in front of the bundled one"),
    "sandbox_faults": ("TUNEOPS_SANDBOX_FAULTS", "faults the sandbox injects"),
    "vertex_bucket": ("TUNEOPS_VERTEX_BUCKET", "gs://bucket/prefix for Vertex AI training data"),
}


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    source: str  # "flag", "env:NAME", a file path, or "default"
    description: str


def _files() -> list[Path]:
    return [Path.cwd() / PROJECT_FILE, state_dir() / STATE_FILE]


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"config file {path} cannot be read: {exc}",
                         hint="fix its TOML syntax or remove it") from None
    unknown = set(data) - set(SETTINGS)
    if unknown:
        raise UsageError(f"config file {path} has unknown settings: {', '.join(sorted(unknown))}",
                         hint=f"known: {', '.join(SETTINGS)}")
    return data


def resolve(name: str, flag: Any = None, default: Any = None) -> Setting:
    env_var, description = SETTINGS[name]
    if flag is not None:
        return Setting(name, flag, "flag", description)
    if os.environ.get(env_var):
        return Setting(name, os.environ[env_var], f"env:{env_var}", description)
    for path in _files():
        data = _read(path)
        if name in data:
            return Setting(name, data[name], str(path), description)
    return Setting(name, default, "default", description)


def effective() -> list[Setting]:
    """Every setting as it would be used now, with its source; plus the state directory."""
    home_env = os.environ.get("TUNEOPS_HOME")
    out = [Setting("home", str(state_dir()), "env:TUNEOPS_HOME" if home_env else "default",
                   "state directory (ledger, keys, sandbox state)")]
    defaults = {"db": f"sqlite:///{state_dir() / 'ledger.db'}", "prices": "bundled table",
                "sandbox_faults": "none", "vertex_bucket": "none"}
    out.extend(resolve(name, default=defaults[name]) for name in SETTINGS)
    return [s if s.name != "db" else Setting(s.name, hide_password(str(s.value)), s.source,
                                             s.description) for s in out]


def hide_password(url: str) -> str:
    """A database URL fit to print: the password (``scheme://user:PASSWORD@host``) masked."""
    return url_without_password(url) or url

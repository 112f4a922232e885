"""API keys: from a flag, else the vendor's usual environment variable, else the keys file.

The keys file is `keys.json` in the state directory (`TUNEOPS_HOME`), created with mode 0600 by
`tuneops keys set PROVIDER`, which reads the key from a prompt or stdin, never from argv. A key is
held in a `Secret`, whose repr and str never show it; only `reveal()` does, at the point of use.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

from tuneops.errors import MissingCredentialsError, UsageError
from tuneops.paths import state_dir

__all__ = ["Secret", "keys_path", "remove_key", "resolve_key", "set_key", "stored_providers"]


class Secret:
    """A credential. `str()` and `repr()` never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def keys_path() -> Path:
    return state_dir() / "keys.json"


def _read() -> dict[str, str]:
    path = keys_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"the keys file {path} cannot be read: {exc.__class__.__name__}",
                         hint="fix or delete it, then `tuneops keys set PROVIDER` again") from None
    if not isinstance(data, dict):
        raise UsageError(f"the keys file {path} is not a JSON object", hint="delete it and set keys again")
    return {str(k): str(v) for k, v in data.items()}


def _write(data: dict[str, str]) -> None:
    path = keys_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def set_key(provider: str, key: str) -> Path:
    key = key.strip()
    if not key:
        raise UsageError("empty key", hint="paste the key at the prompt or pipe it on stdin")
    data = _read()
    data[provider] = key
    _write(data)
    return keys_path()


def remove_key(provider: str) -> bool:
    data = _read()
    if provider not in data:
        return False
    del data[provider]
    _write(data)
    return True


def stored_providers() -> list[str]:
    return sorted(_read())


def resolve_key(provider: str, env_var: str, flag: str | None = None) -> tuple[Secret, str]:
    """The key and where it came from ("flag", "env:NAME" or "keys file"); never logs it."""
    if flag:
        return Secret(flag), "flag"
    value = os.environ.get(env_var)
    if value:
        return Secret(value), f"env:{env_var}"
    stored = _read().get(provider)
    if stored:
        return Secret(stored), "keys file"
    raise MissingCredentialsError(
        f"no API key for {provider}",
        hint=f"pass --api-key, set {env_var}, or run `tuneops keys set {provider}` (it stores the"
        f" key in {keys_path()} with mode 0600)",
    )

"""Keeping secrets out of everything tuneops shows, stores or logs.

Every secret tuneops holds is remembered here when it comes into the process: API keys (each
`tuneops.providers.credentials.Secret` registers its value), passwords inside base URLs and
database URLs (`url_without_password`), webhook secrets. Redaction then works from what *we* hold,
not from what an SDK happens to keep on its exception: some vendors repeat the key they were sent
in a 401/400/429 body ("Incorrect API key provided: sk-..."), and SDKs change what they store
(openai 3.63 no longer keeps the sent request on its errors, which is how a key once leaked).

- `TuneopsError` redacts its message, hint and body when it is made, so an error can be printed,
  logged or exported as it is.
- Adapters call `redact_exception` on the SDK exception they chain from: a `--debug` traceback
  prints the whole chain.
- The CLI installs `install_log_redaction()`, which scrubs every log record made in the process
  (ours and the SDKs').

A run of 16 or more characters of a secret counts as the secret (vendors echo keys truncated), so it
is replaced too. Values shorter than 8 characters are not remembered: they would mangle ordinary
words and are no real key.

This module imports nothing from tuneops: `tuneops.errors` uses it.
"""

from __future__ import annotations

import _thread
import contextlib
from collections.abc import Iterable
from typing import Any, TypeVar

# logging and urllib.parse are imported where used: every command imports this module (through
# tuneops.errors), and `tuneops list` has a start-up budget

__all__ = [
    "REDACTED",
    "install_log_redaction",
    "known_secrets",
    "redact",
    "redact_exception",
    "remember",
    "url_without_password",
]

T = TypeVar("T")
REDACTED = "[redacted]"
MIN_SECRET = 8
# a run this long of a secret is treated as the secret (a truncated echo still gives a key away)
_PARTIAL_RUN = 16



class _Held:
    """The process's secrets, longest first (a secret containing another is replaced whole)."""

    lock = _thread.allocate_lock()
    secrets: tuple[str, ...] = ()
    log_redaction_wanted = False  # install_log_redaction() was called
    log_factory_installed = False


def remember(value: str | None) -> None:
    """Hold `value` as a secret: from now on `redact` takes it out of everything."""
    if not value or len(value) < MIN_SECRET:
        return
    with _Held.lock:
        if value not in _Held.secrets:
            _Held.secrets = tuple(sorted((*_Held.secrets, value), key=len, reverse=True))
    if _Held.log_redaction_wanted and not _Held.log_factory_installed:
        _install_log_factory()


def known_secrets() -> tuple[str, ...]:
    return _Held.secrets


def _scrub_text(text: str, secrets: Iterable[str]) -> str:
    secrets = tuple(secrets)
    # whole secrets first (longest first), then parts: a part of one secret that another one
    # shares must not break the other before it is replaced whole
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for secret in secrets:
        if len(secret) <= _PARTIAL_RUN:
            continue
        # a part of the secret (16+ characters): replace the longest run found at each place
        i = 0
        while i + _PARTIAL_RUN <= len(secret):
            piece = secret[i:i + _PARTIAL_RUN]
            at = text.find(piece)
            if at < 0:
                i += 1
                continue
            end, j = at + _PARTIAL_RUN, i + _PARTIAL_RUN
            while end < len(text) and j < len(secret) and text[end] == secret[j]:
                end, j = end + 1, j + 1
            text = text[:at] + REDACTED + text[end:]
    return text


def _all(extra: Iterable[str]) -> tuple[str, ...]:
    known = _Held.secrets
    more = tuple(s for s in extra if s and len(s) >= MIN_SECRET and s not in known)
    return (*known, *sorted(more, key=len, reverse=True)) if more else known


def redact(value: T, extra: Iterable[str] = ()) -> T:
    """`value` (text, bytes, or JSON-like containers of them) with every secret tuneops holds,
    and each of `extra`, replaced by ``[redacted]``."""
    secrets = _all(extra)
    if not secrets:
        return value
    return _redact(value, secrets)  # type: ignore[no-any-return]


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "surrogateescape")
        scrubbed = _scrub_text(text, secrets)
        return value if scrubbed == text else scrubbed.encode("utf-8", "surrogateescape")
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v, secrets) for v in value)
    return value


_EXC_ATTRS = ("message", "body", "details", "text", "hint", "_errors", "_details")


def redact_exception(exc: BaseException, extra: Iterable[str] = ()) -> None:
    """Take every secret out of `exc` and of each exception it chains from, in place (message,
    args, body and the like): a traceback prints the whole chain."""
    secrets = _all(extra)
    if not secrets:
        return
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        with contextlib.suppress(AttributeError, TypeError):
            cur.args = _redact(cur.args, secrets)
        for attr in _EXC_ATTRS:
            if attr not in getattr(cur, "__dict__", {}):
                continue
            with contextlib.suppress(AttributeError, TypeError):
                object.__setattr__(cur, attr, _redact(getattr(cur, attr), secrets))
        cur = cur.__cause__ or cur.__context__


def url_without_password(url: str | None) -> str | None:
    """`url` fit to print or store: a password in it (``scheme://user:PASSWORD@host``) is
    remembered as a secret and masked; anything else is returned as it is."""
    if not url or "@" not in url:
        return url
    from urllib.parse import SplitResult, unquote, urlsplit

    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    remember(password)
    remember(unquote(password))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}:***@{host}" if parts.username else f":***@{host}"
    with contextlib.suppress(ValueError):
        if parts.port is not None:
            netloc += f":{parts.port}"
    return SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment).geturl()


def install_log_redaction() -> None:
    """Scrub every log record made in this process (any logger, any handler): its message is
    formatted and redacted when the record is made. Idempotent. Until the first secret is held
    there is nothing to scrub, so the record factory (and `logging` itself) is installed then:
    a command that never handles a secret pays nothing for it."""
    _Held.log_redaction_wanted = True
    if _Held.secrets:
        _install_log_factory()


def _install_log_factory() -> None:
    import logging

    with _Held.lock:
        if _Held.log_factory_installed:
            return
        _Held.log_factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> Any:
        record = previous(*args, **kwargs)
        known = _Held.secrets
        if known:
            try:
                message = record.getMessage()
            except Exception:  # a record whose args do not fit its format: leave it to logging
                return record
            scrubbed = _scrub_text(message, known)
            if scrubbed != message:
                record.msg, record.args = scrubbed, None
        return record

    logging.setLogRecordFactory(factory)

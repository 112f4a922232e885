"""Secrets tuneops holds are redacted from errors, exception chains, log records and stored URLs,
from what we hold rather than from what an SDK keeps on its exceptions."""

from __future__ import annotations

import json
import logging
import os
import stat
import traceback
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

from tuneops.cli import cli
from tuneops.errors import AuthError, ProviderError, UsageError
from tuneops.providers import credentials
from tuneops.providers.credentials import Secret
from tuneops.redaction import (
    REDACTED,
    install_log_redaction,
    known_secrets,
    redact,
    redact_exception,
    remember,
    url_without_password,
)

KEY = "sk-proj-RDCT0123456789abcdefghijklmnopqrstuvwxyz"


def test_a_secret_is_remembered_and_taken_out_of_errors() -> None:
    Secret(KEY)
    assert KEY in known_secrets()
    err = AuthError(f"answered 401: Incorrect API key provided: {KEY}", provider="openai",
                    status_code=401, body={"error": {"message": f"bad key {KEY}", "param": KEY}},
                    hint=f"check {KEY}")
    for text in (str(err), repr(err), err.message, err.hint, json.dumps(err.body), repr(err.args)):
        assert KEY not in text and REDACTED in text


def test_a_truncated_echo_is_redacted_too() -> None:
    Secret(KEY)
    middle = KEY[10:30]  # some vendors echo only a part of the key
    text = redact(f"key ...{middle}... is wrong")
    assert middle not in text and REDACTED in text
    # short ordinary words that happen to occur in a key are left alone
    assert redact("the sk-proj prefix") == "the sk-proj prefix"


def test_bytes_and_nested_bodies() -> None:
    Secret(KEY)
    assert KEY.encode() not in redact(b"x" + KEY.encode() + b"\xff")
    assert redact({"a": [KEY, (1, KEY)]}) == {"a": [REDACTED, (1, REDACTED)]}


def test_the_whole_exception_chain_is_scrubbed() -> None:
    Secret(KEY)

    class SDKError(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.message = message
            self.body = {"error": message}

    try:
        try:
            raise SDKError(f"Incorrect API key provided: {KEY}")
        except SDKError as inner:
            raise ProviderError("refused", provider="x") from inner
    except ProviderError as outer:
        redact_exception(outer)
        text = "".join(traceback.format_exception(outer))
        assert KEY not in text
        assert outer.__cause__ is not None and KEY not in repr(outer.__cause__.body)  # type: ignore[attr-defined]


def test_a_password_in_a_url_is_masked_and_remembered() -> None:
    url = "https://user:pa55-w0rd-very-secret@proxy.example:8443/v1?x=1"
    shown = url_without_password(url)
    assert shown == "https://user:***@proxy.example:8443/v1?x=1"
    assert "pa55-w0rd-very-secret" in known_secrets()
    assert "pa55-w0rd-very-secret" not in str(UsageError(f"cannot reach {url}"))
    assert url_without_password("https://api.openai.com/v1") == "https://api.openai.com/v1"
    assert url_without_password("not a url @ all") == "not a url @ all"


def test_log_records_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    Secret(KEY)
    install_log_redaction()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("some.sdk").debug("sending Authorization: Bearer %s", KEY)
    assert caplog.records and KEY not in caplog.text and REDACTED in caplog.text


def test_a_password_in_the_base_url_never_reaches_the_ledger(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A job sent to an endpoint with a password in its URL stores and shows the URL masked."""
    from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest
    from tuneops.providers.openai import OpenAIProvider
    from tuneops.providers.retry import RetryPolicy
    from tuneops.providers.sandbox import SandboxTransport

    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    secret = "hunter2-but-longer"
    url = f"http://user:{secret}@sandbox.tuneops/openai/v1"
    sandbox = SandboxTransport(tmp_path / "sandbox")

    class Proxy(httpx2.BaseTransport):
        """An authenticating proxy: it takes the URL's credentials (httpx sends them as Basic
        auth) and passes the request on with the vendor key."""

        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            assert request.headers["authorization"].startswith("Basic ")
            request.headers["authorization"] = "Bearer sk-sandbox"
            return sandbox.handle_request(request)

    provider = OpenAIProvider(api_key="sk-sandbox", base_url=url, retry=RetryPolicy(sleep=lambda _: None),
                              http_client=httpx2.Client(transport=Proxy()))
    assert secret not in repr(provider)
    from tests.orchestrator._data import EXAMPLE

    db = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{db}") as ledger:
        orch = Orchestrator(ledger, sandbox=True, provider_factory=lambda _name: provider,
                            sleep=lambda _: None)
        job = orch.submit(SubmitRequest(file=EXAMPLE, provider="openai", model="gpt-4o-mini-2024-07-18"))
        assert job.endpoint == "http://user:***@sandbox.tuneops/openai/v1"
    assert secret.encode() not in db.read_bytes()
    monkeypatch.setenv("TUNEOPS_DB", f"sqlite:///{db}")
    res = CliRunner().invoke(cli, ["export", "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    assert secret not in res.output and "user:***@" in res.output


def test_a_keys_file_open_to_others_is_warned_about_and_repaired(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path))
    path = credentials.set_key("openai", "sk-stored-0123456789")
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="tuneops"):
        assert credentials.stored_providers() == ["openai"]
    assert "can be read or written by others (mode 0644)" in caplog.text
    res = CliRunner().invoke(cli, ["keys", "set", "mistral"], input="mk-0123456789abcdef\n")
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_remember_ignores_short_values() -> None:
    remember("short")
    assert "short" not in known_secrets()


def test_a_secret_sharing_a_run_with_a_longer_one_is_still_replaced_whole() -> None:
    remember("zz-" + KEY[12:40] + "-another-longer-secret-value")  # shares 28 characters with KEY
    Secret(KEY)
    assert redact(f"key {KEY} end") == f"key {REDACTED} end"


def test_log_redaction_asked_for_before_any_secret_starts_with_the_first() -> None:
    """The CLI asks for it first thing; `logging` is loaded, and records scrubbed, only once a
    secret is held (start-up of commands that handle none pays nothing)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tuneops.redaction import install_log_redaction, remember\n"
        "install_log_redaction()\n"
        "assert 'logging' not in sys.modules, 'logging loaded before any secret'\n"
        f"remember({KEY!r})\n"
        "import logging\n"
        "logging.basicConfig(stream=sys.stdout, format='%(message)s')\n"
        f"logging.getLogger('some.sdk').warning('Bearer %s', {KEY!r})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    assert out.strip() == f"Bearer {REDACTED}", out

"""Prove it: a key tuneops picks up from the environment never comes back out.

Every case runs with recognizable fake keys in the vendor variables (those of the session's secret
scan when it is on, `-p tests.chaos.secret_scan`, else fresh ones) and checks what a user or a log
could see: provider reprs, vendor errors (message, hint, body, the whole `__cause__` chain) when a
vendor answers 401 echoing our Authorization header back, every CLI command that reaches a vendor
run with `--debug` on that error path, `tuneops config` / `providers --json`, and, after jobs
submitted with the environment's key to the sandbox, the ledger rows (SQLite file and WAL, and
PostgreSQL), `tuneops export` in JSONL and CSV, and the sandbox state directory.

No network: every HTTP request either goes to the in-process sandbox or, for "real" vendor URLs, to
a patched `httpx2.HTTPTransport` that answers like a vendor refusing the key.
"""

from __future__ import annotations

import json
import logging
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner, Result

from tests.chaos.secret_scan import ENV_KEYS, SA_ENV, FakeKeys, Scanner, active, find, make_fake_keys
from tests.orchestrator._data import EXAMPLE
from tests.orchestrator.conftest import _pg_admin, db_url, pg_url  # noqa: F401 - fixtures
from tuneops.cli import cli
from tuneops.errors import AuthError, ProviderError, TuneopsError
from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest
from tuneops.providers.mistral import SANDBOX_SERVER_URL as MISTRAL_SANDBOX
from tuneops.providers.mistral import MistralProvider
from tuneops.providers.openai import SANDBOX_BASE_URL as OPENAI_SANDBOX
from tuneops.providers.openai import OpenAIProvider
from tuneops.providers.retry import RetryPolicy
from tuneops.providers.sandbox import SandboxTransport
from tuneops.providers.together import SANDBOX_BASE_URL as TOGETHER_SANDBOX
from tuneops.providers.together import TogetherProvider

pytestmark = pytest.mark.chaos

MODELS = {"openai": "gpt-4o-mini-2024-07-18", "mistral": "open-mistral-7b",
          "together": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"}
KEYED = ("openai", "mistral", "together")


def no_wait() -> RetryPolicy:
    return RetryPolicy(attempts=2, sleep=lambda _: None)


@pytest.fixture
def keys(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeKeys:
    """The fake keys, in the environment; a private TUNEOPS_HOME; no ambient settings."""
    plugin = active(request.config)
    if plugin is not None:
        fake = plugin.keys
    else:
        fake = make_fake_keys(tmp_path_factory.mktemp("fake-credentials"))
        for name, value in fake.env.items():
            monkeypatch.setenv(name, value)
        assert fake.sa_path is not None
        monkeypatch.setenv(SA_ENV, str(fake.sa_path))
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    for name in ("TUNEOPS_DB", "TUNEOPS_SANDBOX_FAULTS", "OPENAI_BASE_URL", "GOOGLE_CLOUD_PROJECT",
                 "GOOGLE_CLOUD_LOCATION", "TUNEOPS_VERTEX_BUCKET", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return fake


def assert_clean(keys: FakeKeys, where: str, data: bytes | str | None) -> None:
    if data is None:
        return
    found = find(data, keys)
    assert not found, f"{where} contains {found}"


def chain_text(exc: BaseException) -> str:
    """What `--debug` prints, plus str/repr/body/hint of every exception in the chain."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts += [str(cur), repr(cur), repr(getattr(cur, "body", None)),
                  str(getattr(cur, "hint", "")), repr(getattr(cur, "args", ()))]
        cur = cur.__cause__ or cur.__context__
    return "\n".join(parts)


def assert_result_clean(keys: FakeKeys, what: str, res: Result) -> None:
    assert_clean(keys, f"{what} stdout", res.stdout_bytes)
    assert_clean(keys, f"{what} stderr", res.stderr_bytes)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        assert_clean(keys, f"{what} traceback", chain_text(res.exception))


def assert_tree_clean(keys: FakeKeys, root: Path) -> dict[str, int]:
    scanner = Scanner(keys)
    scanner.scan_tree(root)
    assert not scanner.findings, [f.line() for f in scanner.findings]
    return dict(scanner.counts)


# -- the vendor that echoes our credentials -----------------------------------------------------

def _sent_key(request: httpx2.Request) -> str:
    for name in ("authorization", "x-api-key", "api-key", "x-goog-api-key"):
        value = request.headers.get(name)
        if value:
            return value
    return "(none)"


def echo_401(request: httpx2.Request) -> httpx2.Response:
    """A vendor refusing the key and, as some do, repeating it in every part of the answer."""
    request.read()
    sent = _sent_key(request)
    bare = sent.split(" ", 1)[-1]
    body = {"error": {"message": f"Incorrect API key provided: {bare}. Header was '{sent}'.",
                      "type": "invalid_request_error", "code": "invalid_api_key", "param": bare},
            "message": f"Unauthorized: {sent}", "detail": f"key {bare} is not valid"}
    # (bodies only: an SDK error's repr shows the response headers, and no vendor is known to
    # repeat a key there)
    return httpx2.Response(401, json=body, request=request)


@pytest.fixture
def refusing_vendor(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request to a real vendor URL is refused with our key echoed back (and none leaves)."""
    seen: list[str] = []

    def handle(self: Any, request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return echo_401(request)

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle)
    return seen


def keyed_provider(name: str, transport: Any) -> Any:
    """An adapter holding the environment's key (no api_key given), over `transport`."""
    client = httpx2.Client(transport=transport)
    if name == "openai":
        return OpenAIProvider(base_url=OPENAI_SANDBOX, http_client=client, retry=no_wait())
    if name == "mistral":
        return MistralProvider(server_url=MISTRAL_SANDBOX, http_client=client, retry=no_wait())
    return TogetherProvider(base_url=TOGETHER_SANDBOX, http_client=client, retry=no_wait())


# -- positive control: the scan sees what it looks for -------------------------------------------

def test_the_scan_finds_planted_keys(keys: FakeKeys, tmp_path: Path) -> None:
    import base64

    key = keys.env["OPENAI_API_KEY"]
    mid = len(key) // 2
    assert find(f"x {key} y", keys) and find(f"sk-...{key[mid - 12:mid + 12]}...", keys)
    assert find(base64.b64encode(f"user:{key}".encode()), keys)
    assert find(json.dumps({"k": key}).encode("utf-16-le").decode("utf-16-le"), keys)
    assert not find("sk-tuneops-fake sk-sandbox", keys)
    assert keys.sa_path is not None
    sa = json.loads(keys.sa_path.read_text())
    assert find(sa["private_key_id"], keys) and find(sa["private_key"], keys)
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "ledger.db-wal").write_bytes(b"\0\1" + keys.env["TOGETHER_API_KEY"].encode() + b"\0")
    (planted / "keys.json").write_text("{}")
    (planted / "keys.json").chmod(0o644)
    scanner = Scanner(keys)
    scanner.scan_tree(planted)
    lines = [f.line() for f in scanner.findings]
    assert any("ledger.db-wal" in ln and "TOGETHER_API_KEY" in ln for ln in lines), lines
    assert any("mode 0644" in ln for ln in lines), lines
    assert all(key not in ln for ln in lines)  # findings name the marker, never the value


# -- reprs, settings, provider listing -----------------------------------------------------------

@pytest.mark.parametrize("name", KEYED)
def test_provider_reprs_never_show_the_key(keys: FakeKeys, name: str, tmp_path: Path) -> None:
    with keyed_provider(name, SandboxTransport(tmp_path / "sbx")) as p:
        assert p.key_source == f"env:{p.key_env}"
        assert p._key.reveal() == keys.env[p.key_env]  # the env key is the one in use
        for text in (repr(p), str(p), f"{p!r:>10}", repr(vars(p)), repr(p._key), str(p._key)):
            assert_clean(keys, f"{name} repr", text)


def test_vertex_with_a_service_account_file(keys: FakeKeys, monkeypatch: pytest.MonkeyPatch,
                                            refusing_vendor: list[str]) -> None:
    """google-auth loads the fake key file (no network); the adapter's repr, its listing, and a
    refused token refresh (google-auth signs a real JWT with the key) show none of it."""
    import google.auth.transport.requests as g_requests

    from tuneops.providers.vertex import VertexProvider

    calls: list[str] = []

    class Refused:
        def __init__(self) -> None:
            self.status = 400
            self.headers: dict[str, str] = {}
            self.data = json.dumps({"error": "invalid_grant",
                                    "error_description": "Invalid JWT Signature."}).encode()

    def token_endpoint(self: Any, url: str, method: str = "GET", body: Any = None,
                       headers: Any = None, **kw: Any) -> Any:
        calls.append(url)
        return Refused()

    monkeypatch.setattr(g_requests.Request, "__call__", token_endpoint)
    with caplog_all() as records:
        p = VertexProvider(project="scan-project", location="us-central1", retry=no_wait())
        try:
            for text in (repr(p), str(p), repr(vars(p))):
                assert_clean(keys, "vertex repr", text)
            with pytest.raises(ProviderError) as info:
                p.get_job("1234")
        finally:
            p.close()
    assert calls, "the token endpoint was never asked (the fake key file was not used)"
    assert isinstance(info.value, AuthError)
    assert_clean(keys, "vertex refresh error", chain_text(info.value))
    assert_clean(keys, "vertex logs", "\n".join(records))


class caplog_all:
    """Every log record's text (DEBUG and up, traceback included) while inside the block."""

    def __enter__(self) -> list[str]:
        self.records: list[str] = []
        outer = self

        class H(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                text = record.getMessage()
                if record.exc_info and record.exc_info[1] is not None:
                    text += "".join(traceback.format_exception(*record.exc_info))
                outer.records.append(text)

        self.handler = H(level=logging.DEBUG)
        root = logging.getLogger()
        self.level = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)
        return self.records

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.level)


def test_config_and_providers_show_sources_only(keys: FakeKeys) -> None:
    runner = CliRunner()
    for args in (["config"], ["config", "--json"], ["providers"], ["providers", "--json"],
                 ["keys", "list", "--json"], ["--debug", "providers", "--json"]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert_result_clean(keys, " ".join(args), res)
    by_name = {p["name"]: p for p in json.loads(runner.invoke(cli, ["providers", "--json"]).stdout)}
    for name in KEYED:
        assert by_name[name]["credentials"] == f"env:{by_name[name]['credentials_env']}"


# -- a vendor that echoes the key: errors, their chain, logs --------------------------------------

@pytest.mark.parametrize("name", KEYED)
def test_a_401_echoing_the_key_is_not_repeated(keys: FakeKeys, name: str) -> None:
    with caplog_all() as records, keyed_provider(name, httpx2.MockTransport(echo_401)) as p:
        for call in (lambda: p.get_job("ftjob-1"), lambda: list(p.list_jobs()),
                     lambda: p.cancel_job("ftjob-1")):
            with pytest.raises(TuneopsError) as info:
                call()
            err = info.value
            assert isinstance(err, AuthError), repr(err)
            assert err.status_code == 401 and err.__cause__ is not None
            for text in (str(err), err.message, err.hint, repr(err.body), repr(err)):
                assert_clean(keys, f"{name} error", text)
            assert_clean(keys, f"{name} error chain", chain_text(err))
    assert_clean(keys, f"{name} logs", "\n".join(records))


def test_an_upload_refused_with_the_key_echoed(keys: FakeKeys, tmp_path: Path) -> None:
    for name in KEYED:
        with keyed_provider(name, httpx2.MockTransport(echo_401)) as p, \
                pytest.raises(TuneopsError) as info:
            p.upload_file(EXAMPLE)
        assert_clean(keys, f"{name} upload error", chain_text(info.value))


# -- the sandbox, the ledger and exports after jobs sent with the env key -------------------------

@pytest.fixture
def submitted(keys: FakeKeys, tmp_path: Path, db_url: str) -> Iterator[tuple[str, Path]]:  # noqa: F811
    """One job per keyed vendor, created and followed to the end in the sandbox with the
    environment's key; yields the ledger URL and the sandbox state directory."""
    sbx = tmp_path / "sandbox-state"
    transports = {n: SandboxTransport(sbx / n, speed=100000) for n in KEYED}
    with Orchestrator(Ledger.open(db_url), sandbox=True, sleep=lambda _: None,
                      provider_factory=lambda n: keyed_provider(n, transports[n])) as orch:
        for name in KEYED:
            rec = orch.submit(SubmitRequest(file=EXAMPLE, provider=name, model=MODELS[name],
                                            labels={"team": "scan"}))
            assert orch.provider(name).key_source.startswith("env:")
            rec = orch.wait(rec.id, timeout=60)
            assert rec.status == "succeeded", rec
    yield db_url, sbx


def test_ledger_exports_and_sandbox_state(keys: FakeKeys, submitted: tuple[str, Path],
                                          tmp_path: Path) -> None:
    import sqlalchemy as sa

    url, sbx = submitted
    # every row of every table, as the database returns it
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            assert tables
            for table in tables:
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).fetchall()
                assert_clean(keys, f"ledger table {table}", repr(rows))
    finally:
        engine.dispose()
    runner = CliRunner()
    for args in (["export", "--format", "jsonl", "--db", url],
                 ["export", "--format", "csv", "--db", url],
                 ["export", "--format", "csv", "-o", str(tmp_path / "export.csv"), "--db", url],
                 ["list", "--json", "--db", url], ["costs", "--json", "--db", url]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert_result_clean(keys, " ".join(args), res)
    jobs = json.loads(runner.invoke(cli, ["list", "--json", "--db", url]).stdout)
    assert len(jobs if isinstance(jobs, list) else jobs["jobs"]) == len(KEYED)
    for job in (jobs if isinstance(jobs, list) else jobs["jobs"]):
        res = runner.invoke(cli, ["show", job["id"], "--json", "--db", url])
        assert_result_clean(keys, "show", res)
    counts = assert_tree_clean(keys, tmp_path)  # the SQLite file, its WAL, exports, sandbox state
    assert counts["files"] > 3 and sbx.exists()


# -- every CLI command that reaches a vendor, with --debug, against a vendor echoing the key -------

@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_error_paths_with_debug(keys: FakeKeys, submitted: tuple[str, Path],
                                    refusing_vendor: list[str], tmp_path: Path) -> None:
    url, _ = submitted
    runner = CliRunner()
    with Ledger.open(url) as ledger:
        ids = {r.provider: r.id for r in ledger.list_jobs()}
        # force the jobs back to "running" so that every command asks the vendor again
        for rid in ids.values():
            ledger.update_fields(rid, status="running", raw_status="running")
    commands: list[list[str]] = []
    for name in KEYED:
        commands.append(["submit", str(EXAMPLE), "--provider", name, "--model", MODELS[name],
                         "--yes", "--db", url])
        rid = ids[name]
        commands += [["status", rid, "--db", url], ["events", rid, "--db", url],
                     ["cancel", rid, "--db", url]]
    commands += [["reconcile", "--grace", "0", "--db", url],
                 ["watch", "--timeout", "0.5", "--interval", "0.05", "--db", url]]
    for args in commands:
        for prefix, json_flag in ((["--debug"], []), ([], []), ([], ["--json"])):
            full = [*prefix, *args, *json_flag]
            res = runner.invoke(cli, full)
            assert_result_clean(keys, " ".join(full), res)
            if prefix and args[0] != "watch" and args[0] != "reconcile":
                assert isinstance(res.exception, TuneopsError), (full, res.output, res.exception)
    assert refusing_vendor, "no command reached the (patched) vendor"
    assert_tree_clean(keys, tmp_path)


def test_keys_file_is_0600_and_takes_its_own_value(keys: FakeKeys, tmp_path: Path) -> None:
    runner = CliRunner()
    for name in KEYED:
        res = runner.invoke(cli, ["keys", "set", name], input=f"stored-{name}-value\n")
        assert res.exit_code == 0 and "stored-" not in res.output
    path = tmp_path / "home" / "keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert_clean(keys, "keys.json", path.read_bytes())  # env keys are never copied there
    assert set(ENV_KEYS) >= {"OPENAI_API_KEY", "MISTRAL_API_KEY", "TOGETHER_API_KEY"}

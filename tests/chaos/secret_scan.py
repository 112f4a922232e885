"""A pytest plugin that proves no credential leaks: run any part of the suite with it on.

    python -m pytest -p tests.chaos.secret_scan              # the default suite
    python -m pytest -p tests.chaos.secret_scan -m chaos tests/chaos/test_secrets.py
    TUNEOPS_SECRET_SCAN=1 python -m pytest                   # the same, switched on by tests/conftest.py

For the whole session it sets recognizable fake keys, made fresh per session, for every vendor
credential tuneops reads from the environment (OPENAI_API_KEY, MISTRAL_API_KEY, TOGETHER_API_KEY,
GEMINI_API_KEY and GOOGLE_API_KEY, which tuneops only checks for presence, and
GOOGLE_APPLICATION_CREDENTIALS, pointed at a fake service-account file holding a freshly generated
RSA key whose `private_key_id` carries a marker). It also points TUNEOPS_HOME at a directory under
the session's basetemp, so a test that forgets to set it writes where the scan looks.

Then it looks for the keys (the whole key, its middle 16 characters, and its base64 forms; for the
service account the key id and pieces of the PEM body) in:

- every log record (a handler on the root logger, which is set to DEBUG), message and traceback;
- every test report: captured stdout/stderr/log sections and the failure text;
- every `click.testing.CliRunner` result: stdout, stderr and the traceback of an exception;
- every `TuneopsError` built: message, hint and, for vendor errors, `repr(body)`;
- at the end, every file under the session's basetemp (tmp_path of every test: ledgers, SQLite
  WAL/SHM files, exports, sandbox state dirs, keys files), byte for byte, and the platform's default
  tuneops state directory if a test wrote there. Every `keys.json` found must have mode 0600.

Any hit fails the session (exit status 1) and is listed by place, never by value. The figures (log
records, reports, sections, CLI results, errors, files, bytes scanned) are printed at the end and,
with TUNEOPS_SECRET_SCAN_REPORT=PATH, written there as JSON.

What is not seen: PostgreSQL ledgers (each test's database is dropped in teardown; the targeted
tests in test_secrets.py read their PostgreSQL rows directly), and subprocesses' output that a test
reads without printing it (their files are still scanned).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import stat
import tempfile
import threading
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ENV_KEYS", "FakeKeys", "Scanner", "make_fake_keys"]

# Vendor variables holding a key (tuneops sends OPENAI/MISTRAL/TOGETHER; it only checks GEMINI and
# GOOGLE_API_KEY for presence, to refuse Google's developer API).
ENV_KEYS = ("OPENAI_API_KEY", "MISTRAL_API_KEY", "TOGETHER_API_KEY", "GEMINI_API_KEY",
            "GOOGLE_API_KEY")
SA_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
KEYS_FILE = "keys.json"


# Exempted from the file scan, each for a reason (globs under the session's basetemp):
# the positive control in test_secrets.py plants keys and a 0644 keys.json on purpose;
PLANTED = ("test_the_scan_finds_planted_ke*/planted",)
# keys files a test writes by hand (not through tuneops) to test reading a corrupt one: the 0600
# rule is about files tuneops creates.
HAND_WRITTEN_KEYS_FILES = ("test_corrupt_keys_file*/home/keys.json",)


@dataclass
class FakeKeys:
    """The session's fake credentials. `markers` maps a label to bytes that must never appear."""

    env: dict[str, str] = field(repr=False)  # a failing test's report must not show them
    sa_path: Path | None
    markers: dict[str, bytes] = field(default_factory=dict, repr=False)

    def needles(self) -> list[tuple[str, bytes]]:
        return list(self.markers.items())


def _key_markers(label: str, key: str) -> dict[str, bytes]:
    raw = key.encode()
    mid = len(raw) // 2
    out = {f"{label}": raw, f"{label}[middle 16]": raw[mid - 8:mid + 8]}
    # The key base64-encoded (e.g. inside a Basic auth header or an encoded dump), at all three
    # alignments; the first and last few characters depend on the neighbours, so trim them.
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + raw)[4:-4]
        out[f"{label}[base64/{shift}]"] = enc[:24] if len(enc) > 24 else enc
    return out


def _service_account(directory: Path, tag: str) -> tuple[Path, dict[str, bytes]]:
    """A fake, well-formed service-account file (google-auth loads it without any network)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key_id = f"scanpkid{tag}{secrets.token_hex(12)}"
    info = {
        "type": "service_account",
        "project_id": "tuneops-secret-scan",
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": f"scan-{tag}@tuneops-secret-scan.iam.gserviceaccount.com",
        "client_id": "000000000000000000000",
        # never reached: no test may refresh these credentials (that would be network)
        "token_uri": "https://oauth2.invalid/token",
    }
    path = directory / "fake-service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)
    body = [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")]
    markers = {"GOOGLE_APPLICATION_CREDENTIALS private_key_id": key_id.encode()}
    for i in (2, len(body) // 2, len(body) - 3):
        markers[f"GOOGLE_APPLICATION_CREDENTIALS private_key[line {i}]"] = body[i][8:40].encode()
    return path, markers


def make_fake_keys(directory: Path | None = None) -> FakeKeys:
    """Fresh recognizable keys (and, given a directory, a fake service-account file in it)."""
    tag = secrets.token_hex(4)
    env = {
        "OPENAI_API_KEY": f"sk-proj-SCANopenai{tag}{secrets.token_hex(20)}",
        "MISTRAL_API_KEY": f"SCANmistral{tag}{secrets.token_hex(12)}",
        "TOGETHER_API_KEY": f"tgp_v1_SCANtogether{tag}{secrets.token_hex(16)}",
        "GEMINI_API_KEY": f"AIzaSCANgemini{tag}{secrets.token_hex(12)}",
        "GOOGLE_API_KEY": f"AIzaSCANgoogle{tag}{secrets.token_hex(12)}",
    }
    markers: dict[str, bytes] = {}
    for name, value in env.items():
        markers.update(_key_markers(name, value))
    sa_path = None
    if directory is not None:
        sa_path, sa_markers = _service_account(directory, tag)
        markers.update(sa_markers)
    return FakeKeys(env=env, sa_path=sa_path, markers=markers)


def find(data: bytes | str, keys: FakeKeys) -> list[str]:
    """Labels of the markers found in `data` (empty: clean)."""
    blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return [label for label, needle in keys.needles() if needle in blob]


@dataclass
class Finding:
    where: str
    labels: list[str]

    def line(self) -> str:
        return f"{self.where}: {', '.join(sorted(set(self.labels)))}"


class Scanner:
    """Counts what it scanned and keeps every hit (by place and marker label, never the value)."""

    def __init__(self, keys: FakeKeys) -> None:
        self.keys = keys
        self.counts: Counter[str] = Counter()
        self.findings: list[Finding] = []
        self._lock = threading.Lock()

    def scan(self, kind: str, where: str, data: bytes | str | None) -> None:
        if data is None:
            return
        labels = find(data, self.keys)
        with self._lock:
            self.counts[kind] += 1
            self.counts[f"{kind} bytes"] += len(data)
            if labels:
                self.findings.append(Finding(f"[{kind}] {where}", labels))

    def problem(self, where: str, what: str) -> None:
        with self._lock:
            self.findings.append(Finding(where, [what]))

    # -- files -------------------------------------------------------------------------------

    def scan_tree(self, root: Path, skip: Iterable[Path] = (), mode_ok: Iterable[Path] = ()) -> None:
        """Every regular file under `root` (but `skip`); keys files must be 0600 (but `mode_ok`)."""
        skipped = {p.resolve() for p in skip}
        lax = {p.resolve() for p in mode_ok}
        if not root.exists():
            return
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(dirpath)
            dirnames[:] = [d for d in dirnames if (here / d).resolve() not in skipped]
            with self._lock:
                self.counts["directories"] += 1
            for name in filenames:
                path = here / name
                if path.resolve() in skipped or path.is_symlink():
                    continue
                try:
                    st = path.stat()
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    data = path.read_bytes()
                except OSError as exc:
                    self.problem(str(path), f"unreadable ({exc.__class__.__name__})")
                    continue
                self.scan("files", str(path), data)
                if name == KEYS_FILE:
                    with self._lock:
                        self.counts["keys files"] += 1
                    mode = stat.S_IMODE(st.st_mode)
                    if mode != 0o600 and path.resolve() not in lax:
                        self.problem(str(path), f"keys file has mode {mode:04o}, not 0600")

    def summary(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "markers": sorted(self.keys.markers),
                "findings": [f.line() for f in self.findings]}


class _ScanHandler(logging.Handler):
    def __init__(self, scanner: Scanner) -> None:
        super().__init__(level=logging.DEBUG)
        self.scanner = scanner

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is not our business; its parts still are
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + record.stack_info
        self.scanner.scan("log records", f"log {record.name}:{record.levelname}", text)


def _exception_text(exc: BaseException) -> str:
    """str, repr and the whole chain (causes and contexts) as `--debug` would print it."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        parts += [str(cur), repr(cur), repr(getattr(cur, "body", None)), str(getattr(cur, "hint", ""))]
        cur = cur.__cause__ or cur.__context__
    return "\n".join(parts)


class SecretScanPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._dir = Path(tempfile.mkdtemp(prefix="tuneops-secret-scan-"))  # outside basetemp
        self.keys = make_fake_keys(self._dir)
        self.scanner = Scanner(self.keys)
        self._saved_env: dict[str, str | None] = {}
        self._handler = _ScanHandler(self.scanner)
        self._root_level = logging.getLogger().level
        self._undo: list[Any] = []
        self.home: Path | None = None
        self._default_state_before: set[str] | None = None

    # -- setup -------------------------------------------------------------------------------

    def _setenv(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def start(self) -> None:
        for name, value in self.keys.env.items():
            self._setenv(name, value)
        assert self.keys.sa_path is not None
        self._setenv(SA_ENV, str(self.keys.sa_path))
        root = logging.getLogger()
        root.addHandler(self._handler)
        root.setLevel(logging.DEBUG)
        self._patch_cli_runner()
        self._patch_errors()
        try:
            import platformdirs

            default = Path(platformdirs.user_data_dir("tuneops", appauthor=False))
            self._default_state = default
            self._default_state_before = ({str(p) for p in default.rglob("*")}
                                          if default.exists() else set())
        except ImportError:  # pragma: no cover
            self._default_state = None

    def _patch_cli_runner(self) -> None:
        from click.testing import CliRunner

        original = CliRunner.invoke
        scanner = self.scanner

        def invoke(runner: CliRunner, cli: Any, args: Any = None, *a: Any, **kw: Any) -> Any:
            result = original(runner, cli, args, *a, **kw)
            where = f"CliRunner {args!r}"[:200]
            text = result.stdout_bytes + b"\n" + (result.stderr_bytes or b"")
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                text += _exception_text(result.exception).encode("utf-8", "replace")
            scanner.scan("CLI results", where, text)
            return result

        CliRunner.invoke = invoke  # type: ignore[method-assign]
        self._undo.append(lambda: setattr(CliRunner, "invoke", original))

    def _patch_errors(self) -> None:
        """Scan every TuneopsError as it is built: message and hint, and a vendor error's body."""
        from tuneops import errors

        scanner = self.scanner
        base_init = errors.TuneopsError.__init__
        provider_init = errors.ProviderError.__init__

        def init(err: Any, message: str, *, hint: str = "") -> None:
            base_init(err, message, hint=hint)
            scanner.scan("errors built", type(err).__name__, f"{message}\n{hint}")

        def provider(err: Any, message: str, **kw: Any) -> None:
            provider_init(err, message, **kw)
            scanner.scan("vendor error bodies", type(err).__name__, repr(err.body))

        errors.TuneopsError.__init__ = init  # type: ignore[method-assign]
        errors.ProviderError.__init__ = provider  # type: ignore[method-assign]
        self._undo.append(lambda: setattr(errors.TuneopsError, "__init__", base_init))
        self._undo.append(lambda: setattr(errors.ProviderError, "__init__", provider_init))

    def stop(self) -> None:
        for undo in reversed(self._undo):
            undo()
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._root_level)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- hooks -------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        basetemp = self.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        self.home = basetemp / "secret-scan-home"
        self._setenv("TUNEOPS_HOME", str(self.home))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.scanner.counts["test reports"] += 1
        for title, content in report.sections:
            self.scanner.scan("report sections", f"{report.nodeid} [{title}]", content)
        if report.longrepr is not None:
            self.scanner.scan("failure texts", f"{report.nodeid} [{report.when}]",
                              report.longreprtext)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        basetemp = self.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        skip = [p for pattern in PLANTED for p in basetemp.glob(pattern)]
        mode_ok = [p for pattern in HAND_WRITTEN_KEYS_FILES for p in basetemp.glob(pattern)]
        self.scanner.counts["files exempted (planted by the scan's own test)"] = sum(
            1 for d in skip for f in d.rglob("*") if f.is_file())
        self.scanner.scan_tree(basetemp, skip=skip, mode_ok=mode_ok)
        default = getattr(self, "_default_state", None)
        if default is not None and default.exists():
            new = {str(p) for p in default.rglob("*")} - (self._default_state_before or set())
            if new:
                self.scanner.counts["files written to the default state dir"] = len(new)
            self.scanner.scan_tree(default)
        out = os.environ.get("TUNEOPS_SECRET_SCAN_REPORT")
        if out:
            Path(out).write_text(json.dumps(self.scanner.summary(), indent=2) + "\n", encoding="utf-8")
        if self.scanner.findings and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        s = self.scanner
        tr = terminalreporter
        tr.section("secret scan")
        names = ", ".join(sorted({k.split("[")[0] for k in s.keys.markers}))
        tr.write_line(f"fake credentials set for: {names} ({len(s.keys.markers)} markers)")
        c = s.counts
        tr.write_line(
            f"scanned: {c['log records']} log records, {c['test reports']} test reports"
            f" ({c['report sections']} captured sections, {c['failure texts']} failure texts),"
            f" {c['CLI results']} CliRunner results, {c['errors built']} TuneopsErrors built"
            f" ({c['vendor error bodies']} vendor error bodies),"
            f" {c['files']} files in {c['directories']} directories ({c['files bytes']:,} bytes),"
            f" {c['keys files']} keys files")
        if s.findings:
            tr.write_line(f"SECRET SCAN FAILED: {len(s.findings)} finding(s)", red=True, bold=True)
            for f in s.findings[:200]:
                tr.write_line(f"  {f.line()}", red=True)
        else:
            tr.write_line("no fake credential found anywhere", green=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.stop()


_PLUGIN_NAME = "tuneops-secret-scan"


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.has_plugin(_PLUGIN_NAME):
        return
    plugin = SecretScanPlugin(config)
    plugin.start()
    config.pluginmanager.register(plugin, _PLUGIN_NAME)
    config.stash[_plugin_key] = plugin


_plugin_key = pytest.StashKey[SecretScanPlugin]()


def active(config: pytest.Config) -> SecretScanPlugin | None:
    """The running scan, if this session has one (test_secrets.py reuses its keys)."""
    return config.stash.get(_plugin_key, None)

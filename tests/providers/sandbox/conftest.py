"""Shared fixtures for the sandbox tests: small datasets, SDK clients over the in-process
transport, and a poller. Nothing here opens a socket."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BASE_URL = "http://sandbox.tuneops/openai/v1"
FAST = 2000.0  # a 12-example job takes well under a second of real time


@pytest.fixture(autouse=True)
def _no_ambient_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)


def chat_rows(n: int = 12) -> list[dict[str, Any]]:
    return [{"messages": [
        {"role": "system", "content": "You add numbers and answer with the sum only."},
        {"role": "user", "content": f"What is {i} + {i}?"},
        {"role": "assistant", "content": str(2 * i)},
    ]} for i in range(n)]


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", [json.dumps(r) for r in chat_rows()])


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    """Twelve lines, two broken: line 3 has an unknown role, line 7 is not JSON."""
    lines = [json.dumps(r) for r in chat_rows()]
    lines[2] = json.dumps({"messages": [{"role": "robot", "content": "beep"},
                                        {"role": "assistant", "content": "boop"}]})
    lines[6] = '{"messages": [oops'
    return write_jsonl(tmp_path / "bad.jsonl", lines)


@pytest.fixture
def dpo_file(tmp_path: Path) -> Path:
    rows = [{"input": {"messages": [{"role": "user", "content": f"Say {i} politely."}]},
             "preferred_output": [{"role": "assistant", "content": f"Certainly: {i}."}],
             "non_preferred_output": [{"role": "assistant", "content": f"{i}. Go away."}]}
            for i in range(12)]
    return write_jsonl(tmp_path / "dpo.jsonl", [json.dumps(r) for r in rows])


def make_client(transport: Any, **kw: Any) -> Any:
    import httpx2
    import openai

    kw.setdefault("api_key", "sk-test")
    kw.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=BASE_URL, http_client=httpx2.Client(transport=transport), **kw)


@pytest.fixture
def transport_factory(tmp_path: Path) -> Callable[..., Any]:
    """Transports over one state directory (`tmp_path/state`), fast clock unless told otherwise."""
    from tuneops.providers.sandbox import SandboxTransport

    def make(**kw: Any) -> Any:
        kw.setdefault("speed", FAST)
        kw.setdefault("faults", "")
        return SandboxTransport(tmp_path / "state", **kw)

    return make


@pytest.fixture
def client(transport_factory: Callable[..., Any]) -> Any:
    return make_client(transport_factory())


def upload(client: Any, path: Path) -> Any:
    with open(path, "rb") as f:
        return client.files.create(file=(path.name, f), purpose="fine-tune")


def wait_for(client: Any, job_id: str, statuses: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
             timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")
        time.sleep(0.02)

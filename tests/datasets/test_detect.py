"""Record-format detection: one record, and whole files (mixed, unknown, empty, sampled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tuneops.datasets.detect import detect_format, detect_record, record_candidates
from tuneops.datasets.records import FORMATS
from tuneops.errors import DatasetIOError, FormatDetectionError

U = {"role": "user", "content": "What is the capital of France?"}
A = {"role": "assistant", "content": "Paris."}

SAMPLES: dict[str, dict[str, Any]] = {
    "openai-chat": {"messages": [{"role": "system", "content": "Be terse."}, U, A]},
    "openai-dpo": {
        "input": {"messages": [U]},
        "preferred_output": [A],
        "non_preferred_output": [{"role": "assistant", "content": "Lyon."}],
    },
    "prompt-completion": {"prompt": "2+2=", "completion": "4"},
    "text": {"text": "Once upon a time."},
    "gemini-contents": {
        "systemInstruction": {"parts": [{"text": "Be terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                     {"role": "model", "parts": [{"text": "Hello"}]}],
    },
    "gemini-preference": {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "completions": [
            {"score": 1, "completion": {"role": "model", "parts": [{"text": "Hello"}]}},
            {"score": 0, "completion": {"role": "model", "parts": [{"text": "Go away"}]}},
        ],
    },
    "bedrock-claude": {"system": "Be terse.", "messages": [U, A]},
    "bedrock-nova": {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Be terse."}],
        "messages": [{"role": "user", "content": [{"text": "Hi"}]},
                     {"role": "assistant", "content": [{"text": "Hello"}]}],
    },
}


def write(path: Path, *records: Any) -> Path:
    lines = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_samples_cover_every_format() -> None:
    assert sorted(SAMPLES) == sorted(FORMATS)


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_detect_record(fmt: str) -> None:
    assert detect_record(SAMPLES[fmt]) == fmt


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_detect_file(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path / "a.jsonl", SAMPLES[fmt], SAMPLES[fmt])
    assert detect_format(path) == fmt


def test_nova_without_schema_version_is_recognized_by_its_blocks() -> None:
    rec = {"messages": [{"role": "user", "content": [{"text": "Hi"}]},
                        {"role": "assistant", "content": [{"text": "Hello"}]}]}
    assert detect_record(rec) == "bedrock-nova"


def test_snake_case_preference_record() -> None:
    rec = {**SAMPLES["gemini-preference"], "system_instruction": {"parts": [{"text": "x"}]}}
    assert detect_record(rec) == "gemini-preference"


def test_plain_user_assistant_chat_fits_openai_and_claude_and_openai_wins() -> None:
    rec = {"messages": [U, A]}
    assert record_candidates(rec) == {"openai-chat", "bedrock-claude"}
    assert detect_record(rec) == "openai-chat"


def test_claude_file_where_only_some_records_have_a_system_prompt(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", {"messages": [U, A]}, SAMPLES["bedrock-claude"])
    assert detect_format(path) == "bedrock-claude"


def test_openai_features_rule_out_claude(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", {"messages": [U, A]},
                 {"messages": [{**U, "name": "bob"}, A]})
    assert detect_format(path) == "openai-chat"


def test_mixed_file_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", SAMPLES["openai-chat"], SAMPLES["openai-chat"],
                 SAMPLES["gemini-contents"])
    with pytest.raises(FormatDetectionError) as exc:
        detect_format(path)
    msg = str(exc.value)
    assert "mixed" in msg and "line 1 is openai-chat" in msg and "line 3 is gemini-contents" in msg
    assert exc.value.hint


def test_unknown_records_are_refused_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", {"foo": 1}, {"bar": [1, 2]})
    with pytest.raises(FormatDetectionError) as exc:
        detect_format(path)
    assert "match no known format" in str(exc.value) and "1, 2" in str(exc.value)
    assert "openai-chat" in exc.value.hint


def test_a_few_unknown_records_do_not_hide_the_format(tmp_path: Path) -> None:
    # a record with a typo is the validator's business, not a reason to refuse detection
    path = write(tmp_path / "a.jsonl", SAMPLES["openai-chat"], {"mesages": []},
                 SAMPLES["openai-chat"])
    assert detect_format(path) == "openai-chat"


def test_invalid_lines_are_skipped_for_detection(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", b"not json", b"", SAMPLES["gemini-contents"])
    assert detect_format(path) == "gemini-contents"


@pytest.mark.parametrize("content", [b"", b"\n\n", b"{broken\n[1, 2]\n"])
def test_no_parseable_record(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(content)
    with pytest.raises(FormatDetectionError, match="no parseable JSON record"):
        detect_format(path)


def test_only_the_sample_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", *[SAMPLES["text"]] * 5, SAMPLES["openai-chat"])
    assert detect_format(path, sample=5) == "text"
    with pytest.raises(FormatDetectionError):
        detect_format(path, sample=6)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetIOError):
        detect_format(tmp_path / "nope.jsonl")


def test_non_objects_detect_nothing() -> None:
    assert detect_record([1, 2]) is None
    assert detect_record("x") is None
    assert detect_record({}) is None

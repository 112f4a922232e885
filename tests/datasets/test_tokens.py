"""Token counts: exact OpenAI counts offline, the fast engine identical to tiktoken, limits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuneops.datasets import tokens
from tuneops.datasets.engine import ValidationOptions, validate_file
from tuneops.datasets.rules import get_pack
from tuneops.errors import TokenizerError

SAMPLE = {"messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Capital of France?", "name": "alice"},
    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                          "function": {"name": "lookup", "arguments": "{\"q\": 1}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "Paris"},
    {"role": "assistant", "content": "Paris. 你好 🚀"},
]}


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_bundled_encoding_is_tiktokens_own_file(name: str) -> None:
    enc = tokens.openai_encoding(name)
    assert enc.name == name
    # a known count from tiktoken's documentation examples
    assert len(enc.encode_ordinary("hello world")) == 2


def test_self_check_counts_are_tiktokens() -> None:
    for name, expected in tokens.SELF_CHECK_COUNTS.items():
        enc = tokens.openai_encoding(name)
        assert tuple(len(enc.encode_ordinary(t)) for t in tokens._SELF_CHECK) == expected


def test_corrupt_rank_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TokenizerError, match="sha256"):
        tokens._bundled_ranks("o200k_base", hashlib.sha256(b"other").hexdigest())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_fast_engine_counts_like_tiktoken(text: str) -> None:
    fast, engine = tokens.text_counter("o200k_base", "auto")
    ref, _ = tokens.text_counter("o200k_base", "tiktoken")
    assert fast(text) == ref(text), engine


def test_engine_choice_is_reported() -> None:
    _, engine = tokens.text_counter("o200k_base", "tiktoken")
    assert engine == "tiktoken"
    with pytest.raises(TokenizerError):
        tokens.text_counter("o200k_base", "fastest")


def test_openai_formula_matches_the_documented_accounting() -> None:
    counter = tokens.counter_for(get_pack("openai", "sft"), "gpt-4o-mini", "tiktoken")
    enc = tokens.openai_encoding("o200k_base")

    def n(s: str) -> int:
        return len(enc.encode_ordinary(s))

    msgs = SAMPLE["messages"]
    content = sum(n(m["content"]) for m in msgs if m.get("content"))
    overhead = 3 + sum(3 + n(m["role"]) for m in msgs) + 1 + n("alice") + 3 + n("lookup") + n("{\"q\": 1}")
    got = counter.count(SAMPLE)
    assert got.content == content
    assert got.training == content + overhead


def test_fast_struct_count_equals_dict_count() -> None:
    import msgspec

    pack = get_pack("openai", "sft")
    counter = tokens.counter_for(pack, "gpt-4o-mini")
    rec = msgspec.json.decode(orjson.dumps(SAMPLE), type=pack.fast_type)
    assert counter.count_fast(rec) == counter.count(SAMPLE)


def test_model_picks_the_encoding() -> None:
    assert tokens.encoding_for_model("gpt-4o-mini-2024-07-18") == "o200k_base"
    assert tokens.encoding_for_model("gpt-4.1-2025-04-14") == "o200k_base"
    assert tokens.encoding_for_model("gpt-3.5-turbo-0125") == "cl100k_base"
    assert tokens.encoding_for_model("ft:gpt-4-0613:org::x") == "cl100k_base"


@pytest.mark.parametrize("model", ["open-mistral-nemo", "mistral-large-latest", "open-mistral-7b"])
def test_mistral_counts_offline(model: str) -> None:
    counter = tokens.counter_for(get_pack("mistral", "sft"), model)
    got = counter.count({"messages": [{"role": "user", "content": "Hello world"},
                                      {"role": "assistant", "content": "Hi"}]})
    assert counter.exact and 2 <= got.content <= 6
    assert got.training == got.content + 5


def test_vendors_without_a_tokenizer_say_estimate() -> None:
    counter = tokens.counter_for(get_pack("together", "sft"), "meta-llama/Llama-3.3-70B-Instruct-Reference")
    assert not counter.exact and counter.describe().startswith("estimate")
    assert counter.count({"messages": [{"role": "user", "content": "a" * 40}]}).training == 10


def test_example_over_the_models_limit_is_an_error(tmp_path: Path) -> None:
    long_text = "word " * 5000  # ~5,000 tokens, over gpt-3.5-turbo-0613's 4,096
    rec = {"messages": [{"role": "user", "content": long_text}, {"role": "assistant", "content": "ok"}]}
    short = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in [short] * 10 + [rec]) + b"\n")
    opts = ValidationOptions(provider="openai", model="gpt-3.5-turbo-0613", count_tokens=True)
    with validate_file(path, opts) as report:
        found = [f for f in report.findings() if f.rule == "openai.example.too_many_tokens"]
        assert [f.line for f in found] == [11]
        assert "4,096" in found[0].message
        assert report.stats.over_token_limit == 1
        assert report.stats.valid_examples == 10
    with validate_file(path, ValidationOptions(provider="openai", model="gpt-4o-mini",
                                               count_tokens=True)) as report:
        assert report.ok


def test_fast_engine_agrees_with_tiktoken_over_the_benchmark_dataset(tmp_path: Path) -> None:
    """The opt-in fast counter (`tuneops[fast]`) against tiktoken on every text of the benchmark
    generator's dataset (8 MB of realistic chat), not a handful of strings."""
    import subprocess
    import sys

    pytest.importorskip("quicktok")
    generator = Path(__file__).resolve().parents[3] / "shared" / "bench" / "make_dataset.py"
    if not generator.is_file():
        pytest.skip(f"the benchmark generator is not at {generator}")
    out = tmp_path / "bench.jsonl"
    subprocess.run([sys.executable, str(generator), "--size-mb", "8", "--out", str(out),
                    "--seed", "20261207"], check=True, capture_output=True, timeout=300)
    for name in ("o200k_base", "cl100k_base"):
        fast, engine = tokens.text_counter(name, "auto")
        assert engine.startswith("quicktok"), engine
        ref = tokens.openai_encoding(name).encode_ordinary
        texts = 0
        with out.open("rb") as f:
            for line in f:
                for text in tokens.texts_of(orjson.loads(line)):
                    texts += 1
                    assert fast(text) == len(ref(text)), (name, text[:200])
        assert texts > 15_000, texts

"""The fast path never disagrees with the full check, on messy generated records, for every pack.

The fast path may send a clean record to the full check (that only costs time), but it must never
clear a record the full check flags, and warnings it states itself must be exactly the full
check's.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneops.datasets.findings import Finding
from tuneops.datasets.rules import PACKS, get_pack
from tuneops.datasets.rules.base import Ctx

FAST_PACKS = [f"{p}.{m}" for p, m in PACKS if get_pack(p, m).fast_type is not None]

texts = st.one_of(
    st.sampled_from(["hi", "Paris.", "", "  ", "\n", "a <|endoftext|> b", "[INST] x", "<s>",
                     "ok | fine", "{\"a\": 1}", "naïve 你好 🚀"]),
    st.text(max_size=20),
)
contents = st.one_of(texts, st.none(), st.integers(-1000, 1000), st.just([{"type": "text", "text": "x"}]))
roles = st.sampled_from(["system", "user", "assistant", "tool", "model", "developer", "bot"])
call_ids = st.sampled_from(["call_1", "call_2", "abcdefghi", "ABC123xyz", "", "x" * 12])
arguments = st.one_of(st.sampled_from(["{}", "{\"q\": 1}", "[1]", "{bad", "", " {}"]),
                      st.just({"q": 1}))
fn_names = st.sampled_from(["lookup", "get_weather", "bad name!", ""])
tool_calls = st.lists(
    st.fixed_dictionaries(
        {"id": call_ids, "function": st.fixed_dictionaries({"name": fn_names, "arguments": arguments})},
        optional={"type": st.sampled_from(["function", "code"])},
    ),
    max_size=2,
)
params = st.one_of(
    st.just({"type": "object"}), st.none(), st.just("x"),
    st.integers(1, 80).map(lambda d: {"a": _nest(d)}),
)
tools = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["function", "function", "retrieval"]),
         "function": st.fixed_dictionaries(
             {"name": fn_names}, optional={"parameters": params, "description": st.just("d"),
                                           "extra": st.just(1)})},
    ),
    max_size=2,
)


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


message = st.fixed_dictionaries(
    {"role": roles},
    optional={
        "content": contents,
        "weight": st.sampled_from([0, 1, 2, None, True]),
        "tool_calls": tool_calls,
        "tool_call_id": call_ids,
        "name": st.sampled_from(["alice", "", None]),
    },
)
chat = st.fixed_dictionaries(
    {"messages": st.lists(message, max_size=6)},
    optional={"tools": tools, "parallel_tool_calls": st.sampled_from([True, "yes"])},
)
dpo = st.fixed_dictionaries(
    {"input": chat,
     "preferred_output": st.lists(message, min_size=0, max_size=2),
     "non_preferred_output": st.lists(message, min_size=0, max_size=2)},
)


def full(pack_id: str, record: dict[str, Any]) -> list[Finding]:
    pack = get_pack(*pack_id.split("."))
    out: list[Finding] = []
    pack.check(record, Ctx(pack.prefix, 1, out))
    return out


def agree(pack_id: str, record: dict[str, Any]) -> None:
    pack = get_pack(*pack_id.split("."))
    raw = orjson.dumps(record)
    try:
        rec = msgspec.json.decode(raw, type=pack.fast_type)
        res = pack.fast_ok(rec, raw)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return
    if res is True:
        for value, base in pack.fast_free_values(rec):
            from tuneops.datasets.reader import DEFAULT_MAX_DEPTH
            from tuneops.datasets.rules.base import free_depth_ok

            if not free_depth_ok(value, base, DEFAULT_MAX_DEPTH):
                return
    if res is True:
        from tuneops.datasets.reader import _depth

        if _depth(record, 64) > 64:
            pytest.fail(f"fast path cleared a too-deep record: {record}")
        assert full(pack_id, record) == [], record
    elif res:
        stated = [(p, f"{pack.prefix}.{r}", s, m) for p, r, s, m in res]
        assert stated == [(f.path, f.rule, f.severity, f.message) for f in full(pack_id, record)]


@pytest.mark.parametrize("pack_id", [p for p in FAST_PACKS if not p.endswith(".dpo")])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=chat)
def test_chat_packs_fast_path_agrees(pack_id: str, record: dict[str, Any]) -> None:
    agree(pack_id, record)


@pytest.mark.parametrize("pack_id", [p for p in FAST_PACKS if p.endswith(".dpo")])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=dpo)
def test_dpo_packs_fast_path_agrees(pack_id: str, record: dict[str, Any]) -> None:
    agree(pack_id, record)


def test_clean_generated_records_do_take_the_fast_path() -> None:
    pack = get_pack("openai", "sft")
    record = {"messages": [{"role": "user", "content": "hi"},
                           {"role": "assistant", "tool_calls": [
                               {"id": "call_1", "type": "function",
                                "function": {"name": "lookup", "arguments": "{}"}}]},
                           {"role": "tool", "tool_call_id": "call_1", "content": "42"},
                           {"role": "assistant", "content": "42."}],
              "tools": [{"type": "function", "function": {"name": "lookup", "description": "d",
                                                          "parameters": {"type": "object"}}}]}
    raw = orjson.dumps(record)
    assert pack.fast_ok(msgspec.json.decode(raw, type=pack.fast_type), raw) is True

"""Every rule pack against its case table (tests/datasets/cases/<module>.py, a CASES dict).

For each pack: valid records give no finding at all; each bad record triggers its rule; the fast
path never clears a record that the full check flags; and every rule the pack declares has a case.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import msgspec
import orjson
import pytest

import tests.datasets.cases as cases_pkg
from tuneops.datasets.findings import Finding
from tuneops.datasets.rules import PACKS, get_pack
from tuneops.datasets.rules.base import Ctx


def _load_cases() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for mod in pkgutil.iter_modules(cases_pkg.__path__):
        m = importlib.import_module(f"tests.datasets.cases.{mod.name}")
        out.update(m.CASES)
    return out


CASES = _load_cases()
PACK_IDS = sorted(CASES)


def findings_for(pack_id: str, record: dict[str, Any]) -> list[Finding]:
    provider, method = pack_id.split(".")
    pack = get_pack(provider, method)
    out: list[Finding] = []
    pack.check(record, Ctx(pack.prefix, 1, out))
    return out


def fast_result(pack_id: str, record: dict[str, Any]) -> Any:
    provider, method = pack_id.split(".")
    pack = get_pack(provider, method)
    if pack.fast_type is None:
        return False
    raw = orjson.dumps(record)
    try:
        rec = msgspec.json.decode(raw, type=pack.fast_type)
    except (msgspec.DecodeError, ValueError):
        return False
    return pack.fast_ok(rec, raw)


def fast_clears(pack_id: str, record: dict[str, Any]) -> bool:
    return fast_result(pack_id, record) is True


def test_every_registered_pack_has_cases() -> None:
    assert sorted(f"{p}.{m}" for p, m in PACKS) == PACK_IDS


@pytest.mark.parametrize(
    ("pack_id", "index"), [(p, i) for p in PACK_IDS for i in range(len(CASES[p]["valid"]))]
)
def test_valid_record_has_no_findings(pack_id: str, index: int) -> None:
    record = CASES[pack_id]["valid"][index]
    assert findings_for(pack_id, record) == []


@pytest.mark.parametrize(
    ("pack_id", "rule", "index"),
    [(p, rule, i) for p in PACK_IDS for i, (rule, _) in enumerate(CASES[p]["bad"])],
)
def test_bad_record_triggers_its_rule(pack_id: str, rule: str, index: int) -> None:
    record = CASES[pack_id]["bad"][index][1]
    found = findings_for(pack_id, record)
    assert rule in {f.rule for f in found}, found
    for f in found:
        assert f.line == 1 and f.message and f.severity in ("error", "warning")


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_fast_path_never_clears_a_flagged_record(pack_id: str) -> None:
    for record in CASES[pack_id]["valid"] + [r for _, r in CASES[pack_id]["bad"]]:
        res = fast_result(pack_id, record)
        if res is True:
            assert findings_for(pack_id, record) == [], record
        elif res:
            # findings stated by the fast path must be exactly the full check's, all warnings
            full = [(f.path, f.rule, f.severity, f.message) for f in findings_for(pack_id, record)]
            stated = [(p, f"{get_pack(*pack_id.split('.')).prefix}.{r}", s, m) for p, r, s, m in res]
            assert stated == full, record
            assert all(s == "warning" for _, _, s, _ in res)


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_fast_path_clears_plain_valid_records(pack_id: str) -> None:
    provider, method = pack_id.split(".")
    if get_pack(provider, method).fast_type is None:
        pytest.skip("pack has no fast path")
    assert any(fast_clears(pack_id, r) for r in CASES[pack_id]["valid"])


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_every_declared_rule_has_a_case(pack_id: str) -> None:
    provider, method = pack_id.split(".")
    pack = get_pack(provider, method)
    # dataset-level rules and the per-example token limit need a whole file or a model: they are
    # tested in test_engine.py / test_tokens.py
    declared = {r for r in pack.all_rules()
                if ".dataset." not in r and not r.endswith(".example.too_many_tokens")}
    covered = {rule for rule, _ in CASES[pack_id]["bad"]}
    unreachable = set(CASES[pack_id].get("unreachable", ()))
    assert covered <= set(pack.all_rules()), covered - set(pack.all_rules())
    assert declared - covered - unreachable == set()

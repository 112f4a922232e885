"""Price table, epoch rules and cost estimates."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tuneops.datasets.cost import load_prices, openai_auto_epochs
from tuneops.datasets.estimate import estimate_file
from tuneops.errors import PriceTableError, UnknownModelError, UsageError

EX = {"messages": [{"role": "user", "content": "What is 2 + 2?"},
                   {"role": "assistant", "content": "4"}]}


def write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def test_every_bundled_row_has_a_source_and_date() -> None:
    table = load_prices()
    assert table.rows
    for row in table.rows:
        assert row.source.startswith("http"), row
        assert len(row.as_of) == 10 and row.as_of.startswith("20"), row
        assert row.price_per_1m_tokens >= 0


@pytest.mark.parametrize(("n", "epochs"), [(10, 10), (20, 5), (33, 3), (100, 3), (8_333, 3),
                                           (10_000, 2), (30_000, 1), (1, 25)])
def test_openai_auto_epochs(n: int, epochs: int) -> None:
    assert openai_auto_epochs(n) == epochs


def test_estimate_is_tokens_times_epochs_times_price(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [EX] * 20)
    est, report = estimate_file(path, provider="openai", model="gpt-4o-mini-2024-07-18")
    with report:
        assert est.valid_examples == 20 and est.tokens_exact
        assert est.epochs == 5 and "auto" in est.epochs_source  # 20 examples -> 100 // 20
        assert est.billed_tokens == est.dataset_tokens * 5
        price = est.price.price_per_1m_tokens
        assert est.cost_expected == pytest.approx(est.billed_tokens * price / 1e6)
        assert est.cost_min < est.cost_expected < est.cost_max
        d = est.to_dict()
        assert d["cost"]["currency"] == "USD" and d["price"]["source"].startswith("http")


def test_user_price_table_overrides(tmp_path: Path) -> None:
    prices = tmp_path / "p.toml"
    prices.write_text(
        '[[price]]\nprovider = "openai"\nmodel = "gpt-4o-mini-2024-07-18"\nmethod = "*"\n'
        'price_per_1m_tokens = 1000.0\ncurrency = "EUR"\nsource = "https://example.test/contract"\n'
        'as_of = "2026-11-01"\n'
    )
    path = write(tmp_path / "d.jsonl", [EX] * 10)
    est, report = estimate_file(path, provider="openai", model="gpt-4o-mini-2024-07-18",
                                epochs=2, prices_file=prices)
    report.close()
    assert est.price.currency == "EUR" and est.price.origin == str(prices)
    assert est.epochs == 2 and est.epochs_source == "given"
    assert est.cost_expected == pytest.approx(est.dataset_tokens * 2 * 1000.0 / 1e6)


def test_unknown_model_fails_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [EX] * 10)
    with pytest.raises(UnknownModelError, match="gpt-4o-mni") as exc:
        estimate_file(path, provider="openai", model="gpt-4o-mni")
    assert "did you mean" in exc.value.hint


def test_malformed_price_table(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text('[[price]]\nprovider = "openai"\n')
    with pytest.raises(PriceTableError, match="malformed"):
        load_prices(bad)
    bad.write_text("not = [toml")
    with pytest.raises(PriceTableError, match="cannot be read"):
        load_prices(bad)


def test_bad_epochs(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [EX] * 10)
    with pytest.raises(UsageError):
        estimate_file(path, provider="openai", model="gpt-4o-mini-2024-07-18", epochs=0)


def test_estimate_counts_only_valid_examples(tmp_path: Path) -> None:
    bad = {"messages": [{"role": "user", "content": "no answer"}]}
    path = write(tmp_path / "d.jsonl", [EX] * 10 + [bad])
    est, report = estimate_file(path, provider="openai", model="gpt-4o-mini-2024-07-18")
    report.close()
    assert est.errors == 1 and est.valid_examples == 10 and est.examples == 11

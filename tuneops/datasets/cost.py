"""Training prices and epoch rules, kept as data (`prices.toml`) with a source and date per row.

Users override rows with their own TOML file of the same shape, given by `--prices FILE`, the
`TUNEOPS_PRICES` environment variable, or `prices.toml` in the state directory (`TUNEOPS_HOME`,
else the platform's user data dir). A user row wins over a bundled row for the same provider, model
and method.
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneops.errors import PriceTableError, UnknownModelError
from tuneops.paths import state_dir

__all__ = [
    "EpochRule",
    "PriceRow",
    "PriceTable",
    "load_prices",
    "openai_auto_epochs",
]


@dataclass(frozen=True, slots=True)
class PriceRow:
    provider: str
    model: str
    match: str  # "exact" or "prefix"
    method: str  # "sft", "dpo" or "*"
    price_per_1m_tokens: float
    currency: str
    source: str
    as_of: str
    note: str = ""
    origin: str = "bundled"

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider, "model": self.model, "match": self.match,
            "method": self.method, "price_per_1m_tokens": self.price_per_1m_tokens,
            "currency": self.currency, "source": self.source, "as_of": self.as_of,
            "note": self.note, "origin": self.origin,
        }


@dataclass(frozen=True, slots=True)
class EpochRule:
    provider: str
    default: int | str  # an integer, or "auto"
    rule: str
    source: str
    min: int | None = None
    max: int | None = None


def openai_auto_epochs(n_examples: int) -> int:
    """OpenAI's documented default for n_epochs="auto": 3 epochs, raised so that small datasets
    see about 100 example passes and lowered so that large ones see about 25,000, within 1..25.
    (OpenAI cookbook, "Data preparation and analysis for chat model fine-tuning".)"""
    epochs = 3
    if n_examples <= 0:
        return epochs
    if n_examples * epochs < 100:
        epochs = min(25, 100 // n_examples)
    elif n_examples * epochs > 25_000:
        epochs = max(1, 25_000 // n_examples)
    return epochs


def _row(d: dict[str, Any], origin: str) -> PriceRow:
    try:
        row = PriceRow(
            provider=str(d["provider"]), model=str(d["model"]), match=str(d.get("match", "exact")),
            method=str(d.get("method", "*")), price_per_1m_tokens=float(d["price_per_1m_tokens"]),
            currency=str(d.get("currency", "USD")), source=str(d["source"]),
            as_of=str(d["as_of"]), note=str(d.get("note", "")), origin=origin,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PriceTableError(
            f"{origin}: a [[price]] row is malformed ({exc!r}): {d}",
            hint="each row needs provider, model, price_per_1m_tokens, source and as_of",
        ) from exc
    if row.match not in ("exact", "prefix") or row.price_per_1m_tokens < 0:
        raise PriceTableError(f"{origin}: bad match or negative price in row {d}",
                              hint='match is "exact" or "prefix"; prices are >= 0')
    return row


class PriceTable:
    def __init__(self, rows: list[PriceRow], epochs: dict[str, EpochRule]) -> None:
        self.rows = rows
        self.epochs = epochs

    def models(self, provider: str) -> list[str]:
        return sorted({r.model for r in self.rows if r.provider == provider})

    def lookup(self, provider: str, model: str, method: str) -> PriceRow:
        """The row for a model: user rows before bundled, exact before the longest prefix, a
        row for the method before a "*" row."""
        best: tuple[int, int, int, PriceRow] | None = None
        for r in self.rows:
            if r.provider != provider or r.method not in (method, "*"):
                continue
            if r.match == "exact" and r.model != model:
                continue
            if r.match == "prefix" and not model.startswith(r.model):
                continue
            key = (
                int(r.origin != "bundled"),
                len(r.model) + (10_000 if r.match == "exact" else 0),
                int(r.method == method),
            )
            if best is None or key > best[:3]:
                best = (*key, r)
        if best is None:
            known = self.models(provider)
            close = difflib.get_close_matches(model, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UnknownModelError(
                f"no {provider} training price on record for model {model!r} ({method})",
                hint=f"{hint}known: {', '.join(known) or 'none'}; or add a row with --prices FILE",
            )
        return best[3]

    def epoch_rule(self, provider: str) -> EpochRule | None:
        return self.epochs.get(provider)


def _read_toml(path: Path | Any, origin: str) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data: dict[str, Any] = tomllib.load(f)
            return data
    except FileNotFoundError as exc:
        raise PriceTableError(f"price table {origin} not found", hint="check the path") from exc
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise PriceTableError(f"price table {origin} cannot be read: {exc}",
                              hint="fix the TOML syntax") from exc


def load_prices(user_file: str | os.PathLike[str] | None = None) -> PriceTable:
    """The bundled price table, with user rows (from the file, env or state dir) in front."""
    sources: list[tuple[Any, str]] = []
    from tuneops.config import resolve

    explicit = user_file or resolve("prices").value
    if explicit:
        sources.append((Path(explicit), str(explicit)))
    else:
        default_user = state_dir() / "prices.toml"
        if default_user.is_file():
            sources.append((default_user, str(default_user)))
    sources.append((importlib.resources.files("tuneops.datasets") / "prices.toml", "bundled"))
    rows: list[PriceRow] = []
    epochs: dict[str, EpochRule] = {}
    for path, origin in sources:
        data = _read_toml(path, origin)
        rows.extend(_row(d, origin) for d in data.get("price", []))
        for e in data.get("epochs", []):
            try:
                rule = EpochRule(
                    provider=str(e["provider"]), default=e["default"], rule=str(e.get("rule", "")),
                    source=str(e.get("source", "")), min=e.get("min"), max=e.get("max"),
                )
            except KeyError as exc:
                raise PriceTableError(f"{origin}: an [[epochs]] row lacks {exc}") from exc
            epochs.setdefault(rule.provider, rule)
    return PriceTable(rows, epochs)

"""Cost estimate of a fine-tuning job before any money is spent.

billed tokens = training tokens of the valid examples x epochs; cost = billed tokens x the price
per token of the dated price table. The range reflects how exact the token count is: exact
tokenizer counts carry OpenAI's per-message overhead constant (taken as +/-2%), character-based
estimates +/-25%.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tuneops.datasets.cost import PriceRow, load_prices, openai_auto_epochs
from tuneops.datasets.engine import ValidationOptions, ValidationReport, validate_file
from tuneops.errors import UsageError

__all__ = ["Estimate", "estimate_file", "resolve_epochs"]

EXACT_MARGIN = 0.02
ESTIMATE_MARGIN = 0.25


@dataclass(slots=True)
class Estimate:
    file: str
    provider: str
    method: str
    model: str
    examples: int
    valid_examples: int
    errors: int
    warnings: int
    dataset_tokens: int
    max_example_tokens: int
    tokens_exact: bool
    token_method: str
    epochs: int
    epochs_source: str
    price: PriceRow

    @property
    def billed_tokens(self) -> int:
        return self.dataset_tokens * self.epochs

    @property
    def margin(self) -> float:
        return EXACT_MARGIN if self.tokens_exact else ESTIMATE_MARGIN

    @property
    def cost_expected(self) -> float:
        return self.billed_tokens * self.price.price_per_1m_tokens / 1e6

    @property
    def cost_min(self) -> float:
        return self.cost_expected * (1 - self.margin)

    @property
    def cost_max(self) -> float:
        return self.cost_expected * (1 + self.margin)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "provider": self.provider, "method": self.method,
            "model": self.model, "examples": self.examples,
            "valid_examples": self.valid_examples,
            "validation": {"errors": self.errors, "warnings": self.warnings},
            "tokens": {
                "dataset": self.dataset_tokens, "max_per_example": self.max_example_tokens,
                "exact": self.tokens_exact, "method": self.token_method,
            },
            "epochs": {"value": self.epochs, "source": self.epochs_source},
            "billed_tokens": self.billed_tokens,
            "cost": {
                "min": round(self.cost_min, 4), "expected": round(self.cost_expected, 4),
                "max": round(self.cost_max, 4), "currency": self.price.currency,
                "margin": self.margin,
            },
            "price": self.price.to_dict(),
        }


def resolve_epochs(provider: str, epochs: int | str | None, n_examples: int,
                   rule_default: int | str | None, rule_text: str) -> tuple[int, str]:
    """The epoch count a job will use, and a sentence saying where it came from."""
    if isinstance(epochs, int):
        if epochs < 1:
            raise UsageError("--epochs must be at least 1")
        return epochs, "given"
    want_auto = epochs == "auto" or (epochs is None and rule_default in (None, "auto"))
    if want_auto:
        if provider == "openai":
            return openai_auto_epochs(n_examples), (
                f"OpenAI's \"auto\" rule for {n_examples:,} examples: 3, adjusted to make"
                " 100 to 25,000 example passes")
        if isinstance(rule_default, int):
            return rule_default, f"{provider} default ({rule_text})" if rule_text else "default"
        raise UsageError(f"{provider} has no documented automatic epoch rule",
                         hint="pass --epochs N")
    if isinstance(rule_default, int):
        return rule_default, f"{provider} default" + (f" ({rule_text})" if rule_text else "")
    raise UsageError(f"no default epoch count on record for {provider}", hint="pass --epochs N")


def estimate_file(
    path: str | os.PathLike[str],
    *,
    provider: str,
    model: str,
    method: str = "sft",
    epochs: int | str | None = None,
    prices_file: str | os.PathLike[str] | None = None,
    tokenizer: str = "auto",
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Estimate, ValidationReport]:
    """Validate and count a file in one pass, then price it. The caller closes the report."""
    from tuneops.datasets.rules import get_pack

    table = load_prices(prices_file)
    pack = get_pack(provider, method)
    price = table.lookup(pack.provider, model, pack.method)  # fail fast, before the long pass
    rule = table.epoch_rule(pack.provider)
    if isinstance(epochs, int):
        resolve_epochs(pack.provider, epochs, 0, None, "")
    report = validate_file(path, ValidationOptions(
        provider=provider, method=method, model=model, count_tokens=True,
        tokenizer=tokenizer, workers=workers,
    ), progress=progress)
    try:
        n_epochs, source = resolve_epochs(
            pack.provider, epochs, report.stats.valid_examples,
            rule.default if rule else None, rule.rule if rule else "",
        )
    except BaseException:
        report.close()
        raise
    exact = bool(report.tokens_exact)
    st = report.stats
    est = Estimate(
        file=report.file, provider=pack.provider, method=pack.method, model=model,
        examples=st.examples, valid_examples=st.valid_examples, errors=report.errors,
        warnings=report.warnings, dataset_tokens=st.tokens_total,
        max_example_tokens=st.tokens_max, tokens_exact=exact,
        token_method=report.token_method or "", epochs=n_epochs, epochs_source=source,
        price=price,
    )
    return est, report

"""Datasets: read, validate, convert, fix, count tokens and estimate the cost of training data.

    from tuneops.datasets import ValidationOptions, validate_file

    with validate_file("train.jsonl", ValidationOptions(provider="openai")) as report:
        for finding in report.findings():
            print(finding.line, finding.path, finding.rule, finding.message)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuneops.datasets.convert import ConversionReport, convert_file
    from tuneops.datasets.cost import PriceTable, load_prices
    from tuneops.datasets.detect import detect_format
    from tuneops.datasets.engine import ValidationOptions, ValidationReport, validate_file
    from tuneops.datasets.estimate import Estimate, estimate_file
    from tuneops.datasets.findings import Finding, Severity
    from tuneops.datasets.fix import FixReport, fix_file
    from tuneops.datasets.reader import LineRecord, read_records
    from tuneops.datasets.rules import RulePack, get_pack, pack_ids
    from tuneops.datasets.tokens import TokenCount, counter_for

# Imported on first use, so that `tuneops validate` does not pay for converters it never runs.
_WHERE = {
    "ConversionReport": "convert", "convert_file": "convert",
    "PriceTable": "cost", "load_prices": "cost",
    "detect_format": "detect",
    "ValidationOptions": "engine", "ValidationReport": "engine", "validate_file": "engine",
    "Estimate": "estimate", "estimate_file": "estimate",
    "Finding": "findings", "Severity": "findings",
    "FixReport": "fix", "fix_file": "fix",
    "LineRecord": "reader", "read_records": "reader",
    "RulePack": "rules", "get_pack": "rules", "pack_ids": "rules",
    "TokenCount": "tokens", "counter_for": "tokens",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tuneops.datasets' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tuneops.datasets.{module}"), name)


__all__ = [
    "ConversionReport",
    "Estimate",
    "Finding",
    "FixReport",
    "LineRecord",
    "PriceTable",
    "RulePack",
    "Severity",
    "TokenCount",
    "ValidationOptions",
    "ValidationReport",
    "convert_file",
    "counter_for",
    "detect_format",
    "estimate_file",
    "fix_file",
    "get_pack",
    "load_prices",
    "pack_ids",
    "read_records",
    "validate_file",
]

"""Datasets: read, validate, convert, fix, count tokens and estimate the cost of training data.

    from tuneops.datasets import ValidationOptions, validate_file

    with validate_file("train.jsonl", ValidationOptions(provider="openai")) as report:
        for finding in report.findings():
            print(finding.line, finding.path, finding.rule, finding.message)
"""

from __future__ import annotations

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

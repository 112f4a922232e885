"""Pins the public exports: a change here is a change to the API users import."""

from __future__ import annotations

import importlib

import pytest

EXPORTS = {
    "tuneops": ["__version__"],
    "tuneops.errors": [
        "AuthError", "BudgetExceededError", "CapabilityError", "DataValidationError",
        "DatasetError", "DatasetIOError", "FormatDetectionError",
        "InvalidRequestError", "LossyConversionError", "MalformedResponseError", "UnconfirmedCreateError",
        "MissingCredentialsError", "MissingExtraError", "NotFoundError", "PriceTableError", "ProviderError",
        "RateLimitedError", "TokenizerError", "TuneopsError", "UnknownModelError",
        "UnknownProviderError", "UsageError", "VendorConnectionError", "VendorServerError",
        "VendorTimeoutError", "VendorUnavailableError", "error_class_for_status",
    ],
    "tuneops.providers": ["Provider", "provider_class", "provider_names"],
    "tuneops.redaction": ["REDACTED", "install_log_redaction", "known_secrets", "redact",
                          "redact_exception", "remember", "url_without_password"],
    "tuneops.orchestrator": ["HistoryEntry", "JobRecord", "Ledger", "Orchestrator", "SubmitRequest"],
    "tuneops.datasets": [
        "ConversionReport", "Estimate", "Finding", "FixReport", "LineRecord", "PriceTable",
        "RulePack", "Severity", "TokenCount", "ValidationOptions", "ValidationReport",
        "convert_file", "counter_for", "detect_format", "estimate_file", "fix_file", "get_pack",
        "load_prices", "pack_ids", "read_records", "validate_file",
    ],
    "tuneops.cli": ["main"],
}


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_exports_are_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(EXPORTS[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_every_public_module_declares_all() -> None:
    import pkgutil

    import tuneops

    for info in pkgutil.walk_packages(tuneops.__path__, "tuneops."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(info.name)
        assert hasattr(mod, "__all__"), info.name


def test_error_tree_is_drawn_in_the_docstring() -> None:
    import tuneops.errors as errors

    for name in errors.__all__:
        assert name in (errors.__doc__ or ""), name
        if name[0].isupper():
            assert issubclass(getattr(errors, name), errors.TuneopsError)


def test_cli_does_not_import_vendor_sdks_or_rich_for_help() -> None:
    import subprocess
    import sys

    code = ("import sys; from tuneops.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('rich', 'tiktoken', 'mistral_common', 'numpy') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_validate_does_not_import_converters() -> None:
    import subprocess
    import sys

    code = ("import sys, tuneops.cli.validate\n"
            "print([m for m in sys.modules if m.startswith(('tuneops.datasets.convert',"
            " 'tuneops.datasets.formats', 'tuneops.datasets.fix', 'rich'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""Every exception tuneops raises on purpose.

The tree::

    TuneopsError                      base of everything below; `hint` says how to fix it
    ├── UsageError                    the call itself is wrong (bad option, unknown name)
    │   ├── UnknownProviderError      no rule pack / provider by that name ("did you mean ...")
    │   ├── UnknownModelError         a model with no price or limits on record
    │   └── PriceTableError           a user price table that cannot be read or is malformed
    ├── DatasetError                  something about a dataset file
    │   ├── DatasetIOError            missing, unreadable, not a regular file, output not writable
    │   ├── FormatDetectionError      the records match no known format
    │   └── LossyConversionError      `--strict` conversion refused: data would be lost
    └── TokenizerError                the bundled tokenizer data is missing or does not verify

`tuneops.cli` maps each branch to one exit code (see the README's "Exit codes").
Library callers catch `TuneopsError` for everything, or a branch for what they can handle.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DatasetError",
    "DatasetIOError",
    "FormatDetectionError",
    "LossyConversionError",
    "PriceTableError",
    "TokenizerError",
    "TuneopsError",
    "UnknownModelError",
    "UnknownProviderError",
    "UsageError",
]


class TuneopsError(Exception):
    """Base class. `str(err)` says what went wrong; `hint` (may be empty) says what to do."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(TuneopsError):
    """The request is malformed: an unknown name, an option that does not apply."""


class UnknownProviderError(UsageError):
    """No provider (or provider + method) by that name."""


class UnknownModelError(UsageError):
    """The model is not in the price table or limits table."""


class PriceTableError(UsageError):
    """A user-supplied price table is unreadable or malformed."""


class DatasetError(TuneopsError):
    """A dataset file could not be processed."""


class DatasetIOError(DatasetError):
    """The file is missing, unreadable, not a regular file, or the output cannot be written."""


class FormatDetectionError(DatasetError):
    """The records do not look like any format tuneops knows."""


class LossyConversionError(DatasetError):
    """A strict conversion was refused because something would be lost.

    `report` holds the conversion report (what would have been lost, where) when available.
    """

    report: Any = None


class TokenizerError(TuneopsError):
    """Tokenizer data is missing or fails its integrity check."""

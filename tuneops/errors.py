"""Every exception tuneops raises on purpose.

The tree::

    TuneopsError                      base of everything below; `hint` says how to fix it
    ├── UsageError                    the call itself is wrong (bad option, unknown name)
    │   ├── UnknownProviderError      no rule pack / provider by that name ("did you mean ...")
    │   ├── UnknownModelError         a model with no price or limits on record
    │   ├── PriceTableError           a user price table that cannot be read or is malformed
    │   ├── MissingExtraError         a vendor's (or PostgreSQL's) extra is not installed; the
    │   │                             hint is the pip command
    │   └── BudgetExceededError       the estimate is over --max-cost, or the user declined
    ├── DatasetError                  something about a dataset file
    │   ├── DatasetIOError            missing, unreadable, not a regular file, output not writable
    │   ├── FormatDetectionError      the records match no known format
    │   ├── LossyConversionError      `--strict` conversion refused: data would be lost
    │   └── DataValidationError       submission refused: the data fails the vendor's rules
    ├── TokenizerError                the bundled tokenizer data is missing or does not verify
    ├── MissingCredentialsError       no key for a provider; the message says how to set one
    └── ProviderError                 a vendor call failed; carries status_code, body, retry_after
        ├── AuthError                 401/403: the key is wrong, expired or lacks permission
        ├── NotFoundError             404: no such job, file or model at the vendor
        ├── InvalidRequestError       400/409/422: the vendor refused the request as made
        ├── RateLimitedError          429: slow down; `retry_after` says for how long
        ├── VendorServerError         5xx: the vendor failed
        ├── VendorConnectionError     the request did not complete (refused, dropped)
        │   └── VendorTimeoutError    no answer in time
        ├── VendorUnavailableError    the service is retired or closed to new work (with dates)
        ├── CapabilityError           the vendor does not offer this operation
        ├── MalformedResponseError    the vendor answered with something we cannot read
        └── UnconfirmedCreateError    a create may have taken effect and the vendor could not be
                                      asked whether it did: `tuneops reconcile` settles it

`error_class_for_status(status)` picks the `ProviderError` branch for a vendor's HTTP status: every
adapter maps errors by status first.

`tuneops.cli` maps each branch to one exit code (see the README's "Exit codes").
Library callers catch `TuneopsError` for everything, or a branch for what they can handle.
"""

from __future__ import annotations

from typing import Any

from tuneops.redaction import redact

__all__ = [
    "AuthError",
    "BudgetExceededError",
    "CapabilityError",
    "DataValidationError",
    "DatasetError",
    "DatasetIOError",
    "FormatDetectionError",
    "InvalidRequestError",
    "LossyConversionError",
    "MalformedResponseError",
    "MissingCredentialsError",
    "MissingExtraError",
    "NotFoundError",
    "PriceTableError",
    "ProviderError",
    "RateLimitedError",
    "TokenizerError",
    "TuneopsError",
    "UnconfirmedCreateError",
    "UnknownModelError",
    "UnknownProviderError",
    "UsageError",
    "VendorConnectionError",
    "VendorServerError",
    "VendorTimeoutError",
    "VendorUnavailableError",
    "error_class_for_status",
]


class TuneopsError(Exception):
    """Base class. `str(err)` says what went wrong; `hint` (may be empty) says what to do."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        # every secret tuneops holds is taken out here, so an error can be shown and stored as is
        message, hint = redact(message), redact(hint)
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


class MissingExtraError(UsageError):
    """A vendor's SDK (or the PostgreSQL driver) is an optional extra that is not installed.
    `extra` names it; `hint` is the pip command that installs it."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs the tuneops[{extra}] extra, which is not installed",
                         hint=f"pip install 'tuneops[{extra}]'")
        self.extra = extra


class BudgetExceededError(UsageError):
    """The estimated cost is over the budget (`--max-cost`), or the user declined it."""


class DatasetError(TuneopsError):
    """A dataset file could not be processed."""


class DatasetIOError(DatasetError):
    """The file is missing, unreadable, not a regular file, or the output cannot be written."""


class FormatDetectionError(DatasetError):
    """The records do not look like any format tuneops knows."""


class DataValidationError(DatasetError):
    """A submission was refused because the data has errors under the vendor's rules."""


class LossyConversionError(DatasetError):
    """A strict conversion was refused because something would be lost.

    `report` holds the conversion report (what would have been lost, where) when available.
    """

    report: Any = None


class TokenizerError(TuneopsError):
    """Tokenizer data is missing or fails its integrity check."""


class MissingCredentialsError(TuneopsError):
    """No credentials for a provider. `hint` says exactly how to set them."""


class ProviderError(TuneopsError):
    """A vendor call failed.

    `status_code` is the HTTP status when there was a response, `body` the vendor's error body (a
    dict or text; every secret tuneops holds is redacted from it, as from the message),
    `retry_after` the seconds the vendor asked us to wait (None when it did not say). Always
    raised `from` the SDK or transport error.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status_code = status_code
        self.body = redact(body)
        self.retry_after = retry_after


class AuthError(ProviderError):
    """401/403."""


class NotFoundError(ProviderError):
    """404."""


class InvalidRequestError(ProviderError):
    """400/409/422: the vendor refused the request as made."""


class RateLimitedError(ProviderError):
    """429; `retry_after` says how long the vendor asked us to wait."""


class VendorServerError(ProviderError):
    """5xx."""


class VendorConnectionError(ProviderError):
    """The request did not complete: refused, reset or dropped connection."""


class VendorTimeoutError(VendorConnectionError):
    """No answer within the timeout."""


class VendorUnavailableError(ProviderError):
    """The vendor service is retired or closed to new work."""


class CapabilityError(ProviderError):
    """The vendor does not offer this operation (e.g. pausing a job)."""


class MalformedResponseError(ProviderError):
    """The vendor's answer is malformed, truncated, or of the wrong type."""


class UnconfirmedCreateError(ProviderError):
    """A job creation failed ambiguously and the look-up of our reference failed too: the job may
    exist. Never retried (a retry could create a second job); `tuneops reconcile` adopts it later."""


def error_class_for_status(status: int) -> type[ProviderError]:
    """The branch of the tree for a vendor's HTTP error status: every adapter maps errors by
    status first, then refines with the vendor's body."""
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return VendorServerError
    if 400 <= status < 500:
        return InvalidRequestError
    return ProviderError

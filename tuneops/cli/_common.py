"""What every command shares: `--json`, error-to-exit-code mapping, output helpers."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import orjson

from tuneops.errors import (
    AuthError,
    DatasetError,
    DatasetIOError,
    LossyConversionError,
    MissingCredentialsError,
    ProviderError,
    TokenizerError,
    TuneopsError,
    UsageError,
)
from tuneops.redaction import redact_exception

__all__ = [
    "EXIT_AUTH",
    "EXIT_BROKEN_PIPE",
    "EXIT_DATA",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_IO",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_TOKENIZER",
    "EXIT_USAGE",
    "EXIT_VENDOR",
    "command",
    "emit_json",
    "exit_code_for",
    "json_option",
    "progress_bar",
]

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_IO = 3
EXIT_TOKENIZER = 4
EXIT_VENDOR = 5
EXIT_AUTH = 6
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process the signal ended


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that every
    clean-up that runs on an interrupt (temporary outputs, worker processes, temporary
    directories) runs on a `kill` too."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """Turn SIGTERM into `Terminated` (main thread only: Python delivers signals there)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)

# The one place domain errors become exit codes (most specific first).
_EXIT_CODES: tuple[tuple[type[TuneopsError], int], ...] = (
    (DatasetIOError, EXIT_IO),
    (LossyConversionError, EXIT_DATA),
    (DatasetError, EXIT_DATA),
    (UsageError, EXIT_USAGE),
    (TokenizerError, EXIT_TOKENIZER),
    (MissingCredentialsError, EXIT_AUTH),
    (AuthError, EXIT_AUTH),
    (ProviderError, EXIT_VENDOR),
    (TuneopsError, EXIT_DATA),
)

F = TypeVar("F", bound=Callable[..., Any])
PROGRESS_ABOVE = 32 * 1024 * 1024


@contextmanager
def progress_bar(path: str, label: str) -> Iterator[Any]:
    """A rich progress bar on stderr while reading a large file on a terminal; None otherwise."""
    total = os.path.getsize(path) if os.path.isfile(path) else 0
    if total < PROGRESS_ABOVE or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, _total: bar.update(task, completed=done)



def exit_code_for(err: TuneopsError) -> int:
    for cls, code in _EXIT_CODES:
        if isinstance(err, cls):
            return code
    return EXIT_DATA


def json_option(f: F) -> F:
    """Adds `--json`: print exactly one JSON document on stdout instead of tables."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document on stdout."
    )(f)


def emit_json(doc: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def _report_error(message: str, hint: str, as_json: bool, code: int) -> None:
    if as_json:
        emit_json({"ok": False, "error": {"message": message, "hint": hint, "exit_code": code}})
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  {hint}", err=True)


def command(f: F) -> F:
    """Wrap a command body: domain errors -> one clear line and their exit code, never a traceback
    (unless `tuneops --debug`)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool((ctx.find_root().obj or {}).get("debug"))
        as_json = bool(kwargs.get("as_json"))
        try:
            return f(*args, **kwargs)
        except TuneopsError as err:
            if debug:
                redact_exception(err)  # the traceback prints the whole chain
                raise
            code = exit_code_for(err)
            _report_error(err.message, err.hint, as_json, code)
            ctx.exit(code)
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            click.echo("terminated" if terminated else "interrupted", err=True)
            ctx.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        except BrokenPipeError:
            # the reader went away (`tuneops ... | head`): stop quietly, as shell tools do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(EXIT_BROKEN_PIPE)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except OSError as err:
            # The system refused a read or write we did not expect to fail (a full disk, a
            # file-size limit, a read-only directory): a problem of the machine, not a bug.
            if debug:
                raise
            where = f"{err.filename}: " if err.filename else ""
            _report_error(f"{where}{err.strerror or err}",
                          "free space, raise the limit or choose a writable place, then run it again",
                          as_json, EXIT_IO)
            ctx.exit(EXIT_IO)
        except Exception as err:
            redact_exception(err)
            if debug:
                raise
            _report_error(
                f"internal error: {type(err).__name__}: {err}",
                "this is a bug in tuneops; rerun with `tuneops --debug ...` and report the traceback",
                as_json, EXIT_INTERNAL,
            )
            ctx.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


def provider_option(required: bool = True, help_: str = "Vendor whose rules apply.") -> Callable[[F], F]:
    return click.option("--provider", "-p", required=required, metavar="NAME", help=help_)


def method_option(f: F) -> F:
    return click.option(
        "--method", "-m", default="sft", show_default=True, metavar="sft|dpo",
        help="Training method (Vertex calls dpo 'preference').",
    )(f)

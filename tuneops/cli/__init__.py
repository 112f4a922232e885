"""The `tuneops` command line. Commands are imported only when run, so `--help` stays fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

from tuneops import __version__

__all__ = ["main"]

# command name -> "module:attribute"; each module holds one command or group
COMMANDS = {
    "validate": "tuneops.cli.validate:validate",
    "convert": "tuneops.cli.convert:convert",
    "fix": "tuneops.cli.fix:fix",
    "estimate": "tuneops.cli.estimate:estimate",
    "rules": "tuneops.cli.rules:rules",
    "providers": "tuneops.cli.providers:providers",
    "keys": "tuneops.cli.keys:keys",
    "sandbox": "tuneops.cli.sandbox:sandbox",
    "submit": "tuneops.cli.submit:submit",
    "migrate": "tuneops.cli.migrate:migrate",
    "reconcile": "tuneops.cli.reconcile:reconcile",
    "watch": "tuneops.cli.watch:watch",
    "costs": "tuneops.cli.ledger_io:costs",
    "export": "tuneops.cli.ledger_io:export",
    "config": "tuneops.cli.config:config",
    "list": "tuneops.cli.jobs:list_",
    "show": "tuneops.cli.jobs:show",
    "status": "tuneops.cli.jobs:status",
    "events": "tuneops.cli.jobs:events",
    "cancel": "tuneops.cli.jobs:cancel",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        cmd: click.Command = getattr(importlib.import_module(module), attr)
        return cmd

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tuneops")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Validate, convert, count and cost fine-tuning data for hosted vendor APIs.

    Exit codes: 0 success, 1 the data has errors (or a strict conversion would lose data),
    2 usage error, 3 file could not be read or written, 4 tokenizer data problem,
    5 vendor error (refused, failed or unreachable), 6 missing or rejected credentials,
    70 internal error, 130 interrupted, 141 output pipe closed, 143 terminated (SIGTERM).
    """
    from tuneops.cli._common import handle_sigterm
    from tuneops.redaction import install_log_redaction

    install_log_redaction()  # no key reaches a log line, whichever library logs it
    handle_sigterm()  # a `kill` cleans up as Ctrl-C does, and exits 143
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="tuneops")

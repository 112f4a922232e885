"""`tuneops config`."""

from __future__ import annotations

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["config"]


@click.command()
@json_option
@command
def config(as_json: bool) -> None:
    """Show the effective settings and where each came from.

    Precedence, highest first: a command-line flag, the environment (TUNEOPS_DB,
    TUNEOPS_PRICES, TUNEOPS_SANDBOX_FAULTS, TUNEOPS_HOME), tuneops.toml in the current
    directory, config.toml in the state directory, the built-in default. Credentials are listed
    by `tuneops providers` (sources only, never the keys).
    """
    from tuneops.config import effective

    settings = effective()
    if as_json:
        emit_json({s.name: {"value": s.value, "source": s.source, "description": s.description}
                   for s in settings})
        return
    for s in settings:
        click.echo(f"{s.name:15} {s.value}")
        click.echo(f"{'':15} from {s.source}: {s.description}")

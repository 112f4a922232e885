"""`tuneops rules`."""

from __future__ import annotations

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["rules"]


@click.command()
@click.option("--provider", "-p", metavar="NAME", help="Only this vendor's packs.")
@click.option("--verbose", "-v", is_flag=True, help="List every rule id of each pack.")
@json_option
@command
def rules(provider: str | None, verbose: bool, as_json: bool) -> None:
    """List the rule packs: vendor, method, record format, when the rules were last verified
    against the vendor's documentation, and (with -v) every rule id."""
    from tuneops.datasets.rules import PACKS, get_pack

    packs = [get_pack(p, m) for p, m in PACKS]
    if provider:
        wanted = get_pack(provider, "sft" if any(p == provider for p, _ in PACKS) else "dpo").provider
        packs = [p for p in packs if p.provider == wanted]
    if as_json:
        emit_json([p.describe() for p in packs])
        return
    for p in packs:
        click.echo(f"{p.id:20} {p.record_format:18} verified {p.verified}  {p.title}")
        for note in p.notes:
            click.echo(f"{'':20} note: {note}")
        if verbose:
            for rule, what in sorted(p.all_rules().items()):
                click.echo(f"{'':22}{rule:45} {what}")

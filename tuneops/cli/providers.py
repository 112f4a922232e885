"""`tuneops providers`."""

from __future__ import annotations

from typing import Any

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["providers"]


@click.command()
@json_option
@command
def providers(as_json: bool) -> None:
    """List the provider adapters: methods, capabilities, where credentials were found (never
    the key itself), and dated vendor notes (shutdowns, deprecations); then the vendors tuneops
    knows without an adapter, and why.

    Rule packs for validating and converting data exist for more vendors than adapters: see
    `tuneops rules`.
    """
    from tuneops.providers.registry import (
        NO_ADAPTER,
        PROVIDERS,
        missing_extra,
        provider_class,
        provider_names,
    )

    rows = []
    for name in provider_names():
        cls = provider_class(name, check_extra=False)
        info = cls.capabilities()
        info["extra"] = PROVIDERS[name].extra
        info["extra_installed"] = missing_extra(name) is None
        info["credentials"], hint = cls.credentials_status()
        if info["credentials"] is None:
            info["credentials_hint"] = hint
        rows.append(info)
    others: list[dict[str, Any]] = [
        {"name": name, "adapter": False, "notes": [n.model_dump() for n in notes]}
        for name, notes in NO_ADAPTER.items()]
    if as_json:
        emit_json([{**r, "adapter": True} for r in rows] + others)
        return
    for info in rows:
        caps = [k for k in ("cancel", "pause", "events", "checkpoints", "server_estimate") if info[k]]
        click.echo(f"{info['name']:10} {info['title']}")
        click.echo(f"{'':10} methods: {', '.join(info['methods'])}; upload: {info['upload']};"
                   f" {', '.join(caps)}")
        cred = info["credentials"] or f"not found ({info.get('credentials_hint', '')})"
        click.echo(f"{'':10} credentials: {cred}")
        if not info["extra_installed"]:
            click.echo(f"{'':10} not installed: pip install 'tuneops[{info['extra']}]'")
        for note in info["notes"]:
            click.echo(f"{'':10} {note['date']}: {note['text']}")
    click.echo("\nno adapter (rule packs only: `tuneops validate` / `convert` work):")
    for other in others:
        for note in other["notes"]:
            click.echo(f"{other['name']:10} {note['date']}: {note['text']}")

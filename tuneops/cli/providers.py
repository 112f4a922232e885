"""`tuneops providers`."""

from __future__ import annotations

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["providers"]


@click.command()
@json_option
@command
def providers(as_json: bool) -> None:
    """List the provider adapters: methods, capabilities, where credentials were found (never
    the key itself), and dated vendor notes (shutdowns, deprecations).

    Rule packs for validating and converting data exist for more vendors than adapters: see
    `tuneops rules`.
    """
    from tuneops.errors import MissingCredentialsError, UsageError
    from tuneops.providers.credentials import resolve_key
    from tuneops.providers.registry import provider_class, provider_names

    rows = []
    for name in provider_names():
        cls = provider_class(name)
        info = cls.capabilities()
        try:
            _, source = resolve_key(name, cls.key_env)
            info["credentials"] = source
        except (MissingCredentialsError, UsageError) as err:
            info["credentials"] = None
            info["credentials_hint"] = err.hint or err.message
        rows.append(info)
    if as_json:
        emit_json(rows)
        return
    for info in rows:
        caps = [k for k in ("cancel", "pause", "events", "checkpoints", "server_estimate") if info[k]]
        click.echo(f"{info['name']:10} {info['title']}")
        click.echo(f"{'':10} methods: {', '.join(info['methods'])}; upload: {info['upload']};"
                   f" {', '.join(caps)}")
        cred = info["credentials"] or f"not found ({info.get('credentials_hint', '')})"
        click.echo(f"{'':10} credentials: {cred}")
        for note in info["notes"]:
            click.echo(f"{'':10} {note['date']}: {note['text']}")

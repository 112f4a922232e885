"""`tuneops keys`."""

from __future__ import annotations

import sys

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Store API keys in the state directory's keys file (mode 0600).

    Keys are looked up in this order: the adapter's api_key= argument (Python), the vendor's
    environment variable (e.g. OPENAI_API_KEY), then this file. No command takes a key as an
    option: command lines are visible to other users in `ps`. Set TUNEOPS_HOME to move the state directory.
    """


@keys.command("set")
@click.argument("provider")
@command
def set_(provider: str) -> None:
    """Store the key for PROVIDER, read from a hidden prompt or from stdin (never from argv).

        tuneops keys set openai
        printf '%s' "$KEY" | tuneops keys set openai
    """
    from tuneops.providers.credentials import set_key
    from tuneops.providers.registry import provider_class

    cls = provider_class(provider)  # a known name, or "did you mean"
    if not cls.uses_api_key:
        from tuneops.errors import UsageError

        raise UsageError(f"{provider} takes no API key", hint=cls.credentials_status()[1]
                         or "see `tuneops providers`")
    tty = sys.stdin.isatty()
    value = click.prompt(f"{provider} API key", hide_input=True) if tty else sys.stdin.read()
    path = set_key(provider, value)
    click.echo(f"stored the {provider} key in {path}")


@keys.command("list")
@json_option
@command
def list_(as_json: bool) -> None:
    """List the providers that have a stored key (never the keys)."""
    from tuneops.providers.credentials import keys_path, stored_providers

    names = stored_providers()
    if as_json:
        emit_json({"file": str(keys_path()), "providers": names})
    else:
        click.echo("\n".join(names) if names else f"no keys stored in {keys_path()}")


@keys.command("remove")
@click.argument("provider")
@command
def remove(provider: str) -> None:
    """Delete the stored key for PROVIDER."""
    from tuneops.providers.credentials import remove_key

    if remove_key(provider):
        click.echo(f"removed the {provider} key")
    else:
        click.echo(f"no {provider} key was stored")

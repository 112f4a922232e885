"""`tuneops convert`."""

from __future__ import annotations

from typing import Any

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["convert"]


def _print_report(d: dict[str, Any]) -> None:
    click.echo(f"{d.get('source_format')} -> {d.get('target_format')}: read"
               f" {d.get('examples_read', 0):,}, wrote {d.get('examples_written', 0):,}")
    for kind, info in sorted((d.get("losses") or {}).items()):
        lines = ", ".join(map(str, info.get("lines", [])))
        click.echo(f"  LOST {kind}: {info.get('examples', 0):,} example(s)"
                   f" (lines {lines}) - {info.get('description', '')}")
    for kind, info in sorted((d.get("changes") or {}).items()):
        count = info.get("examples", info) if isinstance(info, dict) else info
        desc = info.get("description", "") if isinstance(info, dict) else ""
        click.echo(f"  changed {kind}: {count} {desc}")
    dropped = d.get("dropped") or []
    if dropped:
        click.echo(f"  DROPPED {len(dropped):,} example(s); first: {dropped[:3]}")
    invalid = d.get("invalid_lines") or []
    if invalid:
        click.echo(f"  invalid input lines: {len(invalid):,}; first: {invalid[:3]}")
    if not d.get("losses") and not dropped:
        click.echo("  nothing lost")


@click.command()
@click.argument("file", type=click.Path())
@click.option("--to", "to_provider", required=True, metavar="PROVIDER",
              help="Target vendor (its rule pack decides the format).")
@click.option("--from", "from_format", metavar="FORMAT",
              help="Source format (default: detected from the records).")
@click.option("--method", "-m", default="sft", show_default=True, metavar="sft|dpo",
              help="Target training method.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the converted file (written atomically; never the input).")
@click.option("--strict", is_flag=True, help="Write nothing if anything would be lost (exit 1).")
@json_option
@command
def convert(file: str, to_provider: str, from_format: str | None, method: str, output: str,
            strict: bool, as_json: bool) -> None:
    """Convert a training file to another vendor's format and say what is lost.

    The report lists, per kind of information that could not be carried over (per-message
    weights, extra system messages, images, tool calls, names, ...), how many examples were
    affected and where. With --strict nothing is written when anything would be lost.

        tuneops convert train.jsonl --to vertex -o train.gemini.jsonl
    """
    from tuneops.datasets.convert import convert_file
    from tuneops.errors import LossyConversionError

    try:
        report = convert_file(file, output, to_provider=to_provider, to_method=method,
                              from_format=from_format, strict=strict)
    except LossyConversionError as err:
        rep = getattr(err, "report", None)
        if rep is not None and not as_json:
            _print_report(rep.to_dict())
        raise
    d = report.to_dict()
    if as_json:
        emit_json({"ok": True, "output": output, **d})
    else:
        _print_report(d)
        click.echo(f"wrote {output}")

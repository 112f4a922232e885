"""`tuneops convert`."""

from __future__ import annotations

import click

from tuneops.cli._common import EXIT_DATA, command, emit_json, json_option

__all__ = ["convert"]


def _source_format(file: str, given: str) -> str:
    """A format name as given, or the detected format checked against a provider's formats."""
    from tuneops.datasets.detect import detect_format
    from tuneops.datasets.records import FORMATS
    from tuneops.datasets.rules import PACKS, PROVIDER_ALIASES, get_pack
    from tuneops.errors import UsageError

    if given in FORMATS:
        return given
    provider = PROVIDER_ALIASES.get(given.lower(), given.lower())
    methods = [m for p, m in PACKS if p == provider]
    if not methods:
        get_pack(given, "sft")  # raises UnknownProviderError with "did you mean"
    formats = {get_pack(provider, m).record_format for m in methods}
    detected = detect_format(file)
    if detected not in formats:
        raise UsageError(
            f"{file} looks like {detected} records, not {provider}'s"
            f" ({', '.join(sorted(formats))})",
            hint="drop --from to convert from the detected format, or name the format",
        )
    return detected


@click.command()
@click.argument("file", type=click.Path())
@click.option("--to", "to_provider", required=True, metavar="PROVIDER",
              help="Target vendor (its rule pack decides the format).")
@click.option("--from", "from_format", metavar="PROVIDER|FORMAT",
              help="Source provider or record format (default: detected from the records).")
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

    if from_format:
        from_format = _source_format(file, from_format)
    try:
        report = convert_file(file, output, to_provider=to_provider, to_method=method,
                              from_format=from_format, strict=strict)
    except LossyConversionError as err:
        if err.report is None:
            raise
        if not as_json:
            click.echo(err.report.summary())
            raise
        emit_json({"ok": False, "error": {"message": err.message, "hint": err.hint,
                                          "exit_code": EXIT_DATA}, **err.report.to_dict()})
        click.echo(f"error: {err.message}", err=True)
        click.get_current_context().exit(EXIT_DATA)
    if as_json:
        emit_json({"ok": True, "output": output, **report.to_dict()})
    else:
        click.echo(report.summary())
        click.echo(f"wrote {output}")

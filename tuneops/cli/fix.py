"""`tuneops fix`."""

from __future__ import annotations

import click

from tuneops.cli._common import EXIT_DATA, command, emit_json, json_option, method_option, provider_option

__all__ = ["fix"]


@click.command()
@click.argument("file", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the repaired file (never the input).")
@click.option("--rejects", type=click.Path(dir_okay=False),
              help="Where examples that still fail go, with reasons [default: OUTPUT.rejects.jsonl].")
@provider_option(required=False, help_="Vendor whose rules decide what still fails [default: openai].")
@method_option
@json_option
@command
def fix(file: str, output: str, rejects: str | None, provider: str | None, method: str,
        as_json: bool) -> None:
    """Apply safe repairs and set aside what cannot be repaired.

    Repairs: strip a UTF-8 BOM, CRLF -> LF, drop blank lines, serialize tool-call arguments
    given as objects, trim messages after the last assistant turn. Each repair is counted with
    the lines it touched. Examples that still have errors go to the rejects file with their
    reasons. Exits 1 when anything was rejected.

        tuneops fix train.jsonl -o train.fixed.jsonl --provider openai
    """
    from tuneops.datasets.fix import fix_file

    report = fix_file(file, output, provider=provider or "openai", method=method, rejects=rejects)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"{report.output}: wrote {report.written:,} example(s) of {report.lines:,} line(s)")
        for kind, r in sorted(report.repairs.items()):
            lines = ", ".join(map(str, r.lines)) + (" ..." if r.count > len(r.lines) else "")
            click.echo(f"  {kind:15} {r.count:>8,}  (lines {lines})")
        if report.rejected:
            click.echo(f"{report.rejects}: {report.rejected:,} example(s) still fail; see the reasons"
                       " there", err=True)
        elif not report.repairs:
            click.echo("  nothing needed repair")
    if report.rejected:
        click.get_current_context().exit(EXIT_DATA)

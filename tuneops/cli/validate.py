"""`tuneops validate`."""

from __future__ import annotations

import sys

import click
import orjson

from tuneops.cli._common import (
    EXIT_DATA,
    command,
    json_option,
    method_option,
    progress_bar,
    provider_option,
)
from tuneops.datasets.engine import ValidationOptions, ValidationReport, validate_file
from tuneops.datasets.reader import DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE_BYTES

__all__ = ["validate"]

def _write_json(report: ValidationReport) -> None:
    """One JSON document, streamed finding by finding so that memory stays flat."""
    out = sys.stdout.buffer
    pack = report.pack
    head = {
        "ok": report.ok, "file": report.file, "provider": pack.provider, "method": pack.method,
        "model": report.model,
    }
    out.write(orjson.dumps(head)[:-1])
    for key, severity in (("errors", "error"), ("warnings", "warning")):
        out.write(f',"{key}":['.encode())
        first = True
        for f in report.findings():
            if f.severity == severity:
                out.write((b"" if first else b",") + orjson.dumps(f.to_dict()))
                first = False
        out.write(b"]")
    stats = report.stats.to_dict()
    stats["errors"] = report.errors
    stats["warnings"] = report.warnings
    stats["by_rule"] = {r: s.count for r, s in sorted(report.summaries.items())}
    if report.token_method:
        stats["token_method"] = report.token_method
    tail = {"stats": stats, "rule_pack": {"id": pack.id, "verified": pack.verified,
                                          "sources": list(pack.sources)}}
    out.write(b"," + orjson.dumps(tail)[1:] + b"\n")
    out.flush()


def _write_human(report: ValidationReport, max_shown: int) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    pack = report.pack
    st = report.stats
    mark = "[green]✓[/]" if report.ok else "[red]✗[/]"
    console.print(
        f"{mark} {escape(report.file)}: {report.errors:,} error(s), {report.warnings:,} warning(s)"
        f" in {st.examples:,} example(s) [dim]({pack.title} rules, verified {pack.verified})[/]"
    )
    order = sorted(report.summaries.values(), key=lambda s: (s.severity != "error", -s.count, s.rule))
    for s in order:
        color = "red" if s.severity == "error" else "yellow"
        console.print(f"\n[{color}]{s.severity.upper()}[/] [bold]{s.rule}[/] ({s.count:,})")
        for f in s.samples[:max_shown]:
            where = "dataset" if f.line is None else f"line {f.line}"
            path = f"  {f.path}" if f.path else ""
            console.print(f"  {where}{escape(path)}: {escape(f.message)}")
        if s.count > max_shown:
            console.print(f"  [dim]... and {s.count - max_shown:,} more (see --json for all)[/]")
    parts = [
        f"lines {st.lines:,}", f"examples {st.examples:,}", f"valid {st.valid_examples:,}",
        f"blank {st.blank_lines:,}", f"{st.bytes / 1e6:,.1f} MB",
    ]
    if st.tokens_counted:
        parts.append(f"training tokens {st.tokens_total:,} (max {st.tokens_max:,}/example)")
    console.print("\n[dim]" + " · ".join(parts) + "[/]")
    if report.token_method:
        console.print(f"[dim]tokens: {escape(report.token_method)}[/]")


@click.command()
@click.argument("file", type=click.Path(dir_okay=True, allow_dash=False))
@provider_option()
@method_option
@click.option("--model", metavar="ID", help="Base model; enables per-example token limits.")
@click.option("--tokens/--no-tokens", default=None,
              help="Count training tokens (default: on when --model is given).")
@click.option("--tokenizer", type=click.Choice(["auto", "tiktoken"]), default="auto",
              show_default=True, help="Token counting engine for OpenAI models.")
@click.option("--max-shown", default=5, show_default=True, type=click.IntRange(0),
              help="Places shown per rule in the human report.")
@click.option("--max-line-bytes", default=DEFAULT_MAX_LINE_BYTES, show_default=True,
              type=click.IntRange(1), help="Longer lines are reported, not read.")
@click.option("--max-depth", default=DEFAULT_MAX_DEPTH, show_default=True, type=click.IntRange(1),
              help="Deeper nesting is reported.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Processes to use (default: one per CPU for large files).")
@json_option
@command
def validate(
    file: str, provider: str, method: str, model: str | None, tokens: bool | None,
    tokenizer: str, max_shown: int, max_line_bytes: int, max_depth: int, workers: int | None,
    as_json: bool,
) -> None:
    """Check a JSONL training file against a vendor's rules.

    Reports every problem with its line, JSON path and rule id, and exits 1 if there is any
    error (warnings alone exit 0). Example:

        tuneops validate train.jsonl --provider openai --model gpt-4o-mini-2024-07-18
    """
    opts = ValidationOptions(
        provider=provider, method=method, model=model,
        count_tokens=bool(model) if tokens is None else tokens, tokenizer=tokenizer,
        max_line_bytes=max_line_bytes, max_depth=max_depth, workers=workers,
        max_samples=max(max_shown, 1),
    )
    with progress_bar(file, "validating") as progress:
        report = validate_file(file, opts, progress=progress)
    with report:
        if as_json:
            _write_json(report)
        else:
            _write_human(report, max_shown)
        if not report.ok:
            click.get_current_context().exit(EXIT_DATA)

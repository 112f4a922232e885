"""`tuneops costs` and `tuneops export`: reading the ledger as money and as files."""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from typing import Any

import click
import orjson

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["costs", "export"]

_DB = click.option("--db", metavar="URL", help="Ledger database URL (default: $TUNEOPS_DB, else"
                   " SQLite in the state directory).")


def _group_key(record: Any, by: str) -> str:
    if by == "provider":
        return str(record.provider)
    if by == "model":
        return f"{record.provider}:{record.base_model or '?'}"
    return str(record.created_at.strftime("%Y-%m"))


@click.command()
@click.option("--by", type=click.Choice(["provider", "month", "model"]), default="provider",
              show_default=True, help="How to group the jobs.")
@click.option("--include-sandbox", is_flag=True, help="Count sandbox jobs too (they cost nothing).")
@_DB
@json_option
@command
def costs(by: str, include_sandbox: bool, db: str | None, as_json: bool) -> None:
    """Estimated against billed cost of the jobs in the ledger, side by side, per group.

    Billed cost is the vendor's figure when it reports one, else billed tokens x the dated price
    row (the basis is kept per job: `tuneops show JOB`). Amounts in different currencies are
    never added together.
    """
    from tuneops.orchestrator import Ledger

    with Ledger.open(db) as ledger:
        records = [r for r in ledger.iter_all() if include_sandbox or not r.sandbox]
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "jobs": 0, "billed_jobs": 0, "billed_tokens": 0,
        "estimated": defaultdict(float), "billed": defaultdict(float)})
    for r in records:
        g = groups[_group_key(r, by)]
        g["jobs"] += 1
        g["billed_tokens"] += r.trained_tokens or 0
        if r.estimated_cost is not None:
            g["estimated"][r.currency or "?"] += r.estimated_cost
        if r.billed_cost is not None:
            g["billed"][r.currency or "?"] += r.billed_cost
            g["billed_jobs"] += 1
    rows: list[dict[str, Any]] = [
        {"group": key, **{k: dict(v) if isinstance(v, defaultdict) else v for k, v in vals.items()}}
        for key, vals in sorted(groups.items())]
    if as_json:
        emit_json({"by": by, "groups": rows})
        return
    if not rows:
        click.echo("no jobs" + ("" if include_sandbox else " (sandbox jobs are left out:"
                                " --include-sandbox)"))
        return

    def money(amounts: dict[str, float]) -> str:
        return ", ".join(f"{v:,.2f} {c}" for c, v in sorted(amounts.items())) or "-"

    click.echo(f"{by:24} {'jobs':>5} {'billed tokens':>15}  estimated / billed")
    for row in rows:
        pending = row["jobs"] - row["billed_jobs"]
        click.echo(f"{row['group']:24} {row['jobs']:>5} {row['billed_tokens']:>15,}"
                   f"  {money(row['estimated'])} / {money(row['billed'])}"
                   + (f"  ({pending} not billed yet)" if pending else ""))


@click.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default:"
              " stdout). Written atomically.")
@_DB
@command
def export(fmt: str, output: str | None, db: str | None) -> None:
    """Every job in the ledger, oldest first, as JSON lines or CSV (one row per job)."""
    from tuneops.datasets.output import atomic_writer
    from tuneops.orchestrator import JobRecord, Ledger

    fields = list(JobRecord.field_names())

    def write(out: Any) -> int:
        n = 0
        with Ledger.open(db) as ledger:
            if fmt == "jsonl":
                for r in ledger.iter_all():
                    out.write(orjson.dumps(r.to_dict()) + b"\n")
                    n += 1
            else:
                import io

                text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
                writer = csv.DictWriter(text, fieldnames=fields)
                writer.writeheader()
                for r in ledger.iter_all():
                    row = r.to_dict()
                    writer.writerow({k: (orjson.dumps(v).decode() if isinstance(v, dict) else v)
                                     for k, v in row.items()})
                    n += 1
                text.detach()
        return n

    if output:
        with atomic_writer(output) as out:
            n = write(out)
        click.echo(f"wrote {n:,} job(s) to {output}", err=True)
    else:
        write(sys.stdout.buffer)
        sys.stdout.flush()

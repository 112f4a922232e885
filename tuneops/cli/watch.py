"""`tuneops watch`."""

from __future__ import annotations

import sys
from typing import Any

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["watch"]


def _table(records: list[Any], stalled: set[str]) -> Any:
    from rich.table import Table

    table = Table(title="tuneops watch")
    for col in ("job", "provider", "status", "model", "billed tokens", "cost"):
        table.add_column(col)
    for r in records:
        status = r.raw_status or r.status
        if r.id in stalled:
            status += " (stalled)"
        cost = f"{r.billed_cost:,.2f} {r.currency}" if r.billed_cost is not None else ""
        table.add_row(r.id, r.provider, status, r.fine_tuned_model or r.base_model or "",
                      f"{r.trained_tokens:,}" if r.trained_tokens else "", cost)
    return table


@click.command()
@click.argument("jobs", nargs=-1)
@click.option("--sandbox", is_flag=True, help="Follow jobs in the offline emulator.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(min=0.01),
              help="First poll interval in seconds; it backs off to --max-interval.")
@click.option("--max-interval", default=120.0, show_default=True, type=click.FloatRange(min=0.01))
@click.option("--stall-after", default=3600.0, show_default=True, type=click.FloatRange(min=0),
              help="Flag a job with no change for this many seconds.")
@click.option("--timeout", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option("--db", metavar="URL", help="Ledger database URL (default: $TUNEOPS_DB, else SQLite"
              " in the state directory).")
@json_option
@command
def watch(jobs: tuple[str, ...], sandbox: bool, interval: float, max_interval: float,
          stall_after: float, timeout: float | None, db: str | None, as_json: bool) -> None:
    """Follow unfinished jobs (all of them, or the JOBS given) until they finish.

    Every status change and vendor event goes to the ledger, so a watch can be stopped and
    restarted at any time. Shows a live table on a terminal, one line per change otherwise.
    """
    from tuneops.orchestrator import Ledger, Orchestrator
    from tuneops.orchestrator.watch import PassResult
    from tuneops.orchestrator.watch import watch as run

    with Orchestrator(Ledger.open(db), sandbox=sandbox) as orch:
        followed = list(jobs) or [r.id for r in orch.ledger.list_jobs(unfinished=True)]
        if not followed:
            if as_json:
                emit_json([])
            else:
                click.echo("no unfinished jobs")
            return
        live = None
        if not as_json and sys.stdout.isatty():
            from rich.live import Live

            live = Live(_table([orch.ledger.get(j) for j in followed], set()), refresh_per_second=4)
            live.start()

        def on_pass(result: PassResult) -> None:
            records = [orch.ledger.get(j) for j in followed]
            if live is not None:
                live.update(_table(records, set(result.stalled)))
            elif not as_json:
                for jid in result.changed:
                    r = orch.ledger.get(jid)
                    click.echo(f"{r.id} {r.raw_status}" + (f" {r.fine_tuned_model}"
                                                           if r.fine_tuned_model else ""))
                for name, message in result.errors.items():
                    click.echo(f"{name}: {message} (retrying)", err=True)

        try:
            run(orch, jobs=followed, first_interval=interval, max_interval=max_interval,
                stall_after=stall_after, timeout=timeout, on_pass=on_pass)
        finally:
            if live is not None:
                live.stop()
        records = [orch.ledger.get(j) for j in followed]
    if as_json:
        emit_json([r.to_dict() for r in records])
    elif live is None:
        for r in records:
            click.echo(f"{r.id}: {r.status}" + (f" {r.fine_tuned_model}" if r.fine_tuned_model else ""))

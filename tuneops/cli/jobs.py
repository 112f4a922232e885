"""`tuneops list`, `show`, `status`, `events` and `cancel`: the jobs in the ledger."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tuneops.cli._common import command, emit_json, json_option

if TYPE_CHECKING:
    from tuneops.orchestrator import HistoryEntry, JobRecord, Ledger, Orchestrator

__all__ = ["cancel", "events", "list_", "show", "status"]

F = TypeVar("F", bound=Callable[..., Any])
RECENT = timedelta(days=7)
_AGO = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def db_option(f: F) -> F:
    return click.option("--db", metavar="URL", help="Ledger database URL (default: $TUNEOPS_DB,"
                        " else SQLite in the state directory).")(f)


def job_argument(f: F) -> F:
    return click.argument("job", metavar="JOB")(f)


def _is_final(record: JobRecord) -> bool:
    """As `Orchestrator.wait` sees it: a success counts once its model id is known."""
    return record.status in ("failed", "cancelled") or (
        record.status == "succeeded" and record.fine_tuned_model is not None)


def _parse_since(value: str) -> datetime:
    match = _AGO.match(value.strip().lower())
    if match:
        return datetime.now(UTC) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a date (2026-11-01), a time"
                                 " (2026-11-01T09:30) or an age (90m, 12h, 7d, 2w)",
                                 param_hint="--since") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _parse_label(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{value!r}: use key=value", param_hint="--label")
    return key, val


@contextmanager
def _orchestrator(db: str | None, job: str, sandbox: bool = False
                  ) -> Iterator[tuple[Orchestrator, JobRecord]]:
    """The job's record (exit 2 if unknown) and an orchestrator that reaches its vendor: the
    sandbox for jobs created there, whatever the flag says."""
    from tuneops.orchestrator import Ledger, Orchestrator

    with Ledger.open(db) as ledger:
        record = ledger.get(job)
        with Orchestrator(ledger, sandbox=record.sandbox or sandbox) as orch:
            yield orch, record


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _cost(record: JobRecord) -> str:
    if record.billed_cost is not None:
        return f"{record.billed_cost:,.2f} {record.currency or ''}".strip()
    if record.estimated_cost is not None:
        return f"~{record.estimated_cost:,.2f} {record.currency or ''}".strip()
    return "-"


def _entry_line(h: HistoryEntry) -> str:
    what = h.status or ""
    if h.raw_status and h.raw_status != h.status:
        what = f"{what} ({h.raw_status})" if what else h.raw_status
    text = "  ".join(p for p in (what, h.message or "") if p)
    return f"{_when(h.at)}  {h.kind:<6}  {text}".rstrip()


def _events(ledger: Ledger, job_id: str) -> list[HistoryEntry]:
    """The vendor events in the order the ledger recorded them."""
    return [h for h in ledger.history(job_id) if h.kind == "event"]


@click.command("list")
@click.option("--provider", "-p", metavar="NAME", help="Only this vendor's jobs.")
@click.option("--status", "-s", metavar="STATUS",
              help="Only jobs in this status (pending, running, succeeded, failed, cancelled...).")
@click.option("--since", metavar="DATE|AGE", help="Only jobs created since then: 2026-11-01,"
              " 2026-11-01T09:30, or an age such as 12h, 7d, 2w. Replaces the default window.")
@click.option("--label", metavar="KEY=VALUE", help="Only jobs carrying this label.")
@click.option("--all", "-a", "show_all", is_flag=True,
              help="Every job, not only unfinished ones and those finished in the last 7 days.")
@db_option
@json_option
@command
def list_(provider: str | None, status: str | None, since: str | None, label: str | None,
          show_all: bool, db: str | None, as_json: bool) -> None:
    """List the jobs in the ledger, newest first.

    Without --all or --since: the unfinished jobs and those finished in the last 7 days.

        tuneops list --provider openai --label team=support
    """
    from tuneops.orchestrator.readpath import list_jobs

    since_at = _parse_since(since) if since else None
    label_kv = _parse_label(label) if label else None
    records = list_jobs(db, provider=provider, status=status, since=since_at, label=label_kv)
    if not show_all and since_at is None:
        cutoff = datetime.now(UTC) - RECENT
        records = [r for r in records
                   if not _is_final(r) or (r.finished_at or r.updated_at) >= cutoff]
    if as_json:
        emit_json([r.to_dict() for r in records])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for name in ("id", "provider", "status", "base model"):
        table.add_column(name, no_wrap=True)
    table.add_column("fine-tuned model", overflow="fold")
    table.add_column("billed tokens", justify="right", no_wrap=True)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for r in records:
        table.add_row(r.id + ("*" if r.sandbox else ""), r.provider, r.status,
                      r.base_model or "-", r.fine_tuned_model or "-",
                      "-" if r.trained_tokens is None else f"{r.trained_tokens:,}", _cost(r),
                      _when(r.created_at)[:16])
    # a terminal's width; piped output is never wrapped (scripts grep it)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 400)
    if records:
        console.print(table)
        if any(r.sandbox for r in records):
            console.print("* sandbox job")
    else:
        click.echo("no jobs" + ("" if show_all else " (--all shows older ones)"), err=True)


@click.command()
@job_argument
@db_option
@json_option
@command
def show(job: str, db: str | None, as_json: bool) -> None:
    """Everything the ledger knows about a job, and its history in order.

    JOB is the ledger id, the vendor's job id, or the client reference. Nothing is asked of the
    vendor; `tuneops status` refreshes first.
    """
    from tuneops.orchestrator import Ledger

    with Ledger.open(db) as ledger:
        record = ledger.get(job)
        entries = ledger.history(record.id)
        parents: list[JobRecord] = []
        parent_id = record.parent_id
        while parent_id is not None and len(parents) < 100:
            parents.append(ledger.get(parent_id))
            parent_id = parents[-1].parent_id
        children = ledger.children(record.id)

    def brief(r: JobRecord) -> dict[str, Any]:
        return {"id": r.id, "provider": r.provider, "vendor_job_id": r.vendor_job_id,
                "base_model": r.base_model, "status": r.status,
                "fine_tuned_model": r.fine_tuned_model}

    if as_json:
        emit_json({**record.to_dict(),
                   "lineage": {"migrated_from": [brief(p) for p in parents],
                               "migrated_to": [brief(c) for c in children]},
                   "history": [h.to_dict() for h in entries]})
        return
    for key, value in record.to_dict().items():
        text = json.dumps(value) if isinstance(value, dict) else "-" if value is None else value
        click.echo(f"{key + ':':<27} {text}")
    if parents or children:
        click.echo("lineage:")
        for p in reversed(parents):
            click.echo(f"  from {p.id} ({p.provider} {p.base_model}, {p.status})"
                       + (f" -> {p.fine_tuned_model}" if p.fine_tuned_model else ""))
        click.echo(f"  this {record.id} ({record.provider} {record.base_model})")
        for c in children:
            click.echo(f"  to   {c.id} ({c.provider} {c.base_model}, {c.status})"
                       + (f" -> {c.fine_tuned_model}" if c.fine_tuned_model else ""))
    click.echo(f"history ({len(entries)}):")
    for h in entries:
        click.echo(f"  {_entry_line(h)}")


@click.command()
@job_argument
@click.option("--sandbox", is_flag=True,
              help="Ask the offline emulator (implied for jobs created in the sandbox).")
@db_option
@json_option
@command
def status(job: str, sandbox: bool, db: str | None, as_json: bool) -> None:
    """Ask the vendor about a job now, record what changed, and print it.

    JOB is the ledger id, the vendor's job id, or the client reference.
    """
    from tuneops.cli.submit import _summary

    with _orchestrator(db, job, sandbox) as (orch, found):
        record = orch.refresh(found.id)
    if as_json:
        emit_json(record.to_dict())
    else:
        click.echo(_summary(record))


@click.command()
@job_argument
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until the job ends."
              " With --json, one JSON object per line as they arrive.")
@db_option
@json_option
@command
def events(job: str, follow: bool, db: str | None, as_json: bool) -> None:
    """A job's vendor events, as recorded in the ledger, after asking the vendor for new ones.

    JOB is the ledger id, the vendor's job id, or the client reference. Each event is recorded
    in the ledger once, however often it is seen.
    """
    with _orchestrator(db, job) as (orch, found):
        record = orch.refresh(found.id)
        seen = _events(orch.ledger, record.id)
        if not follow:
            if as_json:
                emit_json([h.to_dict() for h in seen])
            else:
                for h in seen:
                    click.echo(_entry_line(h))
                click.echo(f"{record.id}: {record.status}", err=True)
            return

        def out(entries: list[HistoryEntry]) -> None:
            for h in entries:
                if as_json:
                    click.echo(json.dumps(h.to_dict()))
                else:
                    click.echo(_entry_line(h))

        out(seen)
        known = {h.seq for h in seen}
        delay, cap = (0.05, 1.0) if orch.sandbox else (5.0, 60.0)
        while not _is_final(record) and record.vendor_job_id is not None:
            time.sleep(delay)
            delay = min(cap, delay * 1.5)
            record = orch.refresh(record.id)
            new = [h for h in _events(orch.ledger, record.id) if h.seq not in known]
            known.update(h.seq for h in new)
            out(new)
        if not as_json:
            click.echo(f"{record.id}: {record.status}", err=True)


@click.command()
@job_argument
@db_option
@json_option
@command
def cancel(job: str, db: str | None, as_json: bool) -> None:
    """Cancel a job at its vendor and record the answer.

    JOB is the ledger id, the vendor's job id, or the client reference.
    """
    from tuneops.cli.submit import _summary

    with _orchestrator(db, job) as (orch, found):
        record = orch.cancel(found.id)
    if as_json:
        emit_json(record.to_dict())
    else:
        click.echo(_summary(record))

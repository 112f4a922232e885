"""`tuneops reconcile`."""

from __future__ import annotations

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["reconcile"]


@click.command()
@click.option("--provider", "-p", metavar="NAME", help="Only this provider's jobs.")
@click.option("--grace", default=120.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS", help="Leave intents younger than this to a submission still"
              " running elsewhere.")
@click.option("--sandbox", is_flag=True, help="Reconcile against the offline emulator.")
@click.option("--db", metavar="URL", help="Ledger database URL (default: $TUNEOPS_DB, else SQLite"
              " in the state directory).")
@json_option
@command
def reconcile(provider: str | None, grace: float, sandbox: bool, db: str | None,
              as_json: bool) -> None:
    """Resolve interrupted submissions against the vendors; never creates anything.

    A ledger entry without a vendor job (the submission was killed or lost its answer) is
    matched by its reference against the vendor's jobs: found, the job is adopted; not found
    (and older than --grace), it is marked never created. Also reports vendor jobs carrying a
    tuneops reference this ledger does not know, and how many vendor jobs tuneops did not start.
    """
    from tuneops.orchestrator import Ledger, Orchestrator
    from tuneops.orchestrator.reconcile import reconcile as run

    with Orchestrator(Ledger.open(db), sandbox=sandbox) as orch:
        report = run(orch, provider=provider, grace=grace)
    if as_json:
        emit_json(report.to_dict())
        return
    for our, theirs in report.adopted:
        click.echo(f"adopted  {our} <- vendor job {theirs}")
    for our in report.never_created:
        click.echo(f"never created  {our} (nothing was billed; submit again)")
    for our in report.in_flight:
        click.echo(f"left alone  {our} (younger than {grace:g} s: may still be submitting)")
    for job in report.foreign:
        click.echo(f"unknown to this ledger  {job.provider} {job.id} (reference {job.client_ref})")
    for name, count in report.untagged.items():
        if count:
            click.echo(f"{name}: {count} job(s) not started by tuneops")
    if not (report.adopted or report.never_created or report.in_flight or report.foreign):
        click.echo("nothing to reconcile")

"""`tuneops migrate`."""

from __future__ import annotations

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["migrate"]


@click.command()
@click.argument("job", metavar="JOB")
@click.option("--to", "to", required=True, metavar="PROVIDER",
              help="Target vendor: openai, vertex, mistral or together.")
@click.option("--model", required=True, metavar="ID", help="Target base model.")
@click.option("--epochs", type=click.IntRange(1), help="Epochs (default: the source job's).")
@click.option("--batch-size", type=click.IntRange(1),
              help="Batch size (default: the source job's, where the target takes one).")
@click.option("--lr-multiplier", type=click.FloatRange(min=0, min_open=True),
              help="Learning-rate multiplier (default: the source job's, where the target takes"
              " a multiplier).")
@click.option("--suffix", help="Suffix of the resulting model name (default: the ledger id).")
@click.option("--max-cost", type=click.FloatRange(min=0), metavar="AMOUNT",
              help="Refuse if the estimate could exceed this (in the price table's currency).")
@click.option("--dry-run", is_flag=True, help="Show what would be submitted; send nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation on a terminal.")
@click.option("--wait", is_flag=True, help="Follow the new job until it finishes.")
@click.option("--sandbox", is_flag=True, help="Use the offline emulator: no key, no spend.")
@click.option("--db", metavar="URL", help="Ledger database URL (default: $TUNEOPS_DB, else SQLite"
              " in the state directory).")
@json_option
@command
def migrate(job: str, to: str, model: str, epochs: int | None, batch_size: int | None,
            lr_multiplier: float | None, suffix: str | None, max_cost: float | None,
            dry_run: bool, yes: bool, wait: bool, sandbox: bool, db: str | None,
            as_json: bool) -> None:
    """Take a job's data and settings to another vendor, as a new job linked to the old one.

    JOB is a ledger job (our id or the vendor's job id). Its training (and validation) file is
    converted to the target's format with the lossiness report, its settings are mapped (epochs
    everywhere; batch size and learning-rate multiplier where the target has them, and each one
    that has no equivalent is named), then it is estimated and submitted like `tuneops submit`.
    `tuneops show` displays the lineage. OpenAI accepts no new fine-tuning jobs from 2027-01-06.

        tuneops migrate tn-4kz8q2m --to mistral --model open-mistral-7b --wait
    """
    from tuneops.cli.submit import run_submission
    from tuneops.orchestrator import Ledger, Orchestrator

    with Orchestrator(Ledger.open(db), sandbox=sandbox) as orch:
        plan = orch.plan_migration(job, to=to, model=model, epochs=epochs, batch_size=batch_size,
                                   learning_rate_multiplier=lr_multiplier, suffix=suffix,
                                   max_cost=max_cost)
    if dry_run:
        if as_json:
            emit_json(plan.to_dict())
        else:
            click.echo(plan.summary())
        return
    run_submission(plan.request, yes=yes, wait=wait, sandbox=sandbox, db=db, as_json=as_json,
                   plan=plan)

"""`tuneops submit`."""

from __future__ import annotations

import sys
from typing import Any

import click

from tuneops.cli._common import EXIT_DATA, command, emit_json, json_option, method_option, provider_option

__all__ = ["run_submission", "submit"]


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: use key=value", param_hint="--label")
        out[key] = value
    return out


def _summary(record: Any) -> str:
    parts = [f"{record.id} ({record.provider} {record.vendor_job_id or '-'}): {record.status}"]
    if record.fine_tuned_model:
        parts.append(f"model {record.fine_tuned_model}")
    if record.trained_tokens is not None:
        parts.append(f"billed tokens {record.trained_tokens:,}")
    if record.billed_cost is not None:
        parts.append(f"cost {record.billed_cost:,.2f} {record.currency} ({record.cost_basis})")
    elif record.estimated_cost is not None:
        parts.append(f"estimated cost {record.estimated_cost:,.2f} {record.currency}")
    if record.error_message:
        parts.append(f"error [{record.error_kind}/{record.error_code}]: {record.error_message}")
    return "\n  ".join(parts)


JOB_FILE_KEYS = {"file", "provider", "model", "method", "epochs", "batch_size", "lr_multiplier",
                 "validation_file", "suffix", "labels", "max_cost", "sandbox", "wait"}


def _job_file(path: str) -> dict[str, Any]:
    """Fields of a job TOML file; its paths are relative to the file."""
    import tomllib
    from pathlib import Path

    from tuneops.errors import UsageError

    p = Path(path)
    try:
        data: dict[str, Any] = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"job file {path} cannot be read: {exc}", hint="fix its TOML") from None
    unknown = set(data) - JOB_FILE_KEYS
    if unknown:
        raise UsageError(f"job file {path} has unknown fields: {', '.join(sorted(unknown))}",
                         hint=f"fields: {', '.join(sorted(JOB_FILE_KEYS))}")
    for key in ("file", "validation_file"):
        if key in data:
            data[key] = str((p.parent / str(data[key])).resolve())
    if "labels" in data:
        data["labels"] = tuple(f"{k}={v}" for k, v in dict(data["labels"]).items())
    return data


@click.command()
@click.argument("file", type=click.Path(), required=False)
@click.option("-f", "--job-file", type=click.Path(dir_okay=False), metavar="JOB.toml",
              help="Take the fields from a TOML file (flags given here override it).")
@provider_option(required=False)
@click.option("--model", metavar="ID", help="Base model to fine-tune.")
@method_option
@click.option("--epochs", type=click.IntRange(1), help="Epochs (default: the vendor's).")
@click.option("--batch-size", type=click.IntRange(1), help="Batch size (default: the vendor's).")
@click.option("--lr-multiplier", type=click.FloatRange(min=0, min_open=True),
              help="Learning-rate multiplier (default: the vendor's).")
@click.option("--validation-file", type=click.Path(), help="A validation set in the same format.")
@click.option("--suffix", help="Suffix of the resulting model name (default: the ledger id).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Labels, repeatable.")
@click.option("--max-cost", type=click.FloatRange(min=0), metavar="AMOUNT",
              help="Refuse if the estimate could exceed this (in the price table's currency).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation on a terminal.")
@click.option("--wait", is_flag=True, help="Follow the job until it finishes.")
@click.option("--sandbox", is_flag=True, help="Use the offline emulator: no key, no spend.")
@click.option("--db", metavar="URL", help="Ledger database URL (default: $TUNEOPS_DB, else SQLite"
              " in the state directory).")
@json_option
@command
def submit(file: str | None, job_file: str | None, provider: str | None, model: str | None,
           method: str, epochs: int | None, batch_size: int | None, lr_multiplier: float | None,
           validation_file: str | None, suffix: str | None, labels: tuple[str, ...],
           max_cost: float | None, yes: bool, wait: bool, sandbox: bool, db: str | None,
           as_json: bool) -> None:
    """Validate, estimate, upload and create a fine-tuning job, recorded in the ledger.

    Refuses data with errors (nothing is uploaded), converts from another vendor's format when
    needed, refuses an estimate over --max-cost, asks before spending on a terminal unless
    --yes, reuses an upload of the same content, and never creates the job twice: the job
    carries its ledger id, so a lost answer is found and adopted. With --wait, follows the job
    and prints the model id, billed tokens and cost. Exits 1 if the job failed.

        tuneops submit examples/support_chat.jsonl --provider openai \\
            --model gpt-4o-mini-2024-07-18 --sandbox --wait

    With -f JOB.toml the same fields come from a file (file, provider, model, method, epochs,
    batch_size, lr_multiplier, validation_file, suffix, labels, max_cost, sandbox, wait).
    """
    from click.core import ParameterSource

    from tuneops.errors import UsageError
    from tuneops.orchestrator import SubmitRequest

    if job_file:
        ctx = click.get_current_context()
        given = {name for name in ctx.params
                 if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE}
        values: dict[str, Any] = {"file": file, "provider": provider, "model": model, "method": method,
                  "epochs": epochs, "batch_size": batch_size, "lr_multiplier": lr_multiplier,
                  "validation_file": validation_file, "suffix": suffix, "labels": labels,
                  "max_cost": max_cost, "sandbox": sandbox, "wait": wait}
        for key, value in _job_file(job_file).items():
            if key not in given:
                values[key] = value
        file, provider, model = values["file"], values["provider"], values["model"]
        method, epochs, batch_size = values["method"], values["epochs"], values["batch_size"]
        lr_multiplier, validation_file = values["lr_multiplier"], values["validation_file"]
        suffix, labels, max_cost = values["suffix"], values["labels"], values["max_cost"]
        sandbox, wait = bool(values["sandbox"]), bool(values["wait"])
    missing = [n for n, v in (("FILE", file), ("--provider", provider), ("--model", model)) if not v]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}",
                         hint="give them on the command line or in a job file (-f JOB.toml)")
    assert file and provider and model

    req = SubmitRequest(file=file, provider=provider, model=model, method=method, epochs=epochs,
                        batch_size=batch_size, learning_rate_multiplier=lr_multiplier,
                        validation_file=validation_file, suffix=suffix, labels=_labels(labels),
                        max_cost=max_cost)

    run_submission(req, yes=yes, wait=wait, sandbox=sandbox, db=db, as_json=as_json)


def run_submission(req: Any, *, yes: bool, wait: bool, sandbox: bool, db: str | None,
                   as_json: bool, plan: Any = None) -> None:
    """Submit (or, given a migration `plan`, migrate) with the terminal around it: the
    conversion report and estimate shown, confirmation asked, progress, --wait, the summary."""
    from tuneops.orchestrator import Ledger, Orchestrator

    def confirm(est: Any, quote: Any) -> bool:
        if yes or as_json or not sys.stdin.isatty():
            return True
        cost = ("no price on record" if est is None else
                f"{est.cost_expected:,.2f} {est.price.currency} (up to {est.cost_max:,.2f})")
        if quote is not None:
            cost = f"{quote[0]:,.2f} {quote[1]} by {req.provider}'s own quote (our table: {cost})"
        return click.confirm(f"Submit to {req.provider} ({req.model}), estimated {cost}?",
                             default=False)

    def say(text: str) -> None:
        if not as_json:
            click.echo(text, err=True)

    conversion: list[Any] = []

    def on_conversion(report: Any) -> None:
        conversion.append(report)
        say(report.summary())

    with Orchestrator(Ledger.open(db), sandbox=sandbox) as orch:
        if plan is not None:
            say(plan.summary())
        record = orch.submit(req, confirm=confirm, on_conversion=on_conversion)
        say(f"submitted {record.id}: {record.provider} job {record.vendor_job_id}"
            f"{' (sandbox)' if sandbox else ''}")
        if wait:
            record = orch.wait(record.id, on_update=lambda r: say(f"  {r.raw_status}"))
    if as_json:
        doc = record.to_dict()
        if conversion:
            doc["conversion"] = conversion[0].to_dict()
        if plan is not None:
            doc["migration"] = plan.to_dict()
        emit_json(doc)
    else:
        click.echo(_summary(record))
    if wait and record.status in ("failed", "cancelled"):
        click.get_current_context().exit(EXIT_DATA)

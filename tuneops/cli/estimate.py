"""`tuneops estimate`."""

from __future__ import annotations

import click

from tuneops.cli._common import (
    EXIT_DATA,
    command,
    emit_json,
    json_option,
    method_option,
    progress_bar,
    provider_option,
)

__all__ = ["estimate"]


def _epochs(value: str | None) -> int | str | None:
    if value is None or value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter("use a whole number or 'auto'", param_hint="--epochs") from None


@click.command()
@click.argument("file", type=click.Path())
@provider_option()
@click.option("--model", required=True, metavar="ID", help="Base model to price.")
@method_option
@click.option("--epochs", metavar="N|auto", help="Epochs (default: the vendor's default rule).")
@click.option("--prices", "prices_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Your own price table (TOML); its rows win over the bundled ones.")
@click.option("--tokenizer", type=click.Choice(["auto", "tiktoken"]), default="auto",
              show_default=True, help="Token counting engine for OpenAI models.")
@click.option("--quote", "vendor_quote", is_flag=True,
              help="Also ask the vendor for its own price (Mistral, Together): uploads the file"
              " (once; submit reuses it), creates nothing.")
@click.option("--sandbox", is_flag=True, help="With --quote: ask the offline emulator.")
@click.option("--db", metavar="URL", help="With --quote: the ledger that remembers uploads.")
@json_option
@command
def estimate(file: str, provider: str, model: str, method: str, epochs: str | None,
             prices_file: str | None, tokenizer: str, vendor_quote: bool, sandbox: bool,
             db: str | None, as_json: bool) -> None:
    """Count training tokens and estimate what a job will cost, before spending anything.

    Billed tokens = training tokens of the valid examples x epochs; the cost range comes from
    the dated price table (see `--prices`) and how exact the token count is. Exits 1 when the
    file has validation errors (the estimate is still printed, over the valid examples only).

        tuneops estimate train.jsonl --provider openai --model gpt-4o-mini-2024-07-18

    With --quote, vendors that price a job before it runs (Mistral, Together) are asked too;
    their quote is what `submit --max-cost` checks.
    """
    if vendor_quote:
        _quote(file, provider, model, method, epochs, sandbox, db, as_json)
        return
    from tuneops.datasets.estimate import estimate_file

    with progress_bar(file, "counting tokens") as progress:
        est, report = estimate_file(
            file, provider=provider, model=model, method=method, epochs=_epochs(epochs),
            prices_file=prices_file, tokenizer=tokenizer, progress=progress,
        )
    with report:
        if as_json:
            emit_json({"ok": est.errors == 0, **est.to_dict()})
        else:
            p = est.price
            kind = "exact" if est.tokens_exact else "ESTIMATE"
            click.echo(f"{est.file}: {est.valid_examples:,} valid example(s) of {est.examples:,}"
                       f" for {est.provider} {est.method} on {est.model}")
            click.echo(f"  training tokens   {est.dataset_tokens:>16,}  ({kind}; max"
                       f" {est.max_example_tokens:,} per example)")
            click.echo(f"  epochs            {est.epochs:>16}  ({est.epochs_source})")
            click.echo(f"  billed tokens     {est.billed_tokens:>16,}")
            click.echo(f"  cost              {est.cost_expected:>16,.2f} {p.currency}"
                       f"  (range {est.cost_min:,.2f} - {est.cost_max:,.2f})")
            click.echo(f"  price             {p.price_per_1m_tokens:>16,.4g} {p.currency}/1M tokens"
                       f"  ({p.origin}, as of {p.as_of}: {p.source})")
            if p.note:
                click.echo(f"  note: {p.note}")
            click.echo(f"  tokens: {est.token_method}")
            if est.errors:
                click.echo(f"warning: {est.errors:,} validation error(s): invalid examples are not"
                           f" counted; run `tuneops validate {file} --provider {provider}`",
                           err=True)
        if est.errors:
            click.get_current_context().exit(EXIT_DATA)


def _quote(file: str, provider: str, model: str, method: str, epochs: str | None, sandbox: bool,
           db: str | None, as_json: bool) -> None:
    from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest

    n = _epochs(epochs)
    req = SubmitRequest(file=file, provider=provider, model=model, method=method,
                        epochs=n if isinstance(n, int) else None)
    with Orchestrator(Ledger.open(db), sandbox=sandbox) as orch:
        est, quote, why = orch.quote(req)
    ours = None if est is None else {"cost": est.cost_expected, "currency": est.price.currency,
                                     "billed_tokens": est.billed_tokens}
    theirs = None if quote is None else {"cost": quote[0], "currency": quote[1]}
    if as_json:
        emit_json({"ok": quote is not None, "provider": provider, "model": model,
                   "vendor_quote": theirs, "unavailable_reason": why or None, "estimate": ours})
    else:
        if theirs is not None:
            click.echo(f"{provider} quotes {theirs['cost']:,.2f} {theirs['currency']} for {model}")
        else:
            click.echo(f"{provider} gave no quote: {why}")
        if ours is not None:
            click.echo(f"our estimate: {ours['cost']:,.2f} {ours['currency']}"
                       f" ({ours['billed_tokens']:,} billed tokens)")
        else:
            click.echo("our estimate: no price on record for this model")
    if quote is None:
        click.get_current_context().exit(EXIT_DATA)

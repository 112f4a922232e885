"""`tuneops sandbox`: the offline emulator of vendor fine-tuning APIs."""

from __future__ import annotations

import os
import signal
from types import FrameType

import click

from tuneops.cli._common import command, emit_json, json_option

__all__ = ["sandbox"]


@click.group()
def sandbox() -> None:
    """An offline emulator of vendor fine-tuning APIs: no keys, no spend, reproducible faults.

    It answers the fine-tuning routes of OpenAI (/openai/v1), Mistral (/mistral/v1), Together
    (/together/v1) and Vertex AI with a fake Cloud Storage (/vertex) in each vendor's own shapes,
    checks training files with tuneops' rule packs, and runs jobs on an accelerated clock.
    """


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; only loopback addresses unless --allow-non-loopback.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one (the URL is printed).")
@click.option("--faults", metavar="SPEC",
              help="Faults to inject, e.g. '429=0.1,500=0.05,timeout=0.05,drop=0.05,lost=0.05,"
                   "fail_jobs=0.1,seed=7' (default: $TUNEOPS_SANDBOX_FAULTS, else none).")
@click.option("--speed", default=100.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="How much faster than real time jobs run (100: a small job in ~2 s).")
@click.option("--dir", "store_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="State directory (default: $TUNEOPS_HOME/sandbox, else the user data dir).")
@click.option("--seed", type=int, help="Seed for ids, job seeds and metrics (default: per directory).")
@click.option("--allow-non-loopback", is_flag=True,
              help="Listen on a non-loopback address anyway: anyone who can reach it can use it.")
@click.option("--quiet", "-q", is_flag=True, help="Do not log requests on stderr.")
@json_option
@command
def serve(host: str, port: int, faults: str | None, speed: float, store_dir: str | None,
          seed: int | None, allow_non_loopback: bool, quiet: bool, as_json: bool) -> None:
    """Serve the sandbox over HTTP on loopback until Ctrl-C or SIGTERM.

    It prints, for each vendor, the settings that point both tuneops and the vendor's official
    SDK at it; use them with any non-empty API key:

    \b
        tuneops sandbox serve --port 8765 --speed 1000
        export TOGETHER_BASE_URL=http://127.0.0.1:8765/together TOGETHER_API_KEY=test
        tuneops submit data.jsonl --provider together --model M --wait
        OPENAI_BASE_URL=http://127.0.0.1:8765/openai/v1 OPENAI_API_KEY=sk-test python train.py

    State (files, jobs) lives in the directory and survives restarts. Faults are drawn per
    request: 429 (with Retry-After), 500, 503, timeout, drop (connection closed), lost (the
    request takes effect, the response never comes), plus fail_jobs (jobs that fail vendor-side).
    """
    from tuneops.providers.sandbox.app import Sandbox
    from tuneops.providers.sandbox.faults import FaultConfig
    from tuneops.providers.sandbox.server import SandboxServer

    config = FaultConfig.coerce(faults)
    box = Sandbox(store_dir, faults=config, speed=speed, seed=seed)
    server = SandboxServer(box, host, port, allow_non_loopback=allow_non_loopback,
                           log_requests=not quiet)
    urls = server.api_urls()
    settings = server.client_settings()
    if as_json:
        emit_json({"ok": True, "url": server.url, "apis": urls, "settings": settings,
                   "dir": str(box.store.directory), "speed": speed, "faults": config.to_spec(),
                   "pid": os.getpid()})
    else:
        click.echo(f"tuneops sandbox listening on {server.url}")
        click.echo("  settings for tuneops and the vendors' SDKs (any non-empty API key):")
        for name, items in settings.items():
            for item in items:
                click.echo(f"  {name:<8} export {item['name']}={item['value']}    # {item['for']}")
        click.echo(f"  state    {box.store.directory}")
        click.echo(f"  speed    {speed:g}x   faults: {config.to_spec() or 'none'}")
        click.echo("Ctrl-C stops it.")
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("sandbox stopped", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)

"""The click application: global settings, the commands, and exit codes with hints."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from esploro_async.cli import exits
from esploro_async.cli.apply import apply_changes
from esploro_async.cli.harvest import TARGETS, HarvestRequest, run_harvest
from esploro_async.cli.progress import HarvestProgress
from esploro_async.cli.settings import Settings, SimulationSettings, connect
from esploro_async.errors import APIError, EsploroError

__all__ = ["cli"]

T = TypeVar("T")

EXIT_CODES = """\b
Exit codes:
  0    done
  1    another failure (network, server): see the message
  2    usage: bad arguments or settings (e.g. no API key)
  3    stopped at the daily quota or its reserve: --resume after the reset
  4    the API key was refused (or the base URL is not the gateway)
  130  interrupted (Ctrl-C): --resume to continue
"""


def _console() -> Console:
    return Console(stderr=True, soft_wrap=True)


def _run(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` and turn failures into an exit code with a one-line hint."""
    console = _console()
    try:
        return asyncio.run(main())  # type: ignore[arg-type]
    except (EsploroError, KeyboardInterrupt) as exc:
        code, hint = exits.exit_code_for(exc)
        if not isinstance(exc, KeyboardInterrupt):
            console.print(f"[red]error:[/red] {exc}", highlight=False)
        console.print(f"[yellow]hint:[/yellow] {hint}", highlight=False)
        sys.exit(code)


def _simulation(ctx: click.Context, simulate: bool) -> SimulationSettings | None:
    if not simulate:
        return None
    options = ctx.find_root().params
    return SimulationSettings(
        researchers=options["sim_researchers"],
        assets=options["sim_assets"],
        seed=options["sim_seed"],
        latency=options["sim_latency"],
        daily_quota=options["sim_daily_quota"],
    )


@click.group(epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--api-key", envvar="ESPLORO_API_KEY", help="API key [env ESPLORO_API_KEY].")
@click.option(
    "--region",
    envvar="ESPLORO_REGION",
    type=click.Choice(["na", "eu", "ap", "aps", "ca", "cn"]),
    help="Gateway region [env ESPLORO_REGION; default na].",
)
@click.option("--base-url", envvar="ESPLORO_BASE_URL", help="Gateway URL [env ESPLORO_BASE_URL].")
@click.option(
    "--redis-url", envvar="ESPLORO_REDIS_URL", help="Shared governance [env ESPLORO_REDIS_URL]."
)
@click.option(
    "--institution",
    envvar="ESPLORO_INSTITUTION",
    help="Institution code, with --redis-url [env ESPLORO_INSTITUTION].",
)
@click.option("--daily-reserve", type=int, help="Daily requests never to spend (default 0).")
@click.option("--safety-margin", type=float, help="Rate margin for jitter (default 0.10).")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
)
@click.option("--sim-researchers", type=int, default=5_000, show_default=True, hidden=True)
@click.option("--sim-assets", type=int, default=5_000, show_default=True, hidden=True)
@click.option("--sim-seed", type=int, default=0, hidden=True)
@click.option("--sim-latency", default="0.05:0.3", hidden=True)
@click.option("--sim-daily-quota", type=int, default=1_000_000, hidden=True)
@click.pass_context
def cli(ctx: click.Context, /, log_level: str, **settings: Any) -> None:
    """Harvest and update an Esploro institution within the API's governance thresholds.

    Requests never exceed the gateway's per-second threshold, and stop before the daily
    quota's reserve; harvests and updates resume where they stopped.
    """
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    keys = (
        "api_key",
        "region",
        "base_url",
        "redis_url",
        "institution",
        "daily_reserve",
        "safety_margin",
    )
    ctx.obj = {key: settings[key] for key in keys}


def _settings(ctx: click.Context, simulate: bool) -> Settings:
    return Settings.from_env(**ctx.obj, simulate=_simulation(ctx, simulate))


@cli.command()
@click.argument("resource", type=click.Choice(sorted(TARGETS)))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--resume", is_flag=True, help="Continue the harvest that wrote --out.")
@click.option("--overwrite", is_flag=True, help="Start again even if --out exists.")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="State file (default: .<out>.checkpoint beside the output).",
)
@click.option(
    "--until-reserve",
    is_flag=True,
    help="Harvest until the daily reserve and stop (exit 3) instead of refusing to start.",
)
@click.option("--update-date-from", help="assets: changed since YYYY-MM-DD.")
@click.option("--doi", help="assets: DOIs, comma-separated.")
@click.option("--set-id", help="set-members: the set.")
@click.option("--path", "report_path", help="analytics: the report's catalog path.")
@click.option("--param", multiple=True, help="Extra query parameter KEY=VALUE (repeatable).")
@click.option("--page-size", type=click.IntRange(1, 100))
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def harvest(
    ctx: click.Context,
    resource: str,
    out: Path,
    fmt: str,
    resume: bool,
    overwrite: bool,
    checkpoint: Path | None,
    until_reserve: bool,
    update_date_from: str | None,
    doi: str | None,
    set_id: str | None,
    report_path: str | None,
    param: tuple[str, ...],
    page_size: int | None,
    simulate: bool,
    quiet: bool,
) -> None:
    """Harvest RESOURCE to a JSON Lines (or CSV) file, with progress, resumably.

    \b
    esploro-async harvest researchers --out researchers.jsonl
    esploro-async harvest assets --update-date-from 1900-01-01 --out assets.jsonl
    esploro-async harvest researchers --simulate --out demo.jsonl   # no key needed
    """
    filters: dict[str, str] = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--param")
        filters[key] = value
    named = {
        "update_date_from": update_date_from,
        "doi": doi,
        "set_id": set_id,
        "path": report_path,
    }
    filters.update({k: v for k, v in named.items() if v})
    request = HarvestRequest(
        target=resource,
        filters=filters,
        out=out,
        format="csv" if fmt == "csv" else "jsonl",
        state=checkpoint,
        resume=resume,
        overwrite=overwrite,
        until_reserve=until_reserve,
        page_size=page_size,
    )
    settings = _settings(ctx, simulate)
    console = _console()

    async def main() -> None:
        async with connect(settings) as connection:
            with HarvestProgress(console, quiet=quiet) as progress:
                progress.note(f"harvesting {resource} from {connection.where}")
                summary = await run_harvest(connection.client, request, progress)
            snapshot = connection.client.governance.snapshot()
        if not quiet:
            console.print(
                f"[green]done:[/green] {summary.records} records in {out} "
                f"({snapshot.requests} requests, {snapshot.throttled} throttled, "
                f"quota left {snapshot.quota_remaining})",
                highlight=False,
            )

    _run(main)


@cli.command()
@click.argument("changes", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Result lines (default: <changes>.results.jsonl; dry runs print to stdout).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; send no write.")
@click.option("--resume", is_flag=True, help="Skip lines that already have a result.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.pass_context
def apply(
    ctx: click.Context,
    changes: Path,
    results: Path | None,
    dry_run: bool,
    resume: bool,
    concurrency: int,
    simulate: bool,
) -> None:
    """Apply a JSON Lines file of CHANGES; one result line per input line.

    \b
    {"type": "researcher", "id": "jdoe", "set": {"/researcher/display_title": "Dr"}}
    {"type": "asset", "id": "991234", "action": "replace", "fields": {"date.published": "2024"}}
    """
    settings = _settings(ctx, simulate)
    console = _console()
    if results is None:
        results = (
            Path("/dev/stdout") if dry_run else changes.with_name(changes.name + ".results.jsonl")
        )

    async def main() -> dict[str, int]:
        counts: dict[str, int] = {}
        async with connect(settings) as connection:
            async for result in apply_changes(
                connection.client,
                changes,
                results,
                dry_run=dry_run,
                resume=resume,
                concurrency=concurrency,
            ):
                counts[result["status"]] = counts.get(result["status"], 0) + 1
        return counts

    counts = _run(main)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"
    console.print(f"[green]done:[/green] {summary}; results in {results}", highlight=False)
    if counts.get("error") or counts.get("invalid") or counts.get("unknown"):
        sys.exit(exits.OTHER)


@cli.command()
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.pass_context
def quota(ctx: click.Context, simulate: bool) -> None:
    """Print the daily quota left and when it resets (one cheap test call)."""
    settings = _settings(ctx, simulate)

    async def main() -> tuple[int | None, datetime]:
        async with connect(settings) as connection:
            client = connection.client
            try:
                await client.request("GET", "researchers/test")
            except APIError as exc:  # the header comes with errors too
                if exc.quota_remaining is None:
                    raise
            snapshot = client.governance.snapshot()
            return snapshot.quota_remaining, snapshot.quota_resets_at

    remaining, resets_at = _run(main)
    left = "unknown (no X-Exl-Api-Remaining header)" if remaining is None else f"{remaining:,}"
    wait = resets_at - datetime.now(timezone.utc)
    hours, rest = divmod(max(0, int(wait.total_seconds())), 3600)
    click.echo(f"daily quota left: {left}")
    click.echo(f"resets at: {resets_at.isoformat()} (in {hours} h {rest // 60} min)")


@cli.group()
def simulate() -> None:
    """The simulated gateway."""


@simulate.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Serve a simulated institution on loopback (see `serve --help`)."""
    from esploro_async.testing.__main__ import main as simulator

    sys.exit(simulator(["serve", *args]))


from esploro_async.cli.jobs import job  # noqa: E402  (registered after the group exists)

cli.add_command(job)

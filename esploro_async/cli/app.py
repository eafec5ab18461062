"""The click application: global settings, the commands, and exit codes with hints.

No command shows a traceback: every failure ends in one ``error:`` line (text from the
server printed literally) and one ``hint:`` line, with the exit code listed in
``EXIT_CODES``. Settings and files are checked before the first request.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import click
from rich.console import Console

from esploro_async._version import __version__
from esploro_async.cli import exits
from esploro_async.cli.apply import ApplyPlan, apply_changes, prepare_apply, result_kind
from esploro_async.cli.common import (
    check_latency,
    guard,
    make_console,
    printable,
    run_main,
    say,
    settings_for,
    thousands,
)
from esploro_async.cli.harvest import TARGETS, HarvestRequest, prepare_harvest, run_harvest
from esploro_async.cli.progress import HarvestProgress
from esploro_async.cli.settings import connect
from esploro_async.errors import APIError, AuthenticationError

__all__ = ["cli", "printable", "run"]

EXIT_CODES = """\b
Exit codes:
  0    done
  1    another failure (network, server): see the message
  2    usage: bad arguments, settings or files (e.g. no API key)
  3    stopped at the daily quota or its reserve: --resume after the reset
  4    the API key was refused (or the base URL is not the gateway)
  130  interrupted (Ctrl-C): --resume to continue
"""


def _margin(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> float | Literal["auto"] | None:
    if value is None:
        return None
    if value == "auto":
        return "auto"
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number >= 0):
        raise click.BadParameter(f'must be a number >= 0 (e.g. 0.10) or "auto", not {value}')
    return number


def _latency(ctx: click.Context, param: click.Parameter, value: str) -> str:
    return check_latency(value, ctx=ctx, param_hint=f"--{(param.name or '').replace('_', '-')}")


def _iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, not {value!r}") from None


@click.group(epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="esploro-async")
@click.option(
    "--api-key",
    envvar="ESPLORO_API_KEY",
    help="API key [env ESPLORO_API_KEY]. On the command line every user sees it (ps): "
    "prefer the environment or --api-key-file.",
)
@click.option(
    "--api-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="ESPLORO_API_KEY_FILE",
    help="Read the API key from this file (its first line) [env ESPLORO_API_KEY_FILE].",
)
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
@click.option(
    "--daily-reserve",
    type=click.IntRange(min=0),
    help="Daily requests never to spend (default 0).",
)
@click.option(
    "--safety-margin",
    callback=_margin,
    help='Rate margin for network jitter: "auto" (default; starts at 0.10 and follows the '
    "order in which the gateway counts requests) or a fixed number >= 0, e.g. 0.10.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    help="Log to stderr from this level (debug: every request).",
)
@click.option("--sim-researchers", type=click.IntRange(min=0), default=5_000, hidden=True)
@click.option("--sim-assets", type=click.IntRange(min=0), default=5_000, hidden=True)
@click.option("--sim-seed", type=int, default=0, hidden=True)
@click.option("--sim-latency", default="0.05:0.3", hidden=True)  # checked with --simulate
@click.option("--sim-daily-quota", type=click.IntRange(min=0), default=1_000_000, hidden=True)
@click.option("--sim-fault", multiple=True, hidden=True)
@click.pass_context
def cli(ctx: click.Context, /, log_level: str, **settings: Any) -> None:
    """Harvest and update an Esploro institution within the API's governance thresholds.

    Requests never exceed the gateway's per-second threshold, and stop before the daily
    quota's reserve; harvests and updates resume where they stopped.
    """
    # The level applies to this package's loggers only: asyncio's and httpcore's debug
    # output (every socket event) is not what "debug: every request" means.
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    package_logger = logging.getLogger("esploro_async")
    ctx.call_on_close(functools.partial(package_logger.setLevel, package_logger.level))
    package_logger.setLevel(getattr(logging, log_level.upper()))  # for this command only
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
    ctx.obj["api_key"] = _api_key(ctx, settings["api_key"], settings["api_key_file"])


def _api_key(ctx: click.Context, given: str | None, key_file: Path | None) -> str | None:
    """The key from --api-key (with a warning if typed on the command line) or --api-key-file."""
    source = ctx.get_parameter_source("api_key")
    if key_file is not None:
        if given is not None and source is click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("--api-key and --api-key-file exclude each other")
        try:
            lines = key_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(
                f"cannot read {key_file}: {exc}", param_hint="--api-key-file"
            ) from None
        key = lines[0].strip() if lines else ""
        if not key:
            raise click.BadParameter(f"{key_file} is empty", param_hint="--api-key-file")
        return key
    if given is not None and source is click.core.ParameterSource.COMMANDLINE:
        say(
            make_console(),
            "warning:",
            "yellow",
            "--api-key on the command line is visible to every user of this machine (ps, "
            "shell history): set ESPLORO_API_KEY or use --api-key-file instead",
        )
    return given


def _filters(param: tuple[str, ...], named: dict[str, str | None]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--param")
        filters[key] = value
    filters.update({k: v for k, v in named.items() if v})
    return filters


@cli.command()
@click.argument("resource", type=click.Choice(sorted(TARGETS)))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    required=True,
    help="The output file (created readable by you only), or - for standard output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (records as received) or CSV.",
)
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
@click.option("--update-date-from", callback=_iso_date, help="assets: changed since YYYY-MM-DD.")
@click.option("--doi", help="assets: DOIs, comma-separated.")
@click.option("--set-id", help="set-members: the set.")
@click.option("--path", "report_path", help="analytics: the report's catalog path.")
@click.option("--param", multiple=True, help="Extra query parameter KEY=VALUE (repeatable).")
@click.option("--page-size", type=click.IntRange(1, 100), help="Records per request (1-100).")
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (the done: line stays).")
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
    esploro-async harvest researchers --simulate --out - | jq .primary_id
    """
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite exclude each other")
    named = {"update_date_from": update_date_from, "doi": doi, "set_id": set_id}
    filters = _filters(param, {**named, "path": report_path})
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
    console = make_console()
    with guard(console):
        settings = settings_for(ctx, simulate)
        state = prepare_harvest(request)

    async def main() -> None:
        async with connect(settings) as connection:
            with HarvestProgress(console, quiet=quiet) as progress:
                progress.note(f"harvesting {resource} from {connection.where}")
                summary = await run_harvest(
                    connection.client, request, progress, state=state, prepared=True
                )
            snapshot = connection.client.governance.snapshot()
        where = "written to standard output" if request.to_stdout else f"in {out}"
        say(
            console,
            "done:",
            "green",
            f"{summary.records} records {where} "
            f"({snapshot.requests} requests, {snapshot.throttled} throttled, "
            f"quota left {thousands(snapshot.quota_remaining)})",
        )

    run_main(console, main)


@cli.command()
@click.argument("changes", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--results",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Result lines (default: <changes>.results.jsonl; dry runs: stdout, or -).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; send no write.")
@click.option(
    "--resume",
    is_flag=True,
    help="Skip lines that have a result, except failures worth retrying (sent again).",
)
@click.option(
    "--retry-failed", is_flag=True, help="Like --resume, and send every failed line again."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Changes in flight at once.",
)
@click.option(
    "--allow-new-fields",
    is_flag=True,
    help="Let researcher changes add fields the record lacks (else such a line is refused).",
)
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.pass_context
def apply(
    ctx: click.Context,
    changes: Path,
    results: Path | None,
    dry_run: bool,
    resume: bool,
    retry_failed: bool,
    concurrency: int,
    allow_new_fields: bool,
    simulate: bool,
) -> None:
    """Apply a JSON Lines file of CHANGES; one result line per input line.

    A pointer to a field the record lacks is refused for its line unless
    --allow-new-fields; a key that may not write stops the run (exit 4).

    \b
    {"type": "researcher", "id": "jdoe", "set": {"/researcher/display_title": "Dr"}}
    {"type": "asset", "id": "991234", "action": "replace", "fields": {"date.published": "2024"}}
    """
    console = make_console()
    with guard(console):
        settings = settings_for(ctx, simulate)
        plan = prepare_apply(
            changes,
            results,
            dry_run=dry_run,
            resume=resume or retry_failed,
            retry_failed=retry_failed,
        )

    async def main() -> dict[str, int]:
        counts = dict(plan.earlier)  # the summary is of the whole results file
        async with connect(settings) as connection:
            async for result in apply_changes(
                connection.client,
                changes,
                plan=plan,
                concurrency=concurrency,
                allow_new_fields=allow_new_fields,
            ):
                status = result_kind(result)
                counts[status] = counts.get(status, 0) + 1
        return counts

    counts = run_main(console, main)
    _apply_summary(console, plan, counts)


def _apply_summary(console: Console, plan: ApplyPlan, counts: dict[str, int]) -> None:
    where = "stdout" if plan.results is None else str(plan.results)
    words = {"retryable": "failed (retryable)", "error": "failed"}
    summary = ", ".join(f"{n} {words.get(s, s)}" for s, n in sorted(counts.items()))
    say(console, "done:", "green", f"{summary or 'nothing to do'}; results in {where}")
    hints = []
    if counts.get("retryable"):
        hints.append("run the same command with --resume to send the retryable failures again")
    if counts.get("error"):
        hints.append("see each failed line's error; once fixed, --retry-failed sends them again")
    if counts.get("invalid") or counts.get("unknown"):
        hints.append("invalid and unknown lines need a look: fix them in a new CHANGES file")
    for hint in hints:
        say(console, "hint:", "yellow", hint)
    if hints:
        sys.exit(exits.OTHER)


@cli.command()
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.pass_context
def quota(ctx: click.Context, simulate: bool) -> None:
    """Print the daily quota left and when it resets (one cheap test call)."""
    console = make_console()
    with guard(console):
        settings = settings_for(ctx, simulate)

    async def main() -> tuple[int | None, datetime]:
        async with connect(settings) as connection:
            client = connection.client
            try:
                await client.request("GET", "researchers/test")
            except AuthenticationError:
                raise
            except APIError as exc:  # the header comes with errors too
                if exc.quota_remaining is None:
                    raise
            snapshot = client.governance.snapshot()
            return snapshot.quota_remaining, snapshot.quota_resets_at

    remaining, resets_at = run_main(console, main)
    left = "unknown (no X-Exl-Api-Remaining header)" if remaining is None else f"{remaining:,}"
    wait = resets_at - datetime.now(timezone.utc)
    hours, rest = divmod(max(0, int(wait.total_seconds())), 3600)
    click.echo(f"daily quota left: {left}")
    click.echo(f"resets at: {resets_at.isoformat()} (in {hours} h {rest // 60} min)")


@cli.group()
def simulate() -> None:
    """The simulated gateway: an Esploro institution on loopback, for tests and demos."""


@simulate.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to bind (0: any free port).",
)
@click.option(
    "--allow-non-loopback",
    is_flag=True,
    help="Allow binding a non-loopback address (exposes the simulator).",
)
@click.option(
    "--researchers",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Synthetic researchers.",
)
@click.option(
    "--assets",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    help="Synthetic research assets.",
)
@click.option(
    "--latency",
    default="0",
    show_default=True,
    callback=_latency,
    help='Seconds per request and response: "0.3", "0.2:0.8" (uniform) or "ln:MEDIAN:SIGMA". '
    "Each sample is split by --before-arrival: the first part passes before the request "
    "arrives and is counted against --rate-limit, the rest before its response is sent.",
)
@click.option(
    "--before-arrival",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    metavar="FRACTION",
    help="Part of each latency that passes before the request reaches the gateway and is "
    "counted; the rest passes after. Its spread is the jitter a client's safety margin must "
    "cover: 0.5 of --latency 0.2:0.8 is 0.1-0.4 s (a 0.3 s spread, beyond the default "
    "margin of 0.10); 0.02, mostly API work after arrival, is 4-16 ms.",
)
@click.option(
    "--remaining-header",
    type=click.Choice(["arrival", "departure", "none"]),
    default="arrival",
    show_default=True,
    help="When X-Exl-Api-Remaining is written: as the request is counted (arrival), as its "
    "response leaves (departure), or not at all (none). The documentation does not say.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    default=25,
    show_default=True,
    help="Requests allowed in any window (the gateway's PER_SECOND_THRESHOLD).",
)
@click.option(
    "--window",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="The sliding window of --rate-limit, in seconds.",
)
@click.option(
    "--count-rejected", is_flag=True, help="Count rejected (429) requests in the window too."
)
@click.option(
    "--daily-quota",
    type=click.IntRange(min=0),
    default=1_000_000,
    show_default=True,
    help="Requests per day (X-Exl-Api-Remaining).",
)
@click.option(
    "--foreign-rate",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Requests per second another integration spends of the same budget.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the institution, latency and faults.",
)
def serve(**options: Any) -> None:
    """Serve a simulated institution on loopback until Ctrl-C.

    Prints the URL and the API keys to use (one read/write, one read-only):

    \b
    esploro-async simulate serve --port 8080 --researchers 50000
    ESPLORO_API_KEY=<key> esploro-async --base-url http://127.0.0.1:8080 quota
    """
    from esploro_async.testing.__main__ import main as simulator

    argv = ["serve"]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            argv += [flag] if value else []
        else:
            argv += [flag, str(value)]
    sys.exit(simulator(argv))


from esploro_async.cli.status import status  # noqa: E402  (its own module, registered here)

cli.add_command(status)


def run(args: list[str] | None = None) -> int:
    """Run the command line; return its exit code. Usage errors end with a ``hint:`` too."""
    try:
        result = cli.main(args, prog_name="esploro-async", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        command = exc.ctx.command_path if exc.ctx is not None else "esploro-async"
        say(make_console(), "hint:", "yellow", f"{command} --help lists the options")
        return exits.USAGE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        say(make_console(), "hint:", "yellow", exits.exit_code_for(KeyboardInterrupt())[1])
        return exits.INTERRUPTED
    return result if isinstance(result, int) else exits.OK


from esploro_async.cli.jobs import job  # noqa: E402  (registered after the group exists)

cli.add_command(job)

from esploro_async.cli.mirror import export, sync  # noqa: E402  (registered after the group exists)

cli.add_command(sync)
cli.add_command(export)

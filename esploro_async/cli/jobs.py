"""``esploro-async job run``: run a configuration job, optionally waiting with progress.

\b
esploro-async job run M50173 --param set_id=9563654780000561 --wait
esploro-async job run M50762 --param set_id=9500000020004321 --wait --simulate
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from esploro_async.cli.common import make_console, run_main, say, settings_for
from esploro_async.cli.settings import connect
from esploro_async.models import Job, JobInstance

__all__ = ["job"]


def _parameters(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        out[key] = value
    return out


def _status(instance: JobInstance) -> str:
    status = instance.status
    if status is None:
        return "?"
    return status.desc or status.value or "?"


class JobProgress:
    """A progress bar fed with each polled job instance (or nothing when ``quiet``)."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
        )
        self._task = self._progress.add_task("submitted", total=100)

    def __enter__(self) -> JobProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, instance: JobInstance) -> None:
        """Show ``instance``'s status and progress."""
        self._progress.update(
            self._task, description=_status(instance), completed=instance.progress or 0
        )


def _summary(run: Job, done: JobInstance | None) -> dict[str, Any]:
    if done is None:
        return {"job": run.id, "instance": run.instance_id, "info": run.additional_info}
    status = done.status
    return {
        "job": run.id,
        "instance": done.id or run.instance_id,
        "status": status.value if status else None,
        "counters": done.counter_values,
    }


@click.group()
def job() -> None:
    """Configuration jobs (Alma /conf/jobs): run one and follow it."""


@job.command("run")
@click.argument("job_id")
@click.option("--param", multiple=True, help="Job parameter NAME=VALUE (repeatable).")
@click.option("--wait", is_flag=True, help="Poll the instance until it ends, with progress.")
@click.option("--poll-interval", type=click.FloatRange(0.1), default=2.0, show_default=True)
@click.option(
    "--deadline",
    type=click.FloatRange(1),
    default=6 * 3600.0,
    show_default=True,
    help="Seconds after which --wait gives up (the job is not cancelled).",
)
@click.option(
    "--manual-handling-timeout",
    type=click.FloatRange(0),
    default=600.0,
    show_default=True,
    help="Seconds a MANUAL_HANDLING_REQUIRED instance is waited for before giving up.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def run(
    ctx: click.Context,
    job_id: str,
    param: tuple[str, ...],
    wait: bool,
    poll_interval: float,
    deadline: float,
    manual_handling_timeout: float,
    as_json: bool,
    simulate: bool,
    quiet: bool,
) -> None:
    """Run JOB_ID now with --param values; with --wait, follow it to the end.

    Exits 1 when the job ends failed or aborted, needs manual handling in Alma
    (MANUAL_HANDLING_REQUIRED) for longer than --manual-handling-timeout, or is still
    running at --deadline.
    """
    parameters = _parameters(param)
    settings = settings_for(ctx, simulate)
    console = make_console()

    async def main() -> dict[str, Any]:
        async with connect(settings) as connection:
            jobs = connection.client.config.jobs
            started = await jobs.run(job_id, parameters)
            if not quiet:
                say(
                    console,
                    "started",
                    "green",
                    f"job {started.id or job_id} instance {started.instance_id}",
                )
            if not wait:
                return _summary(started, None)
            with JobProgress(console, quiet=quiet) as progress:
                done = await jobs.wait_for(
                    started,
                    poll_interval=poll_interval,
                    deadline=deadline,
                    manual_handling_timeout=manual_handling_timeout,
                    on_progress=progress,
                )
            return _summary(started, done)

    result = run_main(console, main)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    if "status" not in result:
        click.echo(f"instance {result['instance']}")
        return
    click.echo(f"instance {result['instance']}: {result['status']}")
    for name, value in result["counters"].items():
        click.echo(f"  {name}: {value}")
    sys.stdout.flush()

"""``esploro-async sync`` and ``esploro-async export``: a local mirror of the institution.

\b
esploro-async sync assets --db mirror.sqlite                 # nightly: what changed
esploro-async sync assets --db mirror.sqlite --reconcile     # weekly: and what was deleted
esploro-async sync researchers --db postgresql://localhost/mirror --refresh-days 30
esploro-async export --db mirror.sqlite --type assets --format parquet --out assets.parquet
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from esploro_async.cli import exits
from esploro_async.cli.common import settings_for
from esploro_async.cli.settings import Settings, connect
from esploro_async.errors import DailyQuotaExhaustedError, EsploroError, InsufficientQuotaError
from esploro_async.mirror import KINDS, Mirror, MirrorStore, SQLiteStore, StoreError
from esploro_async.mirror.export import ExportFormat, export_records
from esploro_async.mirror.progress import SyncCounts, SyncPlan
from esploro_async.session.config import key_fingerprint

__all__ = ["export", "open_store", "sync"]

T = TypeVar("T")


def open_store(db: str) -> MirrorStore:
    """A SQLite file, or PostgreSQL for a ``postgresql://`` URL."""
    if db.startswith(("postgresql://", "postgres://")):
        from esploro_async.mirror.postgres import PostgresStore

        return PostgresStore(db)
    return SQLiteStore(Path(db))


def _say(console: Console, label: str, style: str, message: object) -> None:
    console.print(Text.assemble((label, style), " ", str(message)))


def _fail(console: Console, error: BaseException) -> NoReturn:
    if isinstance(error, InsufficientQuotaError):
        code, hint = (
            exits.QUOTA,
            (
                "add --until-reserve to sync until the reserve (the next run continues), or "
                "lower --daily-reserve"
            ),
        )
    elif isinstance(error, DailyQuotaExhaustedError):
        when = error.resets_at.strftime("%Y-%m-%d %H:%M %Z")
        code, hint = (
            exits.QUOTA,
            (
                f"the daily quota resets at {when}: run the same sync then, it continues exactly "
                "where it stopped"
            ),
        )
    elif isinstance(error, StoreError):
        code, hint = exits.USAGE, "the store was left as it was; see the message"
    else:
        code, hint = exits.exit_code_for(error)
        if code == exits.INTERRUPTED or hint.endswith("--resume"):
            hint = "run the same sync again: it continues where it stopped"
    if not isinstance(error, KeyboardInterrupt):
        _say(console, "error:", "red", error)
    _say(console, "hint:", "yellow", hint)
    sys.exit(code)


def _run(console: Console, main: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(main())  # type: ignore[arg-type]
    except (EsploroError, OSError, KeyboardInterrupt) as exc:
        _fail(console, exc)


class SyncBar:
    """A progress bar with the counts of a sync (or nothing, with ``quiet``)."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
        )
        self.task = self.progress.add_task("sync", total=None, counts="")

    def planned(self, plan: SyncPlan) -> None:
        """Show the plan above the bar."""
        if not self.quiet:
            self.console.print(plan.describe(), highlight=False, markup=False)
        self.progress.update(self.task, description=plan.kind, total=plan.records + plan.refresh)

    def advanced(self, counts: SyncCounts, done: int, total: int) -> None:
        """Move the bar."""
        quota = "?" if counts.quota_left is None else f"{counts.quota_left:,}"
        text = (
            f"new {counts.new:,} changed {counts.changed:,} unchanged {counts.unchanged:,} "
            f"deleted {counts.deleted:,} | {counts.requests:,} req, quota {quota}"
        )
        self.progress.update(self.task, completed=done, total=total, counts=text)


def _institution(settings: Settings, base_url: str) -> str:
    """What ties a store to the institution: its code, else the gateway and the key."""
    if settings.institution:
        return settings.institution
    if settings.simulate is not None:
        return f"simulated institution (seed {settings.simulate.seed})"
    return f"{base_url} key sha256:{key_fingerprint(settings.api_key or '')}"


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--db", required=True, help="SQLite file, or a postgresql:// URL.")
@click.option("--reconcile", is_flag=True, help="List every id and tombstone what is gone.")
@click.option(
    "--refresh-days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="researchers: fetch every full record again at least this often.",
)
@click.option(
    "--overlap-days",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="assets: list from this many days before the last run's start date.",
)
@click.option(
    "--until-reserve",
    is_flag=True,
    help="Sync until the daily reserve and stop (exit 3) instead of refusing to start.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be fetched and its cost, only.")
@click.option("--simulate", is_flag=True, help="Use a built-in simulated institution.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def sync(
    ctx: click.Context,
    kind: str,
    db: str,
    reconcile: bool,
    refresh_days: int,
    overlap_days: int,
    until_reserve: bool,
    dry_run: bool,
    simulate: bool,
    quiet: bool,
) -> None:
    """Bring the local mirror of KIND up to date, at the cost of what changed.

    Each page is committed with the sync's position: a sync stopped anywhere (Ctrl-C, a
    crash, the daily quota: exit 3) continues where it stopped when run again. Two syncs of
    one store never run at once.

    \b
    esploro-async sync assets --db mirror.sqlite
    esploro-async sync assets --db mirror.sqlite --reconcile
    esploro-async sync researchers --db mirror.sqlite --refresh-days 30
    """
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    try:
        settings = settings_for(ctx, simulate)
    except EsploroError as exc:
        _fail(console, exc)
    bar = SyncBar(console, quiet=quiet)

    async def main() -> Any:
        async with connect(settings) as connection:
            client = connection.client
            mirror = Mirror(
                client,
                open_store(db),
                institution=_institution(settings, client.base_url),
                refresh_days=refresh_days,
                overlap_days=overlap_days,
                until_reserve=until_reserve,
                observer=bar,
                read_only=dry_run,
            )
            async with mirror:
                if dry_run:
                    return await mirror.plan(kind, reconcile=reconcile)
                with bar.progress:
                    return await mirror.sync(kind, reconcile=reconcile)

    summary = _run(console, main)
    _say(console, "done:", "green", summary.describe())


@click.command()
@click.option("--db", required=True, help="SQLite file, or a postgresql:// URL.")
@click.option("--type", "kind", type=click.Choice(KINDS), required=True, help="What to export.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (the records as stored), CSV or Parquet (the arrow extra).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The output file (written whole, readable by you only).",
)
def export(db: str, kind: str, fmt: ExportFormat, out: Path) -> None:
    """Export the mirror's live records of one kind to a file.

    \b
    esploro-async export --db mirror.sqlite --type assets --format jsonl --out assets.jsonl
    esploro-async export --db mirror.sqlite --type assets --format parquet --out assets.parquet
    """
    console = Console(stderr=True, soft_wrap=True, highlight=False)

    async def main() -> int:
        store = open_store(db)
        await store.open(None, read_only=True)
        try:
            return await export_records(store, kind, fmt, out)
        finally:
            await store.close()

    count = _run(console, main)
    _say(console, "done:", "green", f"{count:,} {kind} written to {out}")

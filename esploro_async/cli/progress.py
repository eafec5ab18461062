"""Progress on stderr: records, requests per second, the daily quota and the time left."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from esploro_async.governance import GovernanceSnapshot

__all__ = ["HarvestProgress"]


class HarvestProgress:
    """A rich progress bar (or nothing, with ``quiet``) fed with governance snapshots."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        # at most 78 columns with 200,000 records and 14-character descriptions
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}", markup=True),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} req/s"),
            TextColumn("quota {task.fields[quota]}"),
            TimeRemainingColumn(compact=True, elapsed_when_finished=True),
            console=console,
            disable=quiet,
        )
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self._first_requests: int | None = None

    def __enter__(self) -> HarvestProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, what: str, *, total: int | None, done: int) -> None:
        """Show a bar for ``what`` (``total`` None: unknown)."""
        self._started = time.monotonic()
        self._task = self._progress.add_task(what, total=total, completed=done, rate="-", quota="-")

    def advance(self, done: int, snapshot: GovernanceSnapshot) -> None:
        """``done`` records so far; the snapshot gives the rate and the quota."""
        if self._task is None:
            return
        if self._first_requests is None:
            self._first_requests = snapshot.requests
        elapsed = max(1e-9, time.monotonic() - self._started)
        rate = (snapshot.requests - self._first_requests) / elapsed
        quota = "?" if snapshot.quota_remaining is None else f"{snapshot.quota_remaining:,}"
        self._progress.update(self._task, completed=done, rate=f"{rate:.1f}", quota=quota)

    def note(self, message: str) -> None:
        """A line above the bar."""
        if not self.quiet:
            self.console.print(message, highlight=False, markup=False)

"""`Mirror`: keep a store up to date with an institution, at the cost of what changed.

```python
async with EsploroClient(region="eu") as client:
    async with Mirror(client, SQLiteStore("mirror.sqlite")) as mirror:
        summary = await mirror.sync("assets")
        print(summary.describe())
```

How each kind is kept (see the guide "Keeping a mirror"):

- **assets**: the assets updated since the date of the last run's start, by the gateway's
  clock (``update_date_from``, a date, so the window overlaps); unchanged records are
  recognised by their hash and not rewritten. ``reconcile=True`` lists every asset and
  tombstones those the listing no longer has.
- **researchers**: the brief list every run; full records only for new ids and changed brief
  content; and a rotation that fetches the full records of the rest, the longest-unrefreshed
  first, so that each is refreshed at least once every ``refresh_days``. Ids no longer listed
  are tombstoned.
- **organizations**: the whole list every run (it is small); ids no longer listed are
  tombstoned.

Every page is committed with the run's position in one transaction: a run stopped anywhere
(crash, ``kill -9``, the daily quota) continues exactly where it stopped on the next call.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from esploro_async.errors import ConfigurationError
from esploro_async.mirror._researchers import ResearchersRun
from esploro_async.mirror._runs import AssetsRun, OrganizationsRun, Run, RunOptions
from esploro_async.mirror.progress import SyncObserver, SyncSummary
from esploro_async.mirror.store import KINDS, MirrorStore

if TYPE_CHECKING:
    from esploro_async.client import EsploroClient

__all__ = ["Mirror"]

_RUNS: dict[str, type[Run]] = {
    "assets": AssetsRun,
    "organizations": OrganizationsRun,
    "researchers": ResearchersRun,
}


class Mirror:
    """A local mirror of one institution in ``store``, brought up to date by `sync`.

    Args:
        client: the client to fetch with (its governance applies: rate, quota, reserve).
        store: where the records are kept (`SQLiteStore`, `PostgresStore`, …).
        institution: what ties the store to one institution: a store of another is refused.
            Default: the client's ``institution``, else its gateway URL.
        refresh_days: researchers: every full record is fetched again at least this often.
        overlap_days: assets: list from this many days before the last run's start date
            (0 by default: the date itself; 1 if the institution's day starts before GMT's).
        until_reserve: run until the daily reserve and stop there (the next run continues)
            instead of refusing a run that cannot finish above it.
        observer: told the plan and the counts after every page (e.g. a progress bar).
        prefetch: pages in flight or waiting to be written at most (the listing's
            ``prefetch``; default 16). It bounds memory when the store writes more slowly
            than the pages arrive (a 100,000-record sync grew 112 MB with the stream's
            default of 64 waiting pages, 36 MB with 16); ``None``: the stream's default.
        read_only: open the store for `plan` only (a dry run): nothing is locked or written.
    """

    def __init__(
        self,
        client: EsploroClient,
        store: MirrorStore,
        *,
        institution: str | None = None,
        refresh_days: int = 30,
        overlap_days: int = 0,
        until_reserve: bool = False,
        observer: SyncObserver | None = None,
        read_only: bool = False,
        prefetch: int | None = 16,
    ) -> None:
        if refresh_days < 1:
            raise ConfigurationError("refresh_days must be at least 1")
        if overlap_days < 0:
            raise ConfigurationError("overlap_days must be 0 or more")
        self.client = client
        self.store = store
        self.institution = institution or client.institution or client.base_url
        self.refresh_days = refresh_days
        self.overlap_days = overlap_days
        self.until_reserve = until_reserve
        self.observer = observer
        self.read_only = read_only
        self.prefetch = prefetch
        self._open = False

    async def __aenter__(self) -> Mirror:
        await self.store.open(self.institution, read_only=self.read_only)
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the store (and release its lock)."""
        if self._open:
            self._open = False
            await self.store.close()

    def _run(self, kind: str) -> Run:
        if kind not in KINDS:
            raise ConfigurationError(f"cannot mirror {kind!r}: choose one of {', '.join(KINDS)}")
        if not self._open:
            raise RuntimeError("use the mirror inside 'async with Mirror(...)'")
        options = RunOptions(
            refresh_days=self.refresh_days,
            overlap_days=self.overlap_days,
            until_reserve=self.until_reserve,
            prefetch=self.prefetch,
        )
        return _RUNS[kind](self.client, self.store, options, self.observer)

    async def sync(self, kind: str, *, reconcile: bool = False) -> SyncSummary:
        """Bring ``kind`` up to date (continuing an unfinished run first); see the module.

        Raises:
            InsufficientQuotaError: the run cannot finish above the reserve (nothing fetched
                beyond the estimate), unless ``until_reserve``.
            DailyQuotaExhaustedError: stopped at the reserve; the next call continues.
            StoreError: the store cannot be used; it is as it was.
        """
        if self.read_only:
            raise ConfigurationError("this mirror was opened read-only (a dry run): use plan()")
        return await self._run(kind).sync(reconcile=reconcile)

    async def plan(self, kind: str, *, reconcile: bool = False) -> SyncSummary:
        """What `sync` would fetch and what it would cost (one request); nothing is written."""
        return await self._run(kind).dry_run(reconcile=reconcile)

    async def state(self, kind: str) -> dict[str, Any]:
        """The kind's state: ``watermark``, the unfinished ``run`` if any, the ``last`` run."""
        return await self.store.state(kind)

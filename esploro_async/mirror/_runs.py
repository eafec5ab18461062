"""The sync runs of a `Mirror`: one class per way of keeping a kind of record.

A run's state is a JSON object kept by the store beside the records:

```python
{"watermark": "2026-12-07",          # assets: the server's date when the last run began
 "run": {...} | null,                 # the unfinished run: its position and counts
 "last": {...}}                       # how the last finished run ended
```

Every page is committed with ``run`` moved past it, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from esploro_async.errors import InsufficientQuotaError
from esploro_async.mirror.progress import SyncCounts, SyncObserver, SyncPlan, SyncSummary
from esploro_async.mirror.store import (
    Known,
    MirrorStore,
    PageWrite,
    RecordRow,
    content_hash,
    record_text,
)
from esploro_async.pagination import Checkpoint, OffsetStream

if TYPE_CHECKING:
    from esploro_async.client import EsploroClient
    from esploro_async.models import Record
    from esploro_async.resources._base import StreamOptions

__all__ = ["AssetsRun", "OrganizationsRun", "Run", "RunOptions"]

_log = logging.getLogger("esploro_async.mirror")

EVERYTHING = "1900-01-01"
"""``update_date_from`` that lists every asset."""

_PAGE = 100
_ROTATION_BATCH = 100
REMEMBER_IDS = 10_000
"""Ids a listing keeps to drop the pages' overlap (flat memory: the store upserts by id)."""


@attrs.frozen
class RunOptions:
    """The `Mirror` options a run needs."""

    refresh_days: int = 30
    overlap_days: int = 0
    until_reserve: bool = False
    prefetch: int | None = 16


def utc_now() -> str:
    """Now, as stored (ISO 8601, UTC, microseconds: the strings sort as the times)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def list_requests(total: int) -> int:
    """Requests to list ``total`` records (pages overlap by one record to catch drift)."""
    if total <= _PAGE:
        return 1
    return 1 + math.ceil((total - _PAGE) / (_PAGE - 1))


def count_change(before: Known | None, digest: str, run_id: str | None, counts: SyncCounts) -> bool:
    """Count a record read by run ``run_id``; whether it must be written (new or changed).

    A record the listing ``run_id`` listed already (read again after drift) is written if it
    changed since, and not counted again.
    """
    again = (
        run_id is not None and before is not None and not before.deleted and before.listed == run_id
    )
    if before is not None and not before.deleted and before.hash == digest:
        counts.unchanged += not again
        return False
    if not again:
        if before is None or before.deleted:
            counts.new += 1
        else:
            counts.changed += 1
    return True


def classify(
    records: Sequence[Record], known: Mapping[str, Known], counts: SyncCounts, run_id: str
) -> tuple[list[RecordRow], list[str]]:
    """Split full records into rows to write (new, changed) and ids seen unchanged."""
    rows: list[RecordRow] = []
    seen: list[str] = []
    for record in records:
        rid = record.record_id
        if rid is None:
            _log.warning("a record without an id was left out: %.200r", record)
            continue
        data = record.to_dict()
        digest = content_hash(data)
        if count_change(known.get(rid), digest, run_id, counts):
            rows.append(RecordRow(rid, record_text(data), digest))
        else:
            seen.append(rid)
    return rows, seen


class Run:
    """What every run shares: the probe of the server's clock, quota checks, reporting."""

    kind = ""

    def __init__(
        self,
        client: EsploroClient,
        store: MirrorStore,
        options: RunOptions,
        observer: SyncObserver | None,
    ) -> None:
        self.client = client
        self.store = store
        self.options = options
        self.observer = observer
        self._requests_before = client.governance.snapshot().requests

    # -- to override ---------------------------------------------------------------------

    async def sync(self, *, reconcile: bool) -> SyncSummary:
        """Finish an unfinished run, if any, then run a new one: the store is then current."""
        state = await self.store.state(self.kind)
        if state.get("run") is None:
            return await self.run_once(reconcile=reconcile)
        resumed = await self.run_once(reconcile=reconcile)
        latest = await self.run_once(reconcile=reconcile)
        counts = attrs.evolve(
            latest.counts,
            **{k: getattr(resumed.counts, k) + v for k, v in latest.counts.to_dict().items()},
        )
        return attrs.evolve(latest, counts=counts)

    async def run_once(self, *, reconcile: bool) -> SyncSummary:
        """Continue the unfinished run to its end, or run a new one."""
        raise NotImplementedError

    async def dry_run(self, *, reconcile: bool) -> SyncSummary:
        """The plan of the next run, nothing written."""
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------------

    async def probe(self, path: str, params: Mapping[str, Any]) -> tuple[str, int]:
        """One request of one record: the server's date (its ``Date``) and the list's total."""
        response = await self.client.request("GET", path, params={**params, "limit": 1})
        data = response.json()
        total = 0
        if isinstance(data, dict):
            for key in ("total_record_count", "totalRecordCount"):
                if isinstance(data.get(key), int):
                    total = data[key]
        header = response.headers.get("date")
        try:
            when = email.utils.parsedate_to_datetime(header) if header else None
        except (TypeError, ValueError):
            when = None
        if when is None:
            _log.warning("no Date header from the gateway: the host's clock sets the watermark")
            when = dt.datetime.now(dt.timezone.utc)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return when.astimezone(dt.timezone.utc).date().isoformat(), total

    def stream_options(self, resume: Checkpoint | None) -> StreamOptions:
        """A listing's options: where to resume, and whether to run until the reserve."""
        options: StreamOptions = {
            "on_insufficient_quota": "run" if self.options.until_reserve else "refuse"
        }
        if resume is not None:
            options["resume_from"] = resume
        if self.options.prefetch is not None:
            options["prefetch"] = self.options.prefetch
        options["remember_ids"] = REMEMBER_IDS
        return options

    def counts_now(self, counts: SyncCounts) -> SyncCounts:
        """``counts`` with this process's requests and the quota left filled in."""
        snapshot = self.client.governance.snapshot()
        counts.requests = snapshot.requests - self._requests_before
        counts.quota_left = snapshot.quota_estimate
        return counts

    def plan(self, **fields: Any) -> SyncPlan:
        """A plan with the quota figures of governance now."""
        snapshot = self.client.governance.snapshot()
        return SyncPlan(
            kind=self.kind,
            quota_left=snapshot.quota_estimate,
            reserve=max(snapshot.daily_reserve, snapshot.batch_reserve),
            **fields,
        )

    def check_fits(self, plan: SyncPlan) -> None:
        """Refuse a run that cannot finish above the reserve, unless ``until_reserve``."""
        if self.options.until_reserve or plan.fits is not False:
            return
        snapshot = self.client.governance.snapshot()
        raise InsufficientQuotaError(
            f"the sync of {self.kind} needs about {plan.requests:,} requests but the daily "
            f"quota has {plan.quota_left:,} left above a reserve of {plan.reserve:,}",
            needed=plan.requests,
            remaining=plan.quota_left,
            reserve=plan.reserve,
            resets_at=snapshot.quota_resets_at,
        )

    def planned(self, plan: SyncPlan) -> None:
        """Tell the observer."""
        if self.observer is not None:
            self.observer.planned(plan)

    def advanced(self, counts: SyncCounts, done: int, total: int) -> None:
        """Tell the observer."""
        if self.observer is not None:
            self.observer.advanced(self.counts_now(counts), done, total)

    @staticmethod
    def new_run(**fields: Any) -> dict[str, Any]:
        """A run's state at its start."""
        return {
            "id": uuid.uuid4().hex,
            "started": utc_now(),
            "checkpoint": None,
            "counts": SyncCounts().to_dict(),
            **fields,
        }

    async def finish(
        self, state: Mapping[str, Any], run: dict[str, Any], counts: SyncCounts, *, listed: bool
    ) -> None:
        """End the run: tombstone what a complete listing did not see, and save the end."""
        now = utc_now()

        def final() -> dict[str, Any]:
            last = {"id": run["id"], "started": run["started"], "ended": now}
            done = {**state, "run": None, "last": {**last, "counts": counts.to_dict()}}
            if "until" in run:
                done["watermark"] = run["until"]
            return done

        if listed:
            deleted = await self.store.tombstone_unlisted(self.kind, run["id"], now, final())
            if deleted:
                counts.deleted += deleted
                await self.store.save_state(self.kind, final())
        else:
            await self.store.save_state(self.kind, final())


class ListingRun(Run):
    """Assets and organizations: list (all, or what changed), write what is new or changed."""

    def stream(self, since: str | None, resume: Checkpoint | None) -> OffsetStream[Any]:
        """The listing of this run."""
        raise NotImplementedError

    def since(self, state: Mapping[str, Any], reconcile: bool) -> tuple[str, str | None]:
        """``(mode, update_date_from)`` of a new run."""
        return "full", None

    async def _begin(
        self, state: Mapping[str, Any], reconcile: bool
    ) -> tuple[dict[str, Any], SyncPlan]:
        mode, since = self.since(state, reconcile)
        probe = self.stream(since, None)
        today, total = await self.probe(probe.path, probe.params)
        run = self.new_run(since=since, until=today, listed=mode in ("full", "reconcile"))
        plan = self.plan(mode=mode, since=since, records=total, requests=1 + list_requests(total))
        return run, plan

    async def dry_run(self, *, reconcile: bool) -> SyncSummary:
        """What the next run would list, and its cost."""
        state = await self.store.state(self.kind)
        run = state.get("run")
        if run is not None:
            stream = self.stream(run["since"], Checkpoint.from_dict(run["checkpoint"]))
            async with stream:
                estimate = await stream.estimate()
            plan = self.plan(
                mode="resume",
                since=run["since"],
                records=estimate.remaining_records or 0,
                requests=1 + (estimate.requests_needed or 0),
            )
        else:
            _, plan = await self._begin(state, reconcile)
        return SyncSummary(self.kind, plan, self.counts_now(SyncCounts()), False, dry_run=True)

    async def run_once(self, *, reconcile: bool) -> SyncSummary:
        """List, write what changed page by page, and finish; see the module."""
        state = await self.store.state(self.kind)
        run = state.get("run")
        if run is None:
            run, plan = await self._begin(state, reconcile)
            self.check_fits(plan)
            await self.store.save_state(self.kind, {**state, "run": run})
        else:
            plan = self.plan(mode="resume", since=run["since"], records=0, requests=0)
        counts = SyncCounts.from_dict(run["counts"])
        resume = Checkpoint.from_dict(run["checkpoint"]) if run["checkpoint"] else None
        stream = self.stream(run["since"], resume)
        async with stream:
            estimate = await stream.check_quota()
            total = estimate.total_records or 0
            if plan.mode == "resume":
                plan = attrs.evolve(
                    plan,
                    records=estimate.remaining_records or 0,
                    requests=1 + (estimate.requests_needed or 0),
                )
            self.planned(plan)
            async for page in stream.pages():
                known = await self.store.known(self.kind, [r.record_id or "" for r in page.records])
                rows, seen = classify(page.records, known, counts, run["id"])
                run = {**run, "checkpoint": stream.checkpoint.to_dict(), "counts": counts.to_dict()}
                await self.store.commit(
                    PageWrite(
                        self.kind,
                        rows,
                        seen,
                        state={**state, "run": run},
                        now=utc_now(),
                        listed=run["id"],
                    )
                )
                self.advanced(counts, stream.checkpoint.delivered, total)
        await self.finish(state, run, counts, listed=bool(run["listed"]))
        return SyncSummary(self.kind, plan, self.counts_now(counts), True)


class AssetsRun(ListingRun):
    """Assets: what changed since the last run's start date; everything to reconcile."""

    kind = "assets"

    def stream(self, since: str | None, resume: Checkpoint | None) -> OffsetStream[Any]:
        """``assets.list(update_date_from=since)``."""
        return self.client.assets.list(
            update_date_from=since or EVERYTHING, **self.stream_options(resume)
        )

    def since(self, state: Mapping[str, Any], reconcile: bool) -> tuple[str, str | None]:
        """A first run or a reconcile lists everything; the others from the watermark."""
        watermark = state.get("watermark")
        if watermark is None:
            return "full", EVERYTHING
        if reconcile:
            return "reconcile", EVERYTHING
        day = dt.date.fromisoformat(watermark) - dt.timedelta(days=self.options.overlap_days)
        return "incremental", day.isoformat()


class OrganizationsRun(ListingRun):
    """Organizations: the whole (short) list every run; what it lacks is tombstoned."""

    kind = "organizations"

    def stream(self, since: str | None, resume: Checkpoint | None) -> OffsetStream[Any]:
        """``organizations.list()``."""
        return self.client.organizations.list(**self.stream_options(resume))

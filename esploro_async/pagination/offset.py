"""`OffsetStream`: every record of an offset/limit endpoint, fetched concurrently, once each.

How a harvest runs:

1. The first page (at the start offset, or one record before a checkpoint to check that
   nothing moved) reveals the total. Before going on, the stream checks that the harvest
   can finish above the daily reserve (`estimate`), or refuses with `InsufficientQuotaError`.
2. The remaining pages are fetched concurrently through the client's governance, with at
   most ``prefetch`` pages in flight or waiting to be consumed: enough to keep the rate
   limiter busy at the observed latency, and a bound on memory (a slow consumer simply
   stops new pages from being requested). Records come out in source order by default;
   ``ordered=False`` hands out pages as they complete.
3. Every response reports the total. If it changes mid-harvest (records created or deleted),
   the stream follows the new end, and afterwards re-reads every page that was not read at
   the final total, handing out only records it has not handed out before (by record id),
   so no record is lost or repeated. Each change is reported as a `Drift`.

Leaving the loop early, or cancelling the consuming task, cancels the pages in flight; a
failed page cancels the others and its error surfaces. At the daily quota, pages already
fetched before the failing one are still handed out, so the checkpoint is as far as it can be.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from esploro_async._tasks import cancel_and_wait
from esploro_async.errors import (
    DailyQuotaExhaustedError,
    InsufficientQuotaError,
    ResponseFormatError,
)
from esploro_async.governance.lanes import Lane, current_lane
from esploro_async.models import Record
from esploro_async.pagination.checkpoint import Checkpoint, canonical_params

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient

__all__ = ["Drift", "HarvestEstimate", "OffsetStream", "Page"]

RecordT = TypeVar("RecordT", bound=Record)

_log = logging.getLogger("esploro_async.pagination")
_MAX_PREFETCH = 64


@attrs.frozen
class Page(Generic[RecordT]):
    """One page as handed out: its source offset, its new records, and the reported total.

    ``duplicates`` counts records dropped because they had been handed out already.
    """

    offset: int
    records: tuple[RecordT, ...]
    total: int | None
    duplicates: int = 0


@attrs.frozen
class Drift:
    """The data changed during a harvest.

    ``kind``: ``total_changed`` (a response reported another total), ``reread`` (pages read
    again at the final total: ``pages``), ``unresolved`` (still changing after the last
    re-read round), ``resume_moved`` (the record before a checkpoint is no longer there).
    """

    kind: Literal["total_changed", "reread", "unresolved", "resume_moved"]
    expected_total: int | None
    observed_total: int | None
    offset: int
    pages: int = 0


@attrs.frozen
class HarvestEstimate:
    """What a harvest will cost.

    Attributes:
        total_records: the total the API reports.
        remaining_records: records from the start (or checkpoint) position to the end.
        requests_needed: requests still to send (the first page is already fetched).
        quota_remaining: the daily-quota estimate now (None: unknown).
        daily_reserve: the floor governance protects.
        fits: whether the harvest finishes above the reserve (None: unknown).
    """

    total_records: int | None
    remaining_records: int | None
    requests_needed: int | None
    quota_remaining: int | None
    daily_reserve: int
    fits: bool | None


@attrs.frozen
class _Delivery(Generic[RecordT]):
    """A page ready to hand out, and how handing out each record moves the checkpoint."""

    page: Page[RecordT]
    marks: list[tuple[int, str | None]] | None = None
    completes: tuple[int, int, str | None] | None = None


@attrs.define
class _Raw:
    """A fetched page before de-duplication."""

    offset: int
    records: list[dict[str, Any]]
    total: int | None
    latency: float


def _total(data: Mapping[str, Any]) -> int | None:
    for key in ("total_record_count", "totalRecordCount"):
        value = data.get(key)
        if value is not None:
            try:
                return int(str(value).strip())
            except ValueError:
                return None
    return None


class OffsetStream(Generic[RecordT]):
    """Records of an offset/limit endpoint, as an async iterable; see the module docstring.

    Iterate it once: ``async for record in stream`` (records) or
    ``async for page in stream.pages()``. Read ``stream.checkpoint`` after you have stored
    what you were given; pass it as ``resume_from`` to a new stream to go on from there.

    Args:
        client: the client to send with.
        path: the endpoint, e.g. ``/esploro/v1/researchers``.
        list_key: the envelope key of the records (``user``, ``records``, …).
        params: filters (``limit``/``offset`` are set by the stream).
        wrap: builds a record object from a JSON object (it may keep the object).
        page_size: records per request (default and maximum: ``max_page_size``).
        max_page_size: the endpoint's maximum (100 for Esploro).
        ordered: hand out records in source order (default), or pages as they complete.
        prefetch: pages in flight or buffered at most (default: adapted to the latency).
        resume_from: a `Checkpoint` of an earlier harvest of the same query.
        on_insufficient_quota: ``"refuse"`` to start a harvest that cannot finish above the
            daily reserve (default), or ``"run"`` until the reserve and stop there with
            `DailyQuotaExhaustedError` (resume from the checkpoint after the reset).
        reread_on_drift: re-read pages after the total changed (default), or only report it.
        on_drift: a callback for every `Drift` (they are also kept in ``stream.drifts``).
        lane: the governance lane of its requests (default: the surrounding `use_lane`
            block, else ``"batch"``).
    """

    def __init__(
        self,
        client: BaseClient,
        path: str,
        *,
        list_key: str,
        params: Mapping[str, Any] | None = None,
        wrap: Callable[[dict[str, Any]], RecordT],
        page_size: int | None = None,
        max_page_size: int = 100,
        ordered: bool = True,
        prefetch: int | None = None,
        resume_from: Checkpoint | None = None,
        on_insufficient_quota: Literal["refuse", "run"] = "refuse",
        reread_on_drift: bool = True,
        max_reread_rounds: int = 3,
        on_drift: Callable[[Drift], object] | None = None,
        lane: Lane | None = None,
    ) -> None:
        size = max_page_size if page_size is None else page_size
        if not 1 <= size <= max_page_size:
            raise ValueError(f"page_size must be between 1 and {max_page_size}, got {size}")
        if prefetch is not None and prefetch < 1:
            raise ValueError(f"prefetch must be >= 1, got {prefetch}")
        if on_insufficient_quota not in ("refuse", "run"):
            raise ValueError("on_insufficient_quota must be 'refuse' or 'run'")
        self._client = client
        self.lane: Lane = lane or current_lane() or "batch"
        self.path = path if path.startswith("/") else f"/esploro/v1/{path}"
        self.list_key = list_key
        self.params = {k: v for k, v in (params or {}).items() if v is not None}
        self._wrap = wrap
        self.page_size = size
        self.ordered = ordered
        self._prefetch = prefetch
        self._on_quota = on_insufficient_quota
        self._reread = reread_on_drift
        self._max_rounds = max_reread_rounds
        self._on_drift = on_drift
        self.drifts: list[Drift] = []
        self.duplicates = 0
        self._seen: set[str] = set()
        self._tasks: dict[int, asyncio.Task[_Raw]] = {}
        self._first: _Raw | None = None
        self._started = False
        self._latencies: deque[float] = deque(maxlen=32)
        # the checkpoint, kept as plain fields (updated for every record handed out)
        self._offset = 0
        self._last_id: str | None = None
        self._delivered = 0
        self._total: int | None = None
        self._resume_id: str | None = None
        self._completed: dict[int, tuple[int, str | None]] = {}
        if resume_from is not None:
            if not resume_from.matches(self.path, self.params):
                raise ValueError(
                    "this checkpoint belongs to another harvest "
                    f"({resume_from.path} {dict(resume_from.params)})"
                )
            if resume_from.page_size != size and page_size is not None:
                raise ValueError("resume with the page size of the checkpoint")
            self.page_size = resume_from.page_size
            self._offset = resume_from.offset
            self._last_id = self._resume_id = resume_from.last_id
            self._delivered = resume_from.delivered
            self._total = resume_from.total
            if resume_from.last_id is not None:
                self._seen.add(resume_from.last_id)
        self._start = self._offset

    # -- public ----------------------------------------------------------------------------

    @property
    def checkpoint(self) -> Checkpoint:
        """The position after the last contiguous record handed out, and the query."""
        return Checkpoint(
            path=self.path,
            params=canonical_params(self.params),
            list_key=self.list_key,
            page_size=self.page_size,
            offset=self._offset,
            last_id=self._last_id,
            delivered=self._delivered,
            total=self._total,
        )

    async def estimate(self) -> HarvestEstimate:
        """Fetch the first page (kept for the harvest) and say what the rest will cost."""
        first = await self._first_page()
        snapshot = self._client.governance.snapshot()
        total = first.total
        if total is None:
            remaining = needed = None
        else:
            remaining = max(0, total - self._start)
            needed = max(0, math.ceil((total - first.offset) / self.page_size) - 1)
        fits = None
        if needed is not None and snapshot.quota_estimate is not None:
            fits = snapshot.quota_estimate - needed >= snapshot.daily_reserve
        return HarvestEstimate(
            total_records=total,
            remaining_records=remaining,
            requests_needed=needed,
            quota_remaining=snapshot.quota_estimate,
            daily_reserve=snapshot.daily_reserve,
            fits=fits,
        )

    async def check_quota(self) -> HarvestEstimate:
        """`estimate`, raising `InsufficientQuotaError` now where iterating would.

        Lets a caller fail before it opens files or shows progress; iterating checks again.
        """
        first = await self._first_page()
        self._check_quota(first)
        return await self.estimate()

    def __aiter__(self) -> AsyncIterator[RecordT]:
        return self._records()

    def pages(self) -> AsyncIterator[Page[RecordT]]:
        """Iterate pages instead of records (``Page.records`` are already de-duplicated)."""
        return self._pages_public()

    # -- iteration ---------------------------------------------------------------------------

    async def _records(self) -> AsyncIterator[RecordT]:
        async for delivery in self._walk():
            records = delivery.page.records
            last = len(records) - 1
            for index, record in enumerate(records):
                self._commit(delivery, index, last)
                yield record

    async def _pages_public(self) -> AsyncIterator[Page[RecordT]]:
        async for delivery in self._walk():
            last = len(delivery.page.records) - 1
            for index in range(last + 1):
                self._commit(delivery, index, last)
            yield delivery.page

    def _commit(self, delivery: _Delivery[RecordT], index: int, last: int) -> None:
        """Record ``index`` of ``delivery`` is being handed out: move the checkpoint."""
        self._delivered += 1
        if delivery.marks is not None:
            self._offset, self._last_id = delivery.marks[index]
        elif index == last and delivery.completes is not None:
            self._complete_page(*delivery.completes)

    def _complete_page(self, offset: int, end: int, last_id: str | None) -> None:
        """Out-of-order pages: the checkpoint moves over every contiguous completed page."""
        self._completed[offset] = (end, last_id)
        while self._offset in self._completed:
            self._offset, self._last_id = self._completed.pop(self._offset)

    async def _walk(self) -> AsyncIterator[_Delivery[RecordT]]:
        if self._started:
            raise RuntimeError(
                "a stream is iterated once; make a new one, or resume from its checkpoint"
            )
        self._started = True
        try:
            first = await self._first_page()
            self._check_quota(first)
            yield self._deliver(first, in_order=True)
            if first.total is None:
                async for raw in self._sequential(first):
                    yield self._deliver(raw, in_order=True)
                return
            observed: dict[int, int | None] = {first.offset: first.total}
            base = first.offset
            async for raw in self._concurrent(base, first.total, observed):
                yield self._deliver(raw, in_order=self.ordered)
            if self._reread:
                async for raw in self._reread_rounds(base, observed):
                    yield self._deliver(raw, in_order=None)
        finally:
            await self._cancel_tasks()

    def _deliver(self, raw: _Raw, *, in_order: bool | None) -> _Delivery[RecordT]:
        """Wrap and de-duplicate a page, and say how handing it out moves the checkpoint.

        ``in_order``: ``True`` when pages are handed out in source order (per-record marks),
        ``False`` for out-of-order pages of the main pass (the checkpoint moves per page),
        ``None`` for re-read pages (they do not move it).
        """
        records: list[RecordT] = []
        ids: list[str | None] = []
        kept: list[int] = []
        for index, item in enumerate(raw.records):
            record = self._wrap(item)
            key = record.record_id
            ids.append(key)
            if key is not None:
                if key in self._seen:
                    continue
                self._seen.add(key)
            records.append(record)
            kept.append(index)
        duplicates = len(raw.records) - len(records)
        self.duplicates += duplicates
        if raw.total is not None:
            self._total = raw.total
        page = Page(raw.offset, tuple(records), raw.total, duplicates)
        end = raw.offset + len(raw.records)
        last_id = ids[-1] if ids else self._last_id
        if in_order is None:
            return _Delivery(page)
        if not in_order:
            if not records:
                self._complete_page(raw.offset, end, last_id)
                return _Delivery(page)
            return _Delivery(page, completes=(raw.offset, end, last_id))
        if not records:  # all already handed out: the frontier moves over them now
            self._offset, self._last_id = max(self._offset, end), last_id
            return _Delivery(page, marks=[])
        marks = [(raw.offset + i + 1, ids[i]) for i in kept]
        marks[-1] = (end, last_id)  # trailing duplicates are passed with the last record
        return _Delivery(page, marks=marks)

    # -- fetching ----------------------------------------------------------------------------

    async def _fetch(self, offset: int) -> _Raw:
        params = {**self.params, "limit": self.page_size, "offset": offset}
        response = await self._client.request(
            "GET", self.path, params=params, format="json", lane=self.lane
        )
        data = response.json()
        if not isinstance(data, dict):
            raise ResponseFormatError(
                f"GET {self.path}: expected a JSON object, got {type(data).__name__}",
                method="GET",
                path=self.path,
                status_code=response.status_code,
            )
        items = data.get(self.list_key)
        if items is None:
            items = []
        elif isinstance(items, dict):
            items = [items]
        records = [item for item in items if isinstance(item, dict)]
        self._latencies.append(response.elapsed)
        return _Raw(offset, records, _total(data), response.elapsed)

    async def _first_page(self) -> _Raw:
        if self._first is None:
            probe = self._start > 0 and self._resume_id is not None
            raw = await self._fetch(self._start - 1 if probe else self._start)
            if probe and (
                not raw.records or self._wrap(dict(raw.records[0])).record_id != self._resume_id
            ):
                self._report(Drift("resume_moved", self._total, raw.total, self._start))
            self._first = raw
        return self._first

    def _check_quota(self, first: _Raw) -> None:
        if self._on_quota != "refuse" or first.total is None:
            return
        snapshot = self._client.governance.snapshot()
        needed = max(0, math.ceil((first.total - first.offset) / self.page_size) - 1)
        if snapshot.quota_estimate is None:
            return
        if snapshot.quota_estimate - needed < snapshot.daily_reserve:
            raise InsufficientQuotaError(
                f"harvesting {self.path} needs {needed} more requests, but the daily quota has "
                f"{snapshot.quota_estimate} left and {snapshot.daily_reserve} are reserved. "
                "Run it after the reset, lower daily_reserve, or pass "
                "on_insufficient_quota='run' to harvest until the reserve and resume from the "
                "checkpoint after the reset.",
                needed=needed,
                remaining=snapshot.quota_estimate,
                reserve=snapshot.daily_reserve,
                resets_at=snapshot.quota_resets_at,
            )

    async def _sequential(self, first: _Raw) -> AsyncIterator[_Raw]:
        """Without a total: one page after the other until a short page."""
        raw = first
        while len(raw.records) >= self.page_size:
            raw = await self._fetch(raw.offset + self.page_size)
            yield raw

    def _prefetch_now(self) -> int:
        if self._prefetch is not None:
            return self._prefetch
        snapshot = self._client.governance.snapshot()
        latency = max(self._latencies, default=0.5)
        cap = min(_MAX_PREFETCH, self._client.governance.max_in_flight)
        want = math.ceil(snapshot.effective_rate * latency * 1.5) + 2
        return max(2, min(cap, want))

    def _grid_end(self, base: int, total: int) -> int:
        """The first page offset at or after ``total`` on the grid that starts at ``base``."""
        return base + max(0, math.ceil((total - base) / self.page_size)) * self.page_size

    def _spawn(self, offset: int) -> None:
        self._tasks[offset] = asyncio.ensure_future(self._fetch(offset))

    async def _concurrent(
        self, base: int, total: int, observed: dict[int, int | None]
    ) -> AsyncIterator[_Raw]:
        """The main pass: pages after the first, concurrently, following the total."""
        pending = deque(range(base + self.page_size, total, self.page_size))
        planned_end = self._grid_end(base, total)
        stop: DailyQuotaExhaustedError | None = None
        stop_at: int | None = None
        expected: int | None = total
        while pending or self._tasks:
            while pending and stop is None and len(self._tasks) < self._prefetch_now():
                offset = pending.popleft()
                if expected is None or offset < expected:  # never request past the end
                    self._spawn(offset)
            if not self._tasks:
                break
            head = min(self._tasks) if self.ordered else None
            if stop is not None and stop_at is not None and head is not None and head >= stop_at:
                raise stop
            done = await self._wait(head)
            for offset in sorted(done):
                task = self._tasks[offset]
                error = task.exception()
                if error is None:
                    continue
                if isinstance(error, DailyQuotaExhaustedError) and self.ordered:
                    # Hand out what came before the failing page first.
                    del self._tasks[offset]
                    if stop_at is None or offset < stop_at:
                        stop, stop_at = error, offset
                    continue
                raise error
            for offset in sorted(done) if not self.ordered else ([head] if head in done else []):
                task = self._tasks.pop(offset)
                if task.exception() is not None:
                    continue
                raw = task.result()
                observed[offset] = raw.total
                if raw.total != expected:
                    self._report(Drift("total_changed", expected, raw.total, offset))
                    expected = raw.total
                    if raw.total is not None and raw.total > planned_end:
                        pending.extend(range(planned_end, raw.total, self.page_size))
                        planned_end = self._grid_end(base, raw.total)
                yield raw
        if stop is not None:
            raise stop

    async def _wait(self, head: int | None) -> set[int]:
        """Offsets of finished tasks: the head when ordered (errors of others surface too)."""
        by_task = {task: offset for offset, task in self._tasks.items()}
        while True:
            finished = {offset for task, offset in by_task.items() if task.done()}
            failed = {o for o in finished if self._tasks[o].exception() is not None}
            if failed or (head is None and finished) or head in finished:
                return finished
            running = [task for task in by_task if not task.done()]
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)

    async def _reread_rounds(
        self, base: int, observed: dict[int, int | None]
    ) -> AsyncIterator[_Raw]:
        """Read again every page not read at the final total, until one round agrees."""
        for _ in range(self._max_rounds):
            final = self._total
            if final is None:
                return
            stale = [o for o in range(base, final, self.page_size) if observed.get(o, -1) != final]
            if not stale:
                return
            self._report(Drift("reread", None, final, stale[0], pages=len(stale)))
            queue = deque(stale)
            while queue or self._tasks:
                while queue and len(self._tasks) < self._prefetch_now():
                    self._spawn(queue.popleft())
                done = await self._wait(None)
                for offset in sorted(done):
                    raw = self._tasks.pop(offset).result()
                    observed[offset] = raw.total
                    yield raw
        if self._total is not None and any(
            observed.get(o, -1) != self._total for o in range(base, self._total, self.page_size)
        ):
            self._report(Drift("unresolved", None, self._total, base))

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        await cancel_and_wait(tasks)

    def _report(self, drift: Drift) -> None:
        self.drifts.append(drift)
        _log.warning(
            "%s: data changed during the harvest (%s: total %s -> %s at offset %d%s)",
            self.path,
            drift.kind,
            drift.expected_total,
            drift.observed_total,
            drift.offset,
            f", {drift.pages} pages re-read" if drift.pages else "",
        )
        if self._on_drift is not None:
            self._on_drift(drift)

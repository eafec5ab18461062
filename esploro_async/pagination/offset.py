"""`OffsetStream`: every record of an offset/limit endpoint, fetched concurrently, once each.

How a harvest runs:

1. The first page (at the start offset, or one record before a checkpoint to check that
   nothing moved) reveals the total; the pages after it are started while it is in flight
   (`Speculation`: ``speculate`` before any response, then, once any response told the
   total, the pages before it at the rate's pace), so that the first round trip is not
   idle. Before going on, the stream checks that the harvest can finish above the daily
   reserve (`estimate`), or refuses with `InsufficientQuotaError` (`HarvestBudget`).
2. The other pages are requested as a `PageScheduler` says (lazily, short pages again,
   re-reads after drift), concurrently through the client's governance. As many requests
   are in flight as the rate needs at the observed latency (rate x 95th percentile of the
   round trips, within governance's concurrency limit: `HarvestBudget`); beside them,
   finished pages wait for an earlier one to come back up to 1 MiB of responses (at the
   largest page lately; 16 to 64 pages; a bound on memory: a slow consumer simply stops
   new pages from being requested). ``prefetch`` instead bounds both together. Pages
   released together (the head of the line came back) are built into records one page at
   a time, as they are handed out. Records come out in source order by default;
   ``ordered=False`` hands out pages as they complete.
3. A `Frontier` drops records handed out before (by record id) and keeps the checkpoint:
   the position after the last contiguous record handed out.

Use ``async with stream:`` (or call ``aclose()``) to stop it the moment you are done: on
leaving the block the pages in flight are cancelled, whatever still references the
iterator. Without it, iterating still works; the requests then run as asyncio tasks (or, on
trio, one at a time), and leaving the loop (``break``, an exception, a cancel) stops them
as soon as nothing references the iterator any more. A failed page cancels the others and
its error surfaces. At the daily quota, the requests in flight settle first, pages before
the failing one are still handed out, and the error is `DailyQuotaExhaustedError`: resume
from the checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import anyio

from esploro_async._concurrency import InlineRunner, Runner, TaskHost, runner_for
from esploro_async.errors import (
    ConfigurationError,
    DailyQuotaExhaustedError,
    IncompletePageError,
    UnresolvedDriftError,
)
from esploro_async.governance.lanes import Lane, current_lane
from esploro_async.models import Record
from esploro_async.models._json import object_list, total_record_count
from esploro_async.pagination.budget import HarvestBudget
from esploro_async.pagination.checkpoint import Checkpoint, canonical_params, page_size_for
from esploro_async.pagination.estimate import HarvestEstimate
from esploro_async.pagination.fetched import FetchedPage, shelve, waiting_room
from esploro_async.pagination.frontier import Frontier, Handout, Page
from esploro_async.pagination.scheduler import (
    Drift,
    PageScheduler,
    short_by,
    stride_for,
)
from esploro_async.pagination.speculation import Speculation

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient

__all__ = ["Drift", "HarvestEstimate", "OffsetStream", "Page"]

RecordT = TypeVar("RecordT", bound=Record)

_log = logging.getLogger("esploro_async.pagination")
_SPECULATIVE = 8
_MAX_SHORT_REREADS = 2


def _check_options(
    prefetch: int | None,
    on_insufficient_quota: str,
    speculate: int | None,
    remember_ids: int | None,
) -> None:
    if remember_ids is not None and remember_ids < 1:
        raise ConfigurationError(f"remember_ids must be >= 1, got {remember_ids}")
    if prefetch is not None and prefetch < 1:
        raise ConfigurationError(f"prefetch must be >= 1, got {prefetch}")
    if on_insufficient_quota not in ("refuse", "run"):
        raise ConfigurationError("on_insufficient_quota must be 'refuse' or 'run'")
    if speculate is not None and speculate < 0:
        raise ConfigurationError(f"speculate must be >= 0, got {speculate}")


class OffsetStream(TaskHost, Generic[RecordT]):
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
        prefetch: pages in flight or buffered at most (default: in flight as the rate and
            the latency need, and besides them finished pages up to 1 MiB of responses,
            16 to 64 pages).
        resume_from: a `Checkpoint` of an earlier harvest of the same query.
        on_insufficient_quota: ``"refuse"`` to start a harvest that cannot finish above the
            daily reserve (default), or ``"run"`` until the reserve and stop there with
            `DailyQuotaExhaustedError` (resume from the checkpoint after the reset).
        reread_on_drift: re-read pages after the total changed (default), or only report it.
        on_drift: a callback for every `Drift` (they are also kept in ``stream.drifts``).
        overlap: start each page on the last record of the page before (default: one
            record in a hundred read twice), so that records deleted or inserted between two
            reads are noticed, and read again, even when the total does not change.
        lane: the governance lane of its requests (default: the surrounding `use_lane`
            block, else ``"batch"``).
        speculate: pages after the first to request with it, before any total is known
            (default 8; 0 for none); fewer when the client remembers a smaller total of the
            same listing. Those past the end cost a request each, unless a response told the
            total before they were sent (they are then cancelled). Once a total is known the
            pages before it go on while the first page is in flight.
        remember_ids: ids kept to drop records handed out before: all (default, about 12 MB
            a million ids), or only the last N, in flat memory. The pages' one-record
            overlap is dropped either way; with N, a record read again further back (a
            re-read after drift) is handed out again: for consumers that store by id.
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
        overlap: bool = True,
        speculate: int | None = None,
        remember_ids: int | None = None,
    ) -> None:
        _check_options(prefetch, on_insufficient_quota, speculate, remember_ids)
        self._client = client
        self.lane: Lane = lane or current_lane() or "batch"
        self.path: str = path if path.startswith("/") else f"/esploro/v1/{path}"
        self.list_key = list_key
        self.params: dict[str, Any] = {k: v for k, v in (params or {}).items() if v is not None}
        self._wrap = wrap
        self.page_size: int = page_size_for(page_size, max_page_size, resume_from)
        self.ordered = ordered
        self._prefetch = prefetch
        self._reread = reread_on_drift
        self._max_rounds = max_reread_rounds
        self._on_drift = on_drift
        self._stride = stride_for(self.page_size, overlap=overlap)
        self._budget = HarvestBudget(
            client,
            path=self.path,
            page_size=self.page_size,
            stride=self._stride,
            prefetch=prefetch,
            refuse=on_insufficient_quota == "refuse",
        )
        self.drifts: list[Drift] = []
        self._first: FetchedPage | None = None
        self._speculative = _SPECULATIVE if speculate is None else speculate
        self._speculation: Speculation | None = None
        self._listing = (self.path, canonical_params(self.params))
        self._sizes: deque[int] = deque(maxlen=32)  # response bytes of the latest pages
        if resume_from is not None and not resume_from.matches(self.path, self.params):
            raise ConfigurationError(
                "this checkpoint belongs to another harvest "
                f"({resume_from.path} {dict(resume_from.params)})"
            )
        start = resume_from or Checkpoint(self.path, (), list_key, self.page_size)
        self._resume_id = start.last_id
        self._ahead = start.ahead
        self._frontier: Frontier[RecordT] = Frontier(
            wrap,
            page_size=self.page_size,
            offset=start.offset,
            last_id=start.last_id,
            delivered=start.delivered,
            total=start.total,
            ahead=start.ahead,
            remember_ids=remember_ids,
        )
        self._start = start.offset

    # -- public ----------------------------------------------------------------------------

    @property
    def checkpoint(self) -> Checkpoint:
        """The position after the last contiguous record handed out, and the query."""
        frontier = self._frontier
        return Checkpoint(
            path=self.path,
            params=canonical_params(self.params),
            list_key=self.list_key,
            page_size=self.page_size,
            offset=frontier.offset,
            last_id=frontier.last_id,
            delivered=frontier.delivered,
            total=frontier.total,
            ahead=frontier.ahead,
        )

    @property
    def duplicates(self) -> int:
        """Records dropped because they had been handed out already."""
        return self._frontier.duplicates

    async def estimate(self) -> HarvestEstimate:
        """Fetch the first page (kept for the harvest) and say what the rest will cost."""
        first = await self._first_page()
        return self._budget.estimate(first, self._start)

    async def check_quota(self) -> HarvestEstimate:
        """`estimate`, raising `InsufficientQuotaError` now where iterating would.

        Lets a caller fail before it opens files or shows progress; iterating checks again.
        """
        first = await self._first_page()
        self._check_quota(first)
        return await self.estimate()

    def __aiter__(self) -> AsyncIterator[RecordT]:
        return self._track(self._records())

    async def to_arrow(self) -> Any:
        """Every record as a ``pyarrow.Table`` (the ``arrow`` extra), in source order.

        Assets, researchers and organizations get their model's columns, named after the
        JSON paths, lists as lists (as ``esploro-async export --format parquet``); other
        records ``id`` and ``record``. ``record`` is the whole JSON text.
        """
        from esploro_async.mirror.export import stream_to_arrow

        return await stream_to_arrow(self)

    def pages(self) -> AsyncIterator[Page[RecordT]]:
        """Iterate pages instead of records (``Page.records`` are already de-duplicated)."""
        return self._track(self._pages())

    # -- iteration ---------------------------------------------------------------------------

    async def _records(self) -> AsyncIterator[RecordT]:
        async with contextlib.aclosing(self._walk()) as handouts:
            async for handout in handouts:
                for index, record in enumerate(handout.page.records):
                    self._frontier.hand_out(handout, index)
                    yield record

    async def _pages(self) -> AsyncIterator[Page[RecordT]]:
        async with contextlib.aclosing(self._walk()) as handouts:
            async for handout in handouts:
                for index in range(len(handout.page.records)):
                    self._frontier.hand_out(handout, index)
                yield handout.page

    async def _walk(self) -> AsyncGenerator[Handout[RecordT], None]:
        runner: Runner[FetchedPage] = runner_for(self._fetch, self._task_group)
        try:
            self._speculation = self._speculate(runner)
            first = await self._first_page()
            started = () if self._speculation is None else self._speculation.close()
            self._check_quota(first)
            yield self._frontier.in_order(first.offset, first.records, first.total)
            if first.total is None:
                async for raw in self._sequential(first):
                    yield self._frontier.in_order(raw.offset, raw.records, raw.total)
                return
            scheduler = PageScheduler(
                path=self.path,
                base=first.offset,
                page_size=self.page_size,
                total=first.total,
                skip=self._ahead,
                report=self._report,
                reread_on_drift=self._reread,
                max_rounds=self._max_rounds,
                max_short_rereads=_MAX_SHORT_REREADS,
                overlap=self._stride != self.page_size,
                first_edges=(*self._edges(first), len(first.records)),
            )
            for offset in started:
                scheduler.claim(offset)  # the others' answers are ignored
            async for handout in self._concurrent(scheduler, runner):
                yield handout
        finally:
            with anyio.CancelScope(shield=True):
                await runner.aclose()

    def _speculate(self, runner: Runner[FetchedPage]) -> Speculation | None:
        """Start the pages after the first one while it is in flight (`Speculation`).

        Before any total is known at most ``speculate`` (default `_SPECULATIVE`), never
        past a total known from a checkpoint or remembered from an earlier listing of the
        same query; none while the quota is unknown and a reserve is kept (the first request
        of the day probes it, alone), when the first page is known (`estimate`), or when
        requests run one at a time. Always within ``max_in_flight``, ``prefetch``, the
        buffer and what the daily quota leaves above the reserve.
        """
        if self._first is not None or isinstance(runner, InlineRunner) or self._speculative < 1:
            return None
        known = self._frontier.total
        if known is None:
            known = self._client.listing_totals.get(self._listing)
        return Speculation(
            runner,
            base=self._first_offset(),
            page_size=self.page_size,
            stride=self._stride,
            skip=self._ahead,
            limit=self._speculative,
            most=self._budget.beside_first(),
            known=known,
            room=self._budget.room,
            capacity=lambda: self._budget.in_flight_now() - 1,
            fits=self._fits,
        )

    async def _concurrent(
        self, scheduler: PageScheduler, runner: Runner[FetchedPage]
    ) -> AsyncIterator[Handout[RecordT]]:
        """Every page after the first, as the scheduler says, through ``runner``."""
        ready: dict[int, FetchedPage] = {}  # ordered: main-pass pages waiting for those before them
        stop: DailyQuotaExhaustedError | None = None
        while True:
            for handout in self._in_order(scheduler, ready):
                yield handout
            shelve(ready)
            if stop is None:
                self._top_up(scheduler, runner, buffered=len(ready))
            if scheduler.in_flight == 0:
                break
            offset, answer = await runner.next_result()
            if not scheduler.expects(offset):
                continue  # started before the total was known, and past it
            if isinstance(answer, DailyQuotaExhaustedError):
                # The requests in flight settle; then the harvest stops here.
                scheduler.failed(offset)
                scheduler.stop()
                stop = stop or answer
                continue
            if isinstance(answer, Exception):
                raise answer
            done = self._classify(scheduler, answer, ready)
            if done is not None:
                yield done
        if stop is not None:
            raise stop
        self._check_complete(scheduler)

    def _check_complete(self, scheduler: PageScheduler) -> None:
        """A harvest that ends before its total is an error, never a silent loss."""
        if scheduler.unresolved:
            raise UnresolvedDriftError(
                f"GET {self.path}: records kept moving through {self._max_rounds} rounds of "
                "re-reads; records that existed throughout may be missing. Harvest again "
                "when the data is quieter",
                path=self.path,
                total=scheduler.expected,
            )
        if self._frontier.offset < scheduler.expected:
            raise IncompletePageError(
                f"GET {self.path}: the harvest ended at offset {self._frontier.offset} "
                f"but the total is {scheduler.expected}; resume from the checkpoint",
                path=self.path,
                offset=self._frontier.offset,
                expected=scheduler.expected - self._frontier.offset,
                received=0,
            )

    def _classify(
        self, scheduler: PageScheduler, raw: FetchedPage, ready: dict[int, FetchedPage]
    ) -> Handout[RecordT] | None:
        """What a page that came back is: a re-read, a main-pass page, or nothing yet."""
        outcome = scheduler.finished(raw.offset, len(raw.records), raw.total, self._edges(raw))
        if outcome == "again":
            return None
        if outcome == "reread":
            return self._frontier.reread(raw.offset, raw.records, raw.total)
        if self.ordered:
            ready[raw.offset] = raw
            return None
        return self._frontier.out_of_order(raw.offset, raw.records, raw.total)

    def _edges(self, raw: FetchedPage) -> tuple[str | None, str | None]:
        """The ids of a page's first and last records."""
        if not raw.records:
            return None, None
        first = self._wrap(dict(raw.records[0])).record_id
        return first, self._wrap(dict(raw.records[-1])).record_id

    def _in_order(
        self, scheduler: PageScheduler, ready: dict[int, FetchedPage]
    ) -> Iterator[Handout[RecordT]]:
        """The ready pages no open main-pass page comes before, built into records lazily:
        a long line of pages released at once never exists as records all together."""
        open_pages = scheduler.main_open
        first_open = min(open_pages) if open_pages else math.inf
        for offset in sorted(o for o in ready if o < first_open):
            raw = ready.pop(offset)
            if raw.shelved and raw.content is not None:
                raw.records = object_list(json.loads(raw.content).get(self.list_key))
            yield self._frontier.in_order(raw.offset, raw.records, raw.total)

    def _top_up(
        self, scheduler: PageScheduler, runner: Runner[FetchedPage], *, buffered: int
    ) -> None:
        if self._prefetch is not None:
            limit = self._prefetch - buffered
        else:
            # What is in flight must fit in the buffer once back, should the head be slow.
            target = self._budget.in_flight_now()
            limit = min(target, target + waiting_room(self._sizes) - buffered)
        # Nothing in flight: the page the buffer waits for (a short page read again) goes.
        limit = max(limit, 0 if scheduler.in_flight else 1)
        while scheduler.in_flight < limit:
            offset = scheduler.take()
            if offset is None:
                return
            runner.start(offset)

    # -- fetching ----------------------------------------------------------------------------

    async def _fetch(self, offset: int) -> FetchedPage:
        params = {**self.params, "limit": self.page_size, "offset": offset}
        try:
            response = await self._client.request(
                "GET", self.path, params=params, format="json", lane=self.lane
            )
        except Exception:
            if self._speculation is not None:
                self._speculation.answered(offset, None)  # no longer in flight
            raise
        data = response.json_object()
        self._budget.latencies.append(response.elapsed)
        self._sizes.append(len(response.content))
        records = object_list(data.get(self.list_key))
        total = total_record_count(data)
        if total is not None:
            self._client.listing_totals.remember(self._listing, total)
        if self._speculation is not None:
            self._speculation.answered(offset, total)
        return FetchedPage(offset, records, total, response.elapsed, response.content)

    async def _first_page(self) -> FetchedPage:
        if self._first is None:
            offset = self._first_offset()
            raw = await self._fetch_whole(offset)
            if (
                offset < self._start
                and self._resume_id is not None
                and (not raw.records or self._edges(raw)[0] != self._resume_id)
            ):
                self._report(Drift("resume_moved", self._frontier.total, raw.total, self._start))
            self._first = raw
        return self._first

    def _first_offset(self) -> int:
        """Where a harvest starts: on the record before a checkpoint, where there is one.

        That record shows whether the data moved since; overlapping pages start there
        anyway (every page shares a record with the page before), which also keeps pages
        ahead of the checkpoint on their grid. Without overlap, such pages pin the grid
        to the checkpoint itself.
        """
        if self._start == 0:
            return 0
        if self._stride != self.page_size:
            return self._start - 1
        return self._start - 1 if self._resume_id is not None and not self._ahead else self._start

    async def _fetch_whole(self, offset: int) -> FetchedPage:
        """A page read again while it comes back short of what its total says (bounded)."""
        for _ in range(_MAX_SHORT_REREADS):
            raw = await self._fetch(offset)
            if raw.total is None or not short_by(
                self.page_size, offset, len(raw.records), raw.total
            ):
                return raw
        raw = await self._fetch(offset)
        if raw.total is not None and short_by(self.page_size, offset, len(raw.records), raw.total):
            expected = min(self.page_size, raw.total - offset)
            raise IncompletePageError(
                f"GET {self.path} at offset {offset}: {len(raw.records)} records where the "
                f"total of {raw.total} says {expected} are there, every time; resume later",
                path=self.path,
                offset=offset,
                expected=expected,
                received=len(raw.records),
            )
        return raw

    def _fits(self, total: int) -> bool:
        """Whether a harvest of ``total`` may run (``on_insufficient_quota``, the quota)."""
        # The quota estimate counts the pages started beside the first one already.
        counted = 0 if self._speculation is None else self._speculation.below(total)
        return self._budget.fits(self._first_offset(), total, counted=counted)

    def _check_quota(self, first: FetchedPage) -> None:
        if first.total is None or self._fits(first.total):
            return
        self._budget.refuse(first)

    async def _sequential(self, first: FetchedPage) -> AsyncIterator[FetchedPage]:
        """Without a total: one page after the other until a short page."""
        raw = first
        while len(raw.records) >= self.page_size:
            raw = await self._fetch(raw.offset + self.page_size)
            yield raw

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

"""`PageScheduler`: which page of an offset/limit harvest to request next, and what came back.

The harvest reads a grid of pages up to the total. Each page after the first starts on
the last record of the page before (``base, base + size - 1, …``): when the two readings of
that record differ, records moved between the two reads (some were deleted or inserted
before it) even if the total did not change, and the pages are read again. Nothing is
planned ahead: the next offset is computed when it is asked for, so a total of 10¹² costs
no memory. In order of precedence the scheduler hands out:

1. pages that came back short (fewer records than the total says are there, or no list at
   all) to read again, at most ``max_short_rereads`` times each; then the page is
   `IncompletePageError`, never a silent loss;
2. the next page of the main pass, while it is below the latest reported total;
3. after the main pass, if the total changed on the way, every page read at another total
   than the final one, in rounds (at most ``max_rounds``), until a round agrees; if
   records moved at a page boundary, every page.

Every change of the total is reported as a `Drift`. The scheduler does no I/O: the stream
asks it for offsets and tells it what each response held.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Literal

import attrs

from esploro_async.errors import IncompletePageError

__all__ = ["Drift", "PageScheduler", "requests_after", "short_by", "stride_for"]

Outcome = Literal["main", "reread", "again"]


def stride_for(page_size: int, *, overlap: bool) -> int:
    """How far apart pages start: one record less than a page when they overlap."""
    return page_size - 1 if overlap and page_size > 1 else page_size


def requests_after(first_offset: int, total: int, page_size: int, stride: int) -> int:
    """Requests a harvest needs after its first page, with pages ``stride`` apart."""
    return math.ceil(max(0, total - first_offset - page_size) / stride)


def short_by(page_size: int, offset: int, count: int, total: int) -> bool:
    """Whether a page at ``offset`` with ``count`` records is short of what ``total`` says."""
    return count < min(page_size, total - offset)


@attrs.frozen
class Drift:
    """The data changed during a harvest.

    ``kind``: ``total_changed`` (a response reported another total), ``shifted`` (the record
    two neighbouring pages share was not the same: records moved between the two reads),
    ``reread`` (pages read again: ``pages``), ``unresolved`` (still changing after the
    last re-read round), ``resume_moved`` (the record before a checkpoint is no longer
    there).
    """

    kind: Literal["total_changed", "shifted", "reread", "unresolved", "resume_moved"]
    expected_total: int | None
    observed_total: int | None
    offset: int
    pages: int = 0


class PageScheduler:
    """The page grid of one harvest after its first page; see the module docstring.

    Args:
        path: the endpoint (for error messages).
        base: the first page's offset; the grid starts there.
        page_size: records per page.
        total: the total the first page reported.
        skip: offsets already done (pages handed out ahead of a checkpoint).
        report: called with every `Drift`.
        reread_on_drift: re-read pages read at another total (default), or only report.
        max_rounds: re-read rounds at most.
        max_short_rereads: times a short page is read again before it is an error.
        overlap: start each page on the last record of the page before (default), to
            notice records that moved between the two reads.
        first_edges: the ids of the first page's first and last records, and its size.
    """

    def __init__(
        self,
        *,
        path: str,
        base: int,
        page_size: int,
        total: int,
        skip: Iterable[int] = (),
        report: Callable[[Drift], object] = lambda drift: None,
        reread_on_drift: bool = True,
        max_rounds: int = 3,
        max_short_rereads: int = 2,
        overlap: bool = True,
        first_edges: tuple[str | None, str | None, int] = (None, None, 0),
    ) -> None:
        self.path = path
        self.base = base
        self.page_size = page_size
        self.expected: int = total
        self._skip = frozenset(skip)
        self._report = report
        self._reread_on_drift = reread_on_drift
        self._rounds_left = max_rounds
        self._max_short = max_short_rereads
        self.stride: int = stride_for(page_size, overlap=overlap)
        self._next = base + self.stride
        self._observed: dict[int, int] = {base: total}
        # per page: (first id, last id, records, round it was read in)
        self._edges: dict[int, tuple[str | None, str | None, int, int]] = {base: (*first_edges, 0)}
        self._generation = 0
        self._shifted = False
        self.unresolved: bool = False
        self._again: deque[int] = deque()
        self._round: deque[int] = deque()
        self._rereading: set[int] = set()
        self._short: Counter[int] = Counter()
        self._in_flight: set[int] = set()
        self._main_open: set[int] = set()  # main-pass pages requested, not yet good
        self._stopped = False

    @property
    def in_flight(self) -> int:
        """Pages requested and not answered yet."""
        return len(self._in_flight)

    @property
    def main_open(self) -> frozenset[int]:
        """Main-pass pages requested that have not come back whole yet."""
        return frozenset(self._main_open)

    def expects(self, offset: int) -> bool:
        """Whether ``offset`` was taken (or claimed) and its answer is awaited."""
        return offset in self._in_flight

    def stop(self) -> None:
        """Request nothing new (the daily quota stopped the harvest)."""
        self._stopped = True

    def take(self) -> int | None:
        """The next offset to request (now counted in flight), or ``None`` for none now."""
        offset = self._pick()
        if offset is not None:
            self._in_flight.add(offset)
        return offset

    def claim(self, offset: int) -> bool:
        """Count ``offset``, requested before the total was known, as the next page taken.

        True when it is the next page of the main pass (it is then in flight); False when
        it is not (past the total, say): its answer is to be ignored. Claim in grid order.
        """
        while self._next in self._skip:
            self._next += self.stride
        past = offset + self.page_size - self.stride >= self.expected
        if self._stopped or offset != self._next or past:
            return False
        self._next += self.stride
        self._main_open.add(offset)
        self._in_flight.add(offset)
        return True

    def finished(
        self,
        offset: int,
        count: int,
        total: int | None,
        edges: tuple[str | None, str | None] = (None, None),
    ) -> Outcome:
        """A page came back with ``count`` records and ``total``: what it is.

        ``edges`` are the ids of its first and last records (to check page boundaries).

        ``"main"``: a page of the main pass, whole. ``"reread"``: a page read again after
        drift. ``"again"``: it came back short and was queued to be read again. Raises
        `IncompletePageError` when a page stays short after every re-read.
        """
        self._in_flight.discard(offset)
        if self._is_short(offset, count, total):
            return self._read_again(offset, count, total)
        self._check_edges(offset, count, edges)
        if total is not None:
            self._observed[offset] = total
            if total != self.expected:
                self._report(Drift("total_changed", self.expected, total, offset))
                self.expected = total
        if offset in self._rereading:
            self._rereading.discard(offset)
            return "reread"
        self._main_open.discard(offset)
        return "main"

    def failed(self, offset: int) -> None:
        """A request failed: it is no longer in flight."""
        self._in_flight.discard(offset)

    # -- internals ---------------------------------------------------------------------------

    def _pick(self) -> int | None:
        if self._again:
            return self._again.popleft()
        if self._stopped:
            return None
        while self._next in self._skip:
            self._next += self.stride
        if self._next + self.page_size - self.stride < self.expected:
            offset, self._next = self._next, self._next + self.stride
            self._main_open.add(offset)
            return offset
        if not self._round:
            if not self._reread_on_drift or self._main_open or self._in_flight:
                return None  # a round is planned once the main pass (or last round) is done
            self._plan_round()
        if self._round:
            offset = self._round.popleft()
            self._rereading.add(offset)
            return offset
        return None

    def _check_edges(self, offset: int, count: int, edges: tuple[str | None, str | None]) -> None:
        """Compare the record this page shares with each neighbour read in the same round."""
        self._edges[offset] = (*edges, count, self._generation)
        if self.stride == self.page_size:
            return
        this = self._edges[offset]
        for earlier, later in (
            (self._edges.get(offset - self.stride), this),
            (this, self._edges.get(offset + self.stride)),
        ):
            if _moved(earlier, later, self.page_size):
                if not self._shifted:
                    self._report(Drift("shifted", None, self.expected, offset))
                self._shifted = True

    def _plan_round(self) -> None:
        final = self.expected
        stale = sorted(
            o
            for o, seen in self._observed.items()
            if (seen != final or self._shifted) and o < final
        )
        if not stale:
            return
        if self._rounds_left == 0:
            self._report(Drift("unresolved", None, final, self.base))
            self.unresolved = True
            self._observed = dict.fromkeys(self._observed, final)  # reported once
            self._shifted = False
            return
        self._rounds_left -= 1
        self._generation += 1
        self._shifted = False
        self._report(Drift("reread", None, final, stale[0], pages=len(stale)))
        self._round.extend(stale)

    def _is_short(self, offset: int, count: int, total: int | None) -> bool:
        return short_by(self.page_size, offset, count, self.expected if total is None else total)

    def _read_again(self, offset: int, count: int, total: int | None) -> Outcome:
        self._short[offset] += 1
        if self._short[offset] > self._max_short:
            reported = self.expected if total is None else total
            raise IncompletePageError(
                f"GET {self.path} at offset {offset}: {count} records where the total of "
                f"{reported} says {min(self.page_size, reported - offset)} are there, "
                f"{self._short[offset]} times in a row; nothing of this page was handed out. "
                "Resume from the stream's checkpoint later",
                path=self.path,
                offset=offset,
                expected=min(self.page_size, reported - offset),
                received=count,
            )
        self._again.append(offset)
        return "again"


def _moved(
    earlier: tuple[str | None, str | None, int, int] | None,
    later: tuple[str | None, str | None, int, int] | None,
    page_size: int,
) -> bool:
    """Whether the record two full neighbouring pages of one round share differs."""
    if earlier is None or later is None or earlier[3] != later[3] or earlier[2] < page_size:
        return False
    return earlier[1] is not None and later[0] is not None and earlier[1] != later[0]

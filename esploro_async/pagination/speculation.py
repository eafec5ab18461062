"""The pages a harvest starts while its first page is in flight, and the totals a client remembers.

A harvest learns its total from a response, one round trip after it starts; waiting for it
idles the rate for that round trip (at 0.2-0.8 s, 4 % of a 200-page harvest). So, while the
first page is in flight, `Speculation` starts the pages after it on the grid:

1. **Before any total is known**, at most ``limit`` pages at once (``speculate``, default 8),
   never past a total known from a checkpoint or remembered from an earlier listing of the
   same query (`ListingTotals`): a page past the end costs a request.
2. **Once a response told the total** (every page reports it, so the first of the pages in
   flight to come back tells it, usually well before the first page itself), the pages past
   it are cancelled at once: those still waiting for a permit cost nothing. The pages before
   it go on being started, as many in flight as the rate needs at the observed latency
   (``capacity``), while the harvest fits the daily quota (``fits``).

It ends when the first page is back (`Speculation.close`): the stream's `PageScheduler`
then claims the pages started, in grid order, and ignores the answers of those it does not
claim. What a listing smaller than the pages in flight costs is therefore the requests sent
before its first response: at most ``1 + limit``, fewer when a response comes back sooner,
and one request when the client remembers the listing's total.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from esploro_async._concurrency import Runner
    from esploro_async.pagination.fetched import FetchedPage

__all__ = ["ListingTotals", "Speculation"]

ListingKey = tuple[str, tuple[tuple[str, str], ...]]


class ListingTotals:
    """The total each listing (endpoint and query) of a client reported last; the latest N.

    A listing of the same query started later speculates no further than the total
    remembered (`Speculation`), so a small listing listed again costs one request.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._totals: OrderedDict[ListingKey, int] = OrderedDict()

    def get(self, key: ListingKey) -> int | None:
        """The total reported last for ``key``, if any."""
        return self._totals.get(key)

    def remember(self, key: ListingKey, total: int) -> None:
        """Keep ``total`` for ``key`` (forgetting the least recently reported beyond the size)."""
        self._totals[key] = total
        self._totals.move_to_end(key)
        while len(self._totals) > self._size:
            self._totals.popitem(last=False)


class Speculation:
    """The pages after the first one started while it is in flight; see the module docstring.

    Args:
        runner: what runs the page requests.
        base: the first page's offset.
        page_size: records per page.
        stride: how far apart pages start.
        skip: offsets not to request (pages handed out ahead of a checkpoint).
        limit: pages to start before any total is known.
        most: pages to start at most (none is handed out before the first page: they all
            wait in the buffer).
        known: a total known before any response (checkpoint, or remembered).
        room: pages that may still be started above the daily reserve now.
        capacity: pages beside the first one that may be in flight now.
        fits: whether a harvest of this total may run (the daily quota).
    """

    def __init__(
        self,
        runner: Runner[FetchedPage],
        *,
        base: int,
        page_size: int,
        stride: int,
        skip: Iterable[int] = (),
        limit: int,
        most: int,
        known: int | None,
        room: Callable[[], int],
        capacity: Callable[[], int],
        fits: Callable[[int], bool],
    ) -> None:
        self._runner = runner
        self._page_size = page_size
        self._stride = stride
        self._skip = frozenset(skip)
        self._room = room
        self._most = most
        self._capacity = capacity
        self._fits = fits
        self._next = base + stride
        self._started: set[int] = set()
        self._running: set[int] = set()
        self._open = True
        self.total: int | None = None
        for _ in range(min(limit, most, room())):
            offset = self._take(known)
            if offset is None:
                break
            self._start(offset)

    def below(self, total: int) -> int:
        """Pages started (sent, or on their way) that a harvest of ``total`` needs."""
        return sum(1 for offset in self._started if not self._past(offset, total))

    def answered(self, offset: int, total: int | None) -> None:
        """A page came back (the first one or another) reporting ``total`` (``None``: none, or
        its request failed)."""
        self._running.discard(offset)
        if not self._open or total is None:
            return
        if total != self.total:
            self.total = total
            self._cancel_past(total)
        self._top_up(total)

    def close(self) -> tuple[int, ...]:
        """The first page is back: start nothing more; the offsets started, in grid order."""
        self._open = False
        return tuple(sorted(self._started))

    def _past(self, offset: int, total: int) -> bool:
        """Whether the page at ``offset`` holds nothing a harvest of ``total`` needs."""
        return offset + self._page_size - self._stride >= total

    def _take(self, total: int | None) -> int | None:
        while self._next in self._skip or self._next in self._started:
            self._next += self._stride
        if total is not None and self._past(self._next, total):
            return None
        offset, self._next = self._next, self._next + self._stride
        return offset

    def _start(self, offset: int) -> None:
        self._started.add(offset)
        self._running.add(offset)
        self._runner.start(offset)

    def _cancel_past(self, total: int) -> None:
        """Cancel the pages in flight past ``total``; they may be started again if it grows."""
        past = sorted(o for o in self._running if self._past(o, total))
        for offset in past:
            self._runner.cancel(offset)
            self._running.discard(offset)
            self._started.discard(offset)
        if past:
            self._next = min(self._next, past[0])

    def _top_up(self, total: int) -> None:
        if not self._fits(total):
            return
        room = min(self._room(), self._most - len(self._started))
        while room > 0 and len(self._running) < self._capacity():
            room -= 1
            offset = self._take(total)
            if offset is None:
                return
            self._start(offset)

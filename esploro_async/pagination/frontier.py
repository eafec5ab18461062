"""`Frontier`: what a stream has handed out, and the checkpoint that follows from it.

A page is handed out in one of three ways, one method each:

- `in_order`: pages in source order. The checkpoint moves with every record.
- `out_of_order`: pages of the main pass as they complete. The checkpoint moves over a
  page once its last record is handed out, and only while the pages before it are all
  done; pages done beyond that gap are kept as ``ahead`` in the checkpoint, so that a
  resumed harvest skips them.
- `reread`: pages read again after the data changed. They never move the checkpoint.

Records already handed out (by record id) are dropped from every page, so no record is
handed out twice, whatever the pages overlap. The ids are remembered as 64-bit hashes
(`SeenIds`, 11 to 16 bytes each); within a page they are compared as strings, so two ids
of one page whose hashes collide are both kept. With ``remember_ids=N`` only the last N ids
are (`RecentIds`): the overlap of neighbouring pages is still dropped, in flat memory, but
a record read again further back (a re-read after drift) is handed out again.

A page is kept as the JSON objects of its records until it is handed out: the record
objects are built then (`Frontier.in_order` and the others), not while it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs

from esploro_async.models import Record
from esploro_async.pagination._seen import RecentIds, SeenIds, key_of

__all__ = ["Frontier", "Handout", "Page"]

RecordT = TypeVar("RecordT", bound=Record)


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
class Handout(Generic[RecordT]):
    """A page ready to hand out, and how handing out each record moves the checkpoint.

    ``marks[i]`` is the checkpoint ``(offset, last_id)`` once record ``i`` is handed out;
    ``completes`` is the page ``(offset, end, last_id)`` done once its last record is.
    """

    page: Page[RecordT]
    marks: tuple[tuple[int, str | None], ...] | None = None
    completes: tuple[int, int, str | None] | None = None


class Frontier(Generic[RecordT]):
    """De-duplication and the checkpoint of one stream; see the module docstring.

    Args:
        wrap: builds a record object from a JSON object.
        offset, last_id, delivered, total: where a resumed harvest starts.
        ahead: offsets of pages done beyond ``offset`` (from a checkpoint).
        page_size: records per page (to know where a page ``ahead`` ends).
        remember_ids: ids remembered to drop duplicates: all (``None``) or the last N.
    """

    def __init__(
        self,
        wrap: Callable[[dict[str, Any]], RecordT],
        *,
        page_size: int,
        offset: int = 0,
        last_id: str | None = None,
        delivered: int = 0,
        total: int | None = None,
        ahead: Iterable[int] = (),
        remember_ids: int | None = None,
    ) -> None:
        self._wrap = wrap
        self.page_size = page_size
        self.offset: int = offset
        self.last_id = last_id
        self.delivered: int = delivered
        self.total = total
        self.duplicates: int = 0
        first = () if last_id is None else (last_id,)
        self._seen: SeenIds | RecentIds = (
            SeenIds(first) if remember_ids is None else RecentIds(remember_ids, first)
        )
        self._done: dict[int, tuple[int, str | None]] = {
            start: (start + page_size, None) for start in ahead
        }
        # Positions handed out by a harvest before a checkpoint, beyond it (its pages ahead).
        self._handed_ahead = frozenset(self._done)
        # Pages taken in this run: in source order up to here, and the others by start.
        self._in_order_end = offset
        self._claimed: dict[int, int] = {}

    @property
    def ahead(self) -> tuple[int, ...]:
        """Offsets of pages handed out beyond the checkpoint's offset."""
        return tuple(sorted(self._done))

    def in_order(
        self, offset: int, items: list[dict[str, Any]], total: int | None
    ) -> Handout[RecordT]:
        """A page handed out in source order: the checkpoint moves with every record."""
        page, ids, kept = self._page(offset, items, total)
        end = offset + len(items)
        self._in_order_end = max(self._in_order_end, end)
        last_id = ids[-1] if ids else self.last_id
        if not kept:  # all handed out already: the frontier moves over them now
            self._advance(end, last_id)
            return Handout(page, marks=())
        marks = [(offset + i + 1, ids[i]) for i in kept]
        marks[-1] = (end, last_id)  # trailing duplicates are passed with the last record
        return Handout(page, marks=tuple(marks))

    def out_of_order(
        self, offset: int, items: list[dict[str, Any]], total: int | None
    ) -> Handout[RecordT]:
        """A main-pass page handed out as it completed."""
        page, ids, kept = self._page(offset, items, total)
        end = offset + len(items)
        self._claimed[offset] = end
        last_id = ids[-1] if ids else None
        if not kept:
            self._complete(offset, end, last_id)
            return Handout(page)
        return Handout(page, completes=(offset, end, last_id))

    def reread(
        self, offset: int, items: list[dict[str, Any]], total: int | None
    ) -> Handout[RecordT]:
        """A page read again after the data changed: only its new records, no checkpoint."""
        page, _, _ = self._page(offset, items, total)
        return Handout(page)

    def hand_out(self, handout: Handout[RecordT], index: int) -> None:
        """Record ``index`` of ``handout`` reaches the caller: count it, move the checkpoint."""
        self.delivered += 1
        if handout.marks is not None:
            self._advance(*handout.marks[index])
        elif index == len(handout.page.records) - 1 and handout.completes is not None:
            self._complete(*handout.completes)

    def _page(
        self, offset: int, items: list[dict[str, Any]], total: int | None
    ) -> tuple[Page[RecordT], list[str | None], list[int]]:
        records: list[RecordT] = []
        ids: list[str | None] = []
        kept: list[int] = []
        here: dict[int, str] = {}  # this page's ids by hash: a collision is not a duplicate
        before = self._ahead_positions(offset, len(items))
        edges = {0, len(items) - 1}
        for index, item in enumerate(items):
            record = self._wrap(item)
            key = record.record_id
            ids.append(key)
            if offset + index in before:
                continue
            if key is None:
                # Without an id only its position tells a record that neighbouring pages
                # share (they overlap by one) from a new one.
                if index in edges and self._taken(offset + index):
                    continue
            elif not self._first_time(key, here):
                continue
            records.append(record)
            kept.append(index)
        duplicates = len(items) - len(records)
        self.duplicates += duplicates
        if total is not None:
            self.total = total
        return Page(offset, tuple(records), total, duplicates), ids, kept

    def _first_time(self, key: str, here: dict[int, str]) -> bool:
        """Whether ``key`` was never handed out (and remember it)."""
        hashed = key_of(key)
        earlier = here.setdefault(hashed, key)
        if earlier != key:
            return True  # another id of this very page has the same hash
        return self._seen.add(key)

    @property
    def seen(self) -> SeenIds | RecentIds:
        """The ids handed out (as hashes)."""
        return self._seen

    def _taken(self, position: int) -> bool:
        """Whether a page taken in this run (or before the checkpoint) held ``position``."""
        if position < self._in_order_end:
            return True
        return any(start <= position < end for start, end in self._claimed.items())

    def _ahead_positions(self, offset: int, count: int) -> set[int]:
        """Positions in ``[offset, offset + count)`` that a page ahead of the checkpoint held."""
        size = self.page_size
        return {
            position
            for start in self._handed_ahead
            if start < offset + count and offset < start + size
            for position in range(max(start, offset), min(start + size, offset + count))
        }

    def _advance(self, offset: int, last_id: str | None) -> None:
        if offset >= self.offset:
            self.offset, self.last_id = offset, last_id
        self._absorb()

    def _complete(self, offset: int, end: int, last_id: str | None) -> None:
        self._done[offset] = (end, last_id)
        self._absorb()

    def _absorb(self) -> None:
        """Move the checkpoint over every done page that now reaches it.

        Pages may overlap the position before them by a record, so a page reaches the
        checkpoint when it starts at or before it.
        """
        while True:
            reached = [start for start in self._done if start <= self.offset]
            if not reached:
                return
            for start in reached:
                end, last_id = self._done.pop(start)
                if end > self.offset:
                    self.offset, self.last_id = end, last_id

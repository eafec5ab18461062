"""A page as the offset stream fetched it, before de-duplication, and shelving pages that wait."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

__all__ = ["KEEP_PARSED", "MAX_WAITING", "FetchedPage", "shelve", "waiting_room"]

KEEP_PARSED = 16
"""Waiting pages kept parsed; those beyond are shelved (see `shelve`)."""

WAITING_BYTES = 1 << 20
"""Response bytes of finished pages that may wait for an earlier one (see `waiting_room`)."""
MIN_WAITING = 16
MAX_WAITING = 64
"""The fewest and the most pages that may wait, whatever their size."""


@attrs.define
class FetchedPage:
    """A fetched page before de-duplication.

    A page that waits far behind an earlier one is *shelved*: its parsed records are
    dropped and parsed again from ``content`` when it is handed out (a page's JSON takes
    about four times the memory of its bytes).
    """

    offset: int
    records: list[dict[str, Any]]
    total: int | None
    latency: float
    content: bytes | None = attrs.field(default=None, repr=False)
    shelved: bool = False


def shelve(ready: dict[int, FetchedPage]) -> None:
    """Keep only the bytes of the waiting pages beyond the first `KEEP_PARSED` (see `FetchedPage`).

    Parsing a page again costs about a quarter of a millisecond: pages that will soon be
    handed out, and every page of a short queue, stay parsed.
    """
    if len(ready) <= KEEP_PARSED:
        return
    for offset in sorted(ready)[KEEP_PARSED:]:
        raw = ready[offset]
        if not raw.shelved and raw.content is not None:
            raw.records, raw.shelved = [], True


def waiting_room(sizes: Iterable[int]) -> int:
    """Finished pages that may wait beside those in flight: `WAITING_BYTES` of pages the size
    of the largest in ``sizes`` (the latest pages' response bytes), within the bounds."""
    largest = max(sizes, default=0)
    if not largest:
        return MIN_WAITING
    return max(MIN_WAITING, min(MAX_WAITING, WAITING_BYTES // largest))

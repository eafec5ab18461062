"""`SeenIds`: the record ids a stream has handed out, at 11 to 16 bytes each.

A harvest of a million records must remember a million ids to drop duplicates; a ``set``
of strings costs about 90 bytes per id. This keeps a 64-bit hash of each id in an
open-addressing table (``array('Q')``, linear probing, at most three quarters full, grown
by half when full), so the ids themselves are never kept.

Two different ids with the same 64-bit hash would make the second look handed out. For
n ids the chance that any two collide is about n² / 2⁶⁵: 3 × 10⁻⁸ for a million. Within
one page the stream compares the ids as strings (see `Frontier`), so a page never loses a
record to a collision within itself.
"""

from __future__ import annotations

import sys
from array import array
from collections import deque
from collections.abc import Iterable

__all__ = ["RecentIds", "SeenIds", "key_of"]

_MASK64 = (1 << 64) - 1
_EMPTY = 0
_INITIAL = 1 << 10


def key_of(record_id: str) -> int:
    """A non-zero 64-bit hash of ``record_id`` (stable within the process)."""
    return (hash(record_id) & _MASK64) or 1


class SeenIds:
    """A set of record ids that stores only their 64-bit hashes; see the module docstring."""

    __slots__ = ("_limit", "_size", "_table")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._table = array("Q", bytes(8 * _INITIAL))
        self._limit = _INITIAL * 3 // 4
        self._size = 0
        for record_id in ids:
            self.add(record_id)

    def __len__(self) -> int:
        return self._size

    def __contains__(self, record_id: object) -> bool:
        if not isinstance(record_id, str):
            return False
        key = key_of(record_id)
        return self._table[self._slot(key)] == key

    def _slot(self, key: int) -> int:
        """The slot holding ``key``, or the empty slot where it would go (linear probing)."""
        table = self._table
        size = len(table)
        slot = key % size
        while table[slot] != key and table[slot] != _EMPTY:
            slot = slot + 1 if slot + 1 < size else 0
        return slot

    def add(self, record_id: str) -> bool:
        """Remember ``record_id``; ``False`` if it was already there."""
        key = key_of(record_id)
        table = self._table
        slot = self._slot(key)
        if table[slot] == key:
            return False
        table[slot] = key
        self._size += 1
        if self._size >= self._limit:
            self._grow()
        return True

    @property
    def nbytes(self) -> int:
        """Bytes held by the table."""
        return self._table.itemsize * len(self._table)

    def _grow(self) -> None:
        old = self._table
        size = len(old) * 3 // 2
        self._table = table = array("Q", bytes(8 * size))
        self._limit = size * 3 // 4
        for key in old:
            if key != _EMPTY:
                slot = key % size
                while table[slot] != _EMPTY:
                    slot = slot + 1 if slot + 1 < size else 0
                table[slot] = key


class RecentIds:
    """The last ``limit`` record ids added, as 64-bit hashes: a bounded `SeenIds`.

    ``add`` answers as `SeenIds` does for any id among the last ``limit`` added; an id added
    before those is forgotten and counts as new again. Memory stays flat (about 100 bytes
    per remembered id) however many ids pass through.
    """

    __slots__ = ("_keys", "_limit", "_order")

    def __init__(self, limit: int, ids: Iterable[str] = ()) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self._limit = limit
        self._keys: set[int] = set()
        self._order: deque[int] = deque()
        for record_id in ids:
            self.add(record_id)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and key_of(record_id) in self._keys

    @property
    def nbytes(self) -> int:
        """Bytes held by the set, the queue and the hashes (about, as `sys.getsizeof` says)."""
        hashes = sum(sys.getsizeof(key) for key in self._order)
        return sys.getsizeof(self._keys) + sys.getsizeof(self._order) + hashes

    def add(self, record_id: str) -> bool:
        """Remember ``record_id`` (forgetting the oldest beyond the limit); ``False`` if known."""
        key = key_of(record_id)
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self._limit:
            self._keys.discard(self._order.popleft())
        return True

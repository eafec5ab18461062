"""`SeenIds`: the record ids a stream has handed out, at 11 to 14 bytes each.

A harvest of a million records must remember a million ids to drop duplicates; a ``set``
of strings costs about 90 bytes per id. This keeps a 64-bit hash of each id in
open-addressing tables (``array('Q')``, linear probing, at most three quarters full, grown
by a quarter when full; 64 of them, by the hash's low bits, so that growing copies a 64th
of the ids), so the ids themselves are never kept.

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
_SHARD_BITS = 6
_SHARDS = 1 << _SHARD_BITS
_SHARD_MASK = _SHARDS - 1
_INITIAL = 1 << 6  # slots per shard at first


def key_of(record_id: str) -> int:
    """A non-zero 64-bit hash of ``record_id`` (stable within the process)."""
    return (hash(record_id) & _MASK64) or 1


class SeenIds:
    """A set of record ids that stores only their 64-bit hashes; see the module docstring."""

    __slots__ = ("_limits", "_size", "_tables")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        # Shards by the hash's low bits, each grown on its own: growing copies one shard,
        # never the whole table (a million ids would hold old and new tables, 19 MB, at once).
        self._tables = [array("Q", bytes(8 * _INITIAL)) for _ in range(_SHARDS)]
        self._limits = [_INITIAL * 3 // 4] * _SHARDS
        self._size = 0
        for record_id in ids:
            self.add(record_id)

    def __len__(self) -> int:
        return self._size

    def __contains__(self, record_id: object) -> bool:
        if not isinstance(record_id, str):
            return False
        key = key_of(record_id)
        table = self._tables[key & _SHARD_MASK]
        return table[_slot(table, key)] == key

    def add(self, record_id: str) -> bool:
        """Remember ``record_id``; ``False`` if it was already there."""
        key = key_of(record_id)
        shard = key & _SHARD_MASK
        table = self._tables[shard]
        slot = _slot(table, key)
        if table[slot] == key:
            return False
        table[slot] = key
        self._size += 1
        self._limits[shard] -= 1
        if not self._limits[shard]:
            self._grow(shard)
        return True

    @property
    def nbytes(self) -> int:
        """Bytes held by the tables."""
        return sum(table.itemsize * len(table) for table in self._tables)

    def _grow(self, shard: int) -> None:
        old = self._tables[shard]
        size = len(old) * 5 // 4
        self._tables[shard] = table = array("Q", bytes(8 * size))
        used = 0
        for key in old:
            if key != _EMPTY:
                table[_slot(table, key)] = key
                used += 1
        self._limits[shard] = size * 3 // 4 - used


def _slot(table: array[int], key: int) -> int:
    """The slot holding ``key``, or the empty slot where it would go (linear probing)."""
    size = len(table)
    slot = (key >> _SHARD_BITS) % size
    while table[slot] != key and table[slot] != _EMPTY:
        slot = slot + 1 if slot + 1 < size else 0
    return slot


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

"""What every blocking area shares: the client's handle and the async area it wraps."""

from __future__ import annotations

from typing import Generic, TypeVar

from esploro_async.models import Record
from esploro_async.pagination import OffsetStream as AsyncOffsetStream
from esploro_async.resources import Resource
from esploro_async.sync._runner import Handle
from esploro_async.sync._streams import OffsetStream

__all__ = ["SyncResource"]

AreaT = TypeVar("AreaT", bound=Resource)
RecordT = TypeVar("RecordT", bound=Record)


class SyncResource(Generic[AreaT]):
    """One API area of a blocking client: each method runs its async twin in the loop."""

    def __init__(self, handle: Handle, area: AreaT) -> None:
        self._handle = handle
        self._area = area

    def _stream(self, stream: AsyncOffsetStream[RecordT]) -> OffsetStream[RecordT]:
        return OffsetStream(self._handle, stream)

"""Blocking versions of the streams: `OffsetStream` and `AnalyticsStream`.

Each wraps the async stream and pulls one item at a time from the client's loop, so the
checkpoint is exactly where it would be in async code, and leaving a ``for`` loop early
cancels the pages in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from esploro_async.models import Record
from esploro_async.pagination import AnalyticsStream as AsyncAnalyticsStream
from esploro_async.pagination import Checkpoint, Drift, HarvestEstimate, Page
from esploro_async.pagination import OffsetStream as AsyncOffsetStream
from esploro_async.sync._runner import Handle

__all__ = ["AnalyticsStream", "OffsetStream"]

RecordT = TypeVar("RecordT", bound=Record)


class OffsetStream(Generic[RecordT]):
    """Blocking version of `esploro_async.pagination.OffsetStream`; iterate it once:

    ```python
    stream = client.researchers.list()
    for researcher in stream:
        save(researcher)
        checkpoint = stream.checkpoint
    ```

    Consume it from one thread at a time.
    """

    def __init__(self, handle: Handle, stream: AsyncOffsetStream[RecordT]) -> None:
        self._handle = handle
        self.stream = stream
        """The async stream underneath (use it only in the client's loop)."""

    def __repr__(self) -> str:
        return f"<sync OffsetStream {self.stream.path}>"

    def __iter__(self) -> Iterator[RecordT]:
        return self._handle.iterate(self.stream)

    def pages(self) -> Iterator[Page[RecordT]]:
        """Blocking version of `esploro_async.pagination.OffsetStream.pages`."""
        return self._handle.iterate(self.stream.pages())

    def estimate(self) -> HarvestEstimate:
        """Blocking version of `esploro_async.pagination.OffsetStream.estimate`."""
        return self._handle.run(self.stream.estimate())

    def check_quota(self) -> HarvestEstimate:
        """Blocking version of `esploro_async.pagination.OffsetStream.check_quota`."""
        return self._handle.run(self.stream.check_quota())

    @property
    def checkpoint(self) -> Checkpoint:
        """The position after the last contiguous record handed out, and the query."""
        return self.stream.checkpoint

    @property
    def drifts(self) -> list[Drift]:
        """Every `Drift` seen so far."""
        return self.stream.drifts

    @property
    def duplicates(self) -> int:
        """Records dropped because they had been handed out already."""
        return self.stream.duplicates

    @property
    def path(self) -> str:
        """The endpoint."""
        return self.stream.path

    @property
    def page_size(self) -> int:
        """Records per request."""
        return self.stream.page_size


class AnalyticsStream:
    """Blocking version of `esploro_async.pagination.AnalyticsStream`; iterate it once:

    ```python
    for row in client.analytics.report("/shared/Inst/Reports/Researchers"):
        print(row["Researcher Name"])
    ```
    """

    def __init__(self, handle: Handle, stream: AsyncAnalyticsStream) -> None:
        self._handle = handle
        self.stream = stream
        """The async stream underneath (use it only in the client's loop)."""

    def __repr__(self) -> str:
        return f"<sync AnalyticsStream {self.stream.path}>"

    def __iter__(self) -> Iterator[dict[str, str | None]]:
        return self._handle.iterate(self.stream)

    @property
    def columns(self) -> dict[str, str] | None:
        """Heading by ``ColumnN``, known after the first page."""
        return self.stream.columns

    @property
    def pages_read(self) -> int:
        """Pages fetched so far."""
        return self.stream.pages_read

    @property
    def path(self) -> str:
        """The report's catalog path."""
        return self.stream.path

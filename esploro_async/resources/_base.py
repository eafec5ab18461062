"""What every API area shares: the client, and the options every list method takes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

from esploro_async.models import Record
from esploro_async.pagination import Checkpoint, Drift, OffsetStream

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient

__all__ = ["Resource", "StreamOptions"]

RecordT = TypeVar("RecordT", bound=Record)


class StreamOptions(TypedDict, total=False):
    """Options of every list method, passed on to `OffsetStream`."""

    page_size: int
    ordered: bool
    prefetch: int
    resume_from: Checkpoint
    on_insufficient_quota: Literal["refuse", "run"]
    reread_on_drift: bool
    on_drift: Callable[[Drift], object]


class Resource:
    """One API area of a client (``client.researchers``, ``client.assets``, …)."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def _stream(
        self,
        path: str,
        list_key: str,
        wrap: Callable[[dict[str, Any]], RecordT],
        params: Mapping[str, Any],
        options: StreamOptions,
    ) -> OffsetStream[RecordT]:
        return OffsetStream(
            self._client, path, list_key=list_key, params=params, wrap=wrap, **options
        )

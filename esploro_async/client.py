"""`EsploroClient`: the entry point.

The API areas, their models and the streams are imported when an area or method is first
used, as openai-python does: ``import esploro_async`` stays cheap, and a script that only
sends `EsploroClient.request` never loads them.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import Unpack

from esploro_async.governance.lanes import Lane
from esploro_async.session.base import BaseClient

if TYPE_CHECKING:
    from esploro_async.bulk import Bulk
    from esploro_async.models import Record
    from esploro_async.pagination import OffsetStream
    from esploro_async.resources import (
        Activities,
        Alma,
        Analytics,
        Assets,
        Configuration,
        Organizations,
        Researchers,
        StreamOptions,
    )

__all__ = ["EsploroClient"]

T = TypeVar("T")
R = TypeVar("R")


class EsploroClient(BaseClient):
    """Asyncio client for one Esploro institution, governed by the API's thresholds.

    Use it as an async context manager (or call `aclose`):

    ```python
    async with EsploroClient(region="eu") as client:      # key from $ESPLORO_API_KEY
        response = await client.request("GET", "researchers", params={"limit": 10})
    ```

    Args:
        api_key: the Developer Network key; default ``$ESPLORO_API_KEY``. It is sent
            only in the ``Authorization: apikey ...`` header and never logged or shown.
        **options: optional keywords, each with its default: see `ClientOptions`
            (``region``, ``base_url``, ``institution``, ``daily_reserve``, ``timeout``, …).
            An unknown keyword raises `TypeError`.

    Clients opened in one process for the same institution (or, unnamed, the same
    gateway and key) share one governance, so a second client cannot double the rate.
    """

    @functools.cached_property
    def researchers(self) -> Researchers:
        """Researchers: list, get, create, update, edit, delete, ORCID tokens, test."""
        from esploro_async.resources.researchers import Researchers

        return Researchers(self)

    @functools.cached_property
    def assets(self) -> Assets:
        """Research assets: get, get_many by ids, list by date or DOI, create, patch, test."""
        from esploro_async.resources.assets import Assets

        return Assets(self)

    @functools.cached_property
    def organizations(self) -> Organizations:
        """Internal research organizations: list, get, test."""
        from esploro_async.resources.organizations import Organizations

        return Organizations(self)

    @functools.cached_property
    def activities(self) -> Activities:
        """Research activities: create (the API has no read)."""
        from esploro_async.resources.activities import Activities

        return Activities(self)

    @functools.cached_property
    def config(self) -> Configuration:
        """Configuration (``researchconf``): sets and members, code tables, import profiles,
        jobs and job instances; plus the mapping tables of ``/esploro/v1/conf``."""
        from esploro_async.resources.researchconf import Configuration

        return Configuration(self)

    @functools.cached_property
    def alma(self) -> Alma:
        """The Alma areas Esploro integrations use with the same key: ``users``,
        ``analytics`` (Alma Analytics) and ``code_table``; Alma's sets and jobs are
        ``config``."""
        from esploro_async.resources.alma import Alma

        return Alma(self)

    @functools.cached_property
    def analytics(self) -> Analytics:
        """Esploro Analytics: reports, the catalog of paths, test."""
        from esploro_async.resources.analytics import Analytics

        return Analytics(self)

    def paginate(
        self,
        path: str,
        *,
        list_key: str,
        params: Mapping[str, Any] | None = None,
        wrap: Callable[[dict[str, Any]], Record] | None = None,
        max_page_size: int = 100,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Record]:
        """Stream any offset/limit endpoint: records come out as `Record` objects.

        ``list_key`` is the envelope key of the records; the total may be reported as
        ``total_record_count`` or ``totalRecordCount``. Records are de-duplicated by
        ``record.record_id`` (the ``id`` key with the default ``wrap``, `Record.adopt`; pass
        another ``wrap`` to use another key):

        ```python
        async for member in client.paginate(
            "researchconf/sets/123/members", list_key="member"
        ):
            print(member.to_dict())
        ```
        """
        from esploro_async.models import Record
        from esploro_async.pagination import OffsetStream

        return OffsetStream(
            self,
            path,
            list_key=list_key,
            params=params,
            wrap=wrap or Record.adopt,
            max_page_size=max_page_size,
            **options,
        )

    def bulk(
        self,
        items: Iterable[T] | AsyncIterable[T],
        operation: Callable[[T], Awaitable[R]],
        *,
        concurrency: int = 8,
        lane: Lane | None = None,
    ) -> Bulk[T, R]:
        """Apply ``operation`` to every item concurrently; yield one `BulkResult` per item.

        Governance paces every request the operations send; failures are results, so one
        bad item never stops the others. At the daily quota it stops, yields the results of
        the items in flight and raises `DailyQuotaExhaustedError` (see `esploro_async.bulk`).
        The operations' requests go in ``lane`` (default: the surrounding `use_lane` block,
        else ``"batch"``):

        ```python
        async def retitle(change: dict[str, str]) -> None:
            async with client.researchers.edit(change["id"]) as researcher:
                researcher["display_title"] = change["title"]

        async for result in client.bulk(changes, retitle, concurrency=8):
            print(result.index, "ok" if result.ok else result.error)
        ```
        """
        from esploro_async.bulk import bulk

        return bulk(items, operation, concurrency=concurrency, lane=lane)

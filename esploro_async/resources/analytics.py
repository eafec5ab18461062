"""``client.analytics``: ``/esploro/v1/researchanalytics`` (Esploro Analytics reports)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import AnalyticsPath
from esploro_async.pagination import AnalyticsStream
from esploro_async.resources._base import ApiTestResult, Resource
from esploro_async.session import quote_segment

__all__ = ["Analytics"]


class Analytics(Resource):
    """Analytics reports, paged by resumption token, and the catalog of paths."""

    path = "/esploro/v1/researchanalytics"

    def report(
        self,
        path: str,
        *,
        limit: int = 1000,
        filter: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> AnalyticsStream:
        """The rows of the report at ``path`` as dicts keyed by column heading::

        async for row in client.analytics.report("/shared/Inst/Reports/Researchers"):
            print(row["Researcher Name"])
        """
        return AnalyticsStream(self._client, path, limit=limit, filter=filter, params=params)

    async def paths(
        self, path: str | None = None, *, params: Mapping[str, Any] | None = None
    ) -> list[AnalyticsPath]:
        """The folders and reports directly under ``path`` (the catalog root by default)::

            for entry in await client.analytics.paths("/shared/Inst/Reports"):
                print(entry.path, "folder" if entry.is_folder else "report")

        `NotFoundError` if the path is unknown.
        """
        url = f"{self.path}/paths"
        segments = [s for s in (path or "").split("/") if s]
        if segments:
            url += "/" + "/".join(quote_segment(s) for s in segments)
        data = await self._get_object(url, params)
        items = data.get("path") or []
        if isinstance(items, dict):
            items = [items]
        return [AnalyticsPath.adopt(p) for p in items if isinstance(p, dict)]

    async def test(self, *, write: bool = False) -> ApiTestResult:
        """Check the key's read (``GET``) permission on analytics (``write=True``: ``POST``)."""
        return await self._area_test(f"{self.path}/test", write=write)

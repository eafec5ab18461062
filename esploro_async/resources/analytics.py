"""``client.analytics``: ``/esploro/v1/researchanalytics`` (Esploro Analytics reports)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.pagination import AnalyticsStream
from esploro_async.resources._base import Resource

__all__ = ["Analytics"]


class Analytics(Resource):
    """Analytics reports, paged by resumption token."""

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

"""Blocking ``client.analytics`` (see `esploro_async.resources.analytics`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import AnalyticsPath
from esploro_async.resources import Analytics, ApiTestResult
from esploro_async.sync._base import SyncResource
from esploro_async.sync._streams import AnalyticsStream

__all__ = ["SyncAnalytics"]


class SyncAnalytics(SyncResource[Analytics]):
    """Blocking version of `esploro_async.resources.Analytics`."""

    def report(
        self,
        path: str,
        *,
        limit: int = 1000,
        filter: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> AnalyticsStream:
        """Blocking version of `esploro_async.resources.Analytics.report`."""
        stream = self._area.report(path, limit=limit, filter=filter, params=params)
        return AnalyticsStream(self._handle, stream)

    def paths(
        self, path: str | None = None, *, params: Mapping[str, Any] | None = None
    ) -> list[AnalyticsPath]:
        """Blocking version of `esploro_async.resources.Analytics.paths`."""
        return self._handle.run(self._area.paths(path, params=params))

    def test(self, *, write: bool = False) -> ApiTestResult:
        """Blocking version of `esploro_async.resources.Analytics.test`."""
        return self._handle.run(self._area.test(write=write))

"""``client.analytics``: ``/esploro/v1/researchanalytics`` (Esploro Analytics reports)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.errors import InvalidIdentifierError
from esploro_async.models import AnalyticsPath
from esploro_async.models._json import object_list
from esploro_async.pagination import AnalyticsStream
from esploro_async.resources._base import ApiTestResult, Resource, Timeout
from esploro_async.resources._paths import has_dot_segment, segment

__all__ = ["Analytics"]


def _catalog_path(path: str) -> str:
    """A catalog path checked for ``..``/``.`` segments (also percent-encoded)."""
    if not isinstance(path, str) or not path.strip("/ "):
        raise InvalidIdentifierError(f"an analytics catalog path is required, got {path!r}")
    if has_dot_segment(path):
        raise InvalidIdentifierError(f"refusing analytics path {path!r}: it has a '.'/'..' segment")
    return path


class Analytics(Resource):
    """Analytics reports, paged by resumption token, and the catalog of paths."""

    path = "/esploro/v1/researchanalytics"
    reports_path = "researchanalytics/reports"
    """Where `report` reads (relative to ``/esploro/v1``, or absolute)."""

    def report(
        self,
        path: str,
        *,
        limit: int = 1000,
        filter: str | None = None,
        params: Mapping[str, Any] | None = None,
        max_empty_pages: int = 10,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> AnalyticsStream:
        """The rows of the report at ``path`` as dicts keyed by column heading:

        ```python
        async for row in client.analytics.report("/shared/Inst/Reports/Researchers"):
            print(row["Researcher Name"])
        ```

        The reports API may answer ``IsFinished=false`` with no rows while the query runs:
        the stream follows the resumption token, waiting a little longer each time, up to
        ``max_empty_pages`` empty pages in a row, then raises `ReportNotFinishedError`.
        """
        return AnalyticsStream(
            self._client,
            _catalog_path(path),
            limit=limit,
            filter=filter,
            params=params,
            max_empty_pages=max_empty_pages,
            extra_headers=extra_headers,
            timeout=timeout,
            endpoint=self.reports_path,
        )

    async def paths(
        self,
        path: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[AnalyticsPath]:
        """The folders and reports directly under ``path`` (the catalog root by default):

        ```python
        for entry in await client.analytics.paths("/shared/Inst/Reports"):
            print(entry.path, "folder" if entry.is_folder else "report")
        ```

        `NotFoundError` if the path is unknown; `InvalidIdentifierError` (before sending)
        if it has a ``..`` or ``.`` segment.
        """
        url = f"{self.path}/paths"
        if path is not None and path.strip("/"):
            parts = [s for s in _catalog_path(path).split("/") if s]
            url += "/" + "/".join(segment(s, "analytics path part") for s in parts)
        data = await self._get_object(url, params, extra_headers=extra_headers, timeout=timeout)
        return [AnalyticsPath.adopt(p) for p in object_list(data.get("path"))]

    async def test(
        self,
        *,
        write: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ApiTestResult:
        """Check the key's read (``GET``) permission on analytics (``write=True``: ``POST``)."""
        return await self._area_test(
            f"{self.path}/test", write=write, extra_headers=extra_headers, timeout=timeout
        )

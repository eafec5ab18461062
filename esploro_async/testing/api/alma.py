"""The Alma areas Esploro integrations reach with the same key."""

from __future__ import annotations

from esploro_async.testing.api._base import ApiError, ApiRequest, ApiResponse
from esploro_async.testing.api.analytics import AnalyticsApi
from esploro_async.testing.api.conf import ConfApi
from esploro_async.testing.api.researchers import ResearchersApi


class AlmaApi(ConfApi, ResearchersApi, AnalyticsApi):
    """``/almaws/v1``: ``conf``, ``users/{id}`` and ``analytics``."""

    def _alma(self, req: ApiRequest, area: str, rest: tuple[str, ...]) -> ApiResponse:
        """Alma areas Esploro integrations use with the same key: ``conf`` (sets, jobs,
        code tables), ``users/{id}`` (the researchers are Alma users) and ``analytics``."""
        if area == "conf":
            return self._conf(req, rest, alma=True)
        if rest == ("test",) and area in ("users", "analytics"):
            return self._test(req)
        if area == "users" and len(rest) == 1 and req.method == "GET":
            return self._researcher(req, rest[0])
        if area == "analytics":
            return self._analytics(req, rest)
        raise ApiError(404, "402893", f"No such resource: {req.path}")

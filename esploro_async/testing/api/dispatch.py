"""The simulated API: one entry point that routes a request to its area."""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable

from esploro_async._clock import current_time
from esploro_async.testing.analytics import AnalyticsSession
from esploro_async.testing.api._base import ApiError, ApiRequest, ApiResponse
from esploro_async.testing.api.activities import ActivitiesApi
from esploro_async.testing.api.alma import AlmaApi
from esploro_async.testing.api.analytics import REPORT_PATHS
from esploro_async.testing.api.assets import AssetsApi
from esploro_async.testing.api.organizations import OrganizationsApi
from esploro_async.testing.institution import SyntheticInstitution


class EsploroApi(AlmaApi, AssetsApi, OrganizationsApi, ActivitiesApi):
    """Dispatches requests to handlers over a :class:`SyntheticInstitution`."""

    def __init__(
        self,
        institution: SyntheticInstitution,
        *,
        tracking_id: Callable[[], str],
        today: Callable[[], _dt.date],
        seed: int = 0,
        clock: Callable[[], float] = current_time,
        wall_clock: Callable[[float], _dt.datetime] | None = None,
    ) -> None:
        self.inst = institution
        self._tracking_id = tracking_id
        self._today = today
        self._clock = clock
        self._wall_clock = wall_clock or (lambda t: _dt.datetime.now(_dt.timezone.utc))
        self._rng = random.Random(f"{seed}:api")
        self._sessions: dict[str, AnalyticsSession] = {}
        self._date_cache: dict[tuple[int, int], list[str]] = {}
        institution.researchers.today = lambda: today().toordinal()
        institution.assets.today = lambda: today().toordinal()

    # -- entry ------------------------------------------------------------------------
    def handle(
        self, req: ApiRequest, *, report_not_ready: bool = False, report_loading: bool = False
    ) -> ApiResponse:  # the flags: the REPORT_NOT_READY and REPORT_LOADING faults
        """Answer one request (never raises for client errors).

        ``report_not_ready`` (the ``REPORT_NOT_READY`` fault): an analytics report request
        is answered as if its query still ran (``IsFinished=false``, ``<ResultXml/>``, the
        token on a first request), and the report does not advance. ``report_loading``
        (the ``REPORT_LOADING`` fault): the same without any token, and a first request
        starts nothing.
        """
        try:
            if report_not_ready and req.segments[2:] in REPORT_PATHS:
                return self._report_not_ready(req, with_token=not report_loading)
            return self._route(req)
        except ApiError as e:
            return self.error(req, e.status, e.code, e.message)

    def _route(self, req: ApiRequest) -> ApiResponse:
        seg = req.segments
        if len(seg) < 3 or seg[1] != "v1" or seg[0] not in ("esploro", "almaws"):
            raise ApiError(404, "402893", f"No such resource: {req.path}")
        area, rest = seg[2], seg[3:]
        if seg[0] == "almaws":
            return self._alma(req, area, rest)
        if rest == ("test",) and area in (
            "researchers",
            "assets",
            "researchconf",
            "researchanalytics",
            "organizations",
        ):
            return self._test(req)
        handler = {
            "researchers": self._researchers,
            "assets": self._assets,
            "organizations": self._organizations,
            "activities": self._activities,
            "researchconf": lambda r, s: self._conf(r, s, alma=False),
            "conf": self._esploro_conf,
            "researchanalytics": self._analytics,
        }.get(area)
        if handler is None:
            raise ApiError(404, "402893", f"No such resource: {req.path}")
        return handler(req, rest)

"""Analytics reports (``/esploro/v1/researchanalytics``, ``/almaws/v1/analytics``)."""

from __future__ import annotations

from esploro_async.testing.analytics import AnalyticsSession, render_not_ready, render_page
from esploro_async.testing.api._base import (
    XML_CT,
    ApiArea,
    ApiError,
    ApiRequest,
    ApiResponse,
    json_response,
)

REPORT_PATHS = (("researchanalytics", "reports"), ("analytics", "reports"))


class AnalyticsApi(ApiArea):
    """The catalog of report paths and the paged reports (always XML)."""

    def _analytics(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if req.method != "GET":
            raise self._not_allowed(req)
        if rest == ("reports",):
            return self._report(req)
        if rest and rest[0] == "paths":
            return self._catalog(rest[1:])
        raise ApiError(404, "402893", f"No such resource: {req.path}")

    def _catalog(self, folders: tuple[str, ...]) -> ApiResponse:
        """The reports and folders directly under ``/folders...``."""
        prefix = "/" + "/".join(folders) if folders else ""
        prefix = prefix.rstrip("/")
        children: dict[str, str] = {}
        for path in self.inst.reports:
            if prefix and not path.startswith(prefix + "/"):
                continue
            tail = path[len(prefix) + 1 :].split("/")
            child = f"{prefix}/{tail[0]}"
            children[child] = "Report" if len(tail) == 1 else "Folder"
        if not children:
            raise ApiError(400, "402885", f"Analytics path {prefix or '/'} was not found.")
        return json_response(
            {
                "path": [
                    {"value": p, "name": p.rsplit("/", 1)[-1], "type": {"value": t}}
                    for p, t in sorted(children.items())
                ],
                "total_record_count": len(children),
            }
        )

    def _report(self, req: ApiRequest) -> ApiResponse:
        raw_limit = req.query.get("limit")
        limit: int | None = None
        if raw_limit:
            try:
                limit = int(raw_limit)
            except ValueError:
                raise ApiError(
                    400, "40166411", f"Invalid value for parameter limit: {raw_limit}"
                ) from None
            if limit > 1000 or limit < 1:
                raise ApiError(400, "40166411", "Parameter limit must be between 25 and 1000")
            limit = max(limit, 25)
        token = req.query.get("token")
        if token:
            return self._report_next(token, limit)
        path = req.query.get("path")
        if not path:
            raise ApiError(400, "40166410", "Mandatory parameter missing: path")
        report = self.inst.reports.get(path)
        if report is None:
            # the real answer (scriptotek/php-alma-client report_not_found_response.xml)
            raise ApiError(500, "INTERNAL_SERVER_ERROR", f"Path not found ({path})")
        lim = report.page_rows(limit or 25)
        token = self._new_token()
        session = AnalyticsSession(report, limit or 25, min(report.row_count, lim))
        self._sessions[token] = session
        body, session.done = render_page(report, 0, lim, token=token, first=True)
        return ApiResponse(200, body, XML_CT)

    def _report_next(self, token: str, limit: int | None) -> ApiResponse:
        """The next page of the report behind ``token``."""
        session = self._sessions.get(token)
        if session is None:
            raise ApiError(400, "402892", f"Invalid resumption token: {token}")
        if session.done:
            raise ApiError(400, "420033", "No more rows to fetch")
        lim = session.report.page_rows(limit or session.limit)
        first = not session.schema_sent
        body, session.done = render_page(
            session.report, session.offset, lim, token=None, first=first
        )
        session.schema_sent = True
        session.offset = min(session.report.row_count, session.offset + lim)
        return ApiResponse(200, body, XML_CT)

    def _new_token(self) -> str:
        return "".join(self._rng.choice("0123456789ABCDEF") for _ in range(48))

    def _report_not_ready(self, req: ApiRequest, *, with_token: bool = True) -> ApiResponse:
        if req.method != "GET":
            raise self._not_allowed(req)
        token = req.query.get("token")
        if token:
            if token not in self._sessions:
                raise ApiError(400, "402892", f"Invalid resumption token: {token}")
            return ApiResponse(200, render_not_ready(None), XML_CT)
        path = req.query.get("path")
        report = self.inst.reports.get(path or "")
        if report is None:
            return self._report(req)  # the same errors as a ready report
        if not with_token:
            return ApiResponse(200, render_not_ready(None), XML_CT)
        limit = max(25, min(1000, int(req.query.get("limit") or 25)))
        token = self._new_token()
        self._sessions[token] = AnalyticsSession(report, limit, 0, schema_sent=False)
        return ApiResponse(200, render_not_ready(token), XML_CT)

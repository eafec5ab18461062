"""``/esploro/v1/researchers`` (and the Alma users they are)."""

from __future__ import annotations

import re

from esploro_async.testing import _generate as gen
from esploro_async.testing.api._base import (
    JSON_CT,
    ApiArea,
    ApiError,
    ApiRequest,
    ApiResponse,
    json_response,
)

_ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


class ResearchersApi(ApiArea):
    """Researchers: list, create, read, update, delete, ORCID tokens."""

    def _researchers(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if not rest:
            return self._researchers_root(req)
        rid = rest[0]
        if len(rest) == 2 and rest[1] == "token":
            return self._orcid_token(req, rid)
        if len(rest) != 1:
            raise ApiError(404, "402893", f"No such resource: {req.path}")
        return self._researcher(req, rid)

    def _researchers_root(self, req: ApiRequest) -> ApiResponse:
        store = self.inst.researchers
        if req.method == "GET":
            limit, offset = self._paging(req)
            link_base = f"{req.base_url}/esploro/v1/researchers"
            items = [
                gen.researcher_brief(rec, f"{link_base}/{rid}")
                for rid, rec in store.iter_page(offset, limit)
            ]
            return self._page_json(items, "user", len(store), "total_record_count")
        if req.method == "POST":
            body = self._json_object(req)
            pid = body.get("primary_id")
            if not isinstance(pid, str) or not pid:
                raise ApiError(400, "402119", "General error: primary_id is mandatory")
            if pid in store:
                raise ApiError(400, "401858", f"User with identifier {pid} already exists.")
            store.insert(None, body)
            return json_response(body)
        raise self._not_allowed(req)

    def _orcid_token(self, req: ApiRequest, orcid: str) -> ApiResponse:
        if req.method != "POST":
            raise self._not_allowed(req)
        if not _ORCID_RE.match(orcid):
            raise ApiError(400, "40166411", f"Invalid ORCID identifier: {orcid}")
        body = self._json_object(req)
        if "access.token" not in body:
            raise ApiError(400, "402119", "General error: access.token is mandatory")
        return json_response(body)

    def _researcher(self, req: ApiRequest, rid: str) -> ApiResponse:
        store = self.inst.researchers
        unknown = ApiError(400, "401861", f"User with identifier {rid} was not found.")
        if req.method == "GET":
            rec = store.ref(rid)
            if rec is None:
                raise unknown
            view = req.query.get("view", "full")
            if view not in ("full", "brief"):
                raise ApiError(400, "40166411", f"Invalid value for parameter view: {view}")
            if view == "brief":
                link = f"{req.base_url}/esploro/v1/researchers/{rid}"
                return json_response(gen.researcher_brief(rec, link))
            return json_response(rec)
        if req.method == "PUT":
            if req.body_is_xml:
                raise ApiError(400, "402119", "General error: the simulator accepts JSON only here")
            body = self._json_object(req)
            if rid not in store:
                raise unknown
            store.put(rid, body)
            return json_response(body)
        if req.method == "DELETE":
            if not store.delete(rid):
                raise unknown
            return ApiResponse(204, b"", JSON_CT)
        raise self._not_allowed(req)

"""``/esploro/v1/assets``: search by DOI or date, read by ids, create, patch."""

from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

from esploro_async.testing import _generate as gen
from esploro_async.testing import _xml
from esploro_async.testing.api._base import (
    XML_CT,
    ApiArea,
    ApiError,
    ApiRequest,
    ApiResponse,
)


class AssetsApi(ApiArea):
    """Research assets (JSON, or XML on request)."""

    def _records_response(self, req: ApiRequest, records: list[Any], total: int) -> ApiResponse:
        if req.wants_xml:
            return ApiResponse(200, _xml.records_to_xml(records, total), XML_CT)
        return self._page_json(records, "records", total, "totalRecordCount")

    def _assets(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if not rest:
            if req.method == "GET":
                return self._asset_search(req)
            if req.method == "POST":
                return self._asset_create(req)
            raise self._not_allowed(req)
        if len(rest) != 1:
            raise ApiError(404, "402893", f"No such resource: {req.path}")
        if req.method == "GET":
            return self._assets_by_ids(req, rest[0])
        if req.method == "POST":
            return self._asset_patch(req, rest[0])
        raise self._not_allowed(req)

    def _assets_by_ids(self, req: ApiRequest, listed: str) -> ApiResponse:
        ids = [i.strip() for i in listed.split(",") if i.strip()]
        if len(ids) == 1 and not ids[0].isdigit():
            raise ApiError(400, "402204", f"Input parameter assetId {ids[0]} is not numeric.")
        limit, offset = self._paging(req)
        found = [rec for rec in (self.inst.assets.ref(i) for i in ids) if rec is not None]
        if not found:
            raise ApiError(400, "402880", f"No asset found for id(s): {listed}")
        return self._records_response(req, found[offset : offset + limit], len(found))

    def _asset_search(self, req: ApiRequest) -> ApiResponse:
        limit, offset = self._paging(req)
        store = self.inst.assets
        doi = req.query.get("doi")
        since = req.query.get("update_date_from")
        if doi:
            ids = self._ids_by_doi(doi)
        elif since:
            ids = self._ids_updated_since(since)
        else:
            raise ApiError(400, "40166410", "Mandatory parameter missing: doi or update_date_from")
        page = [store.ref(i) for i in ids[offset : offset + limit]]
        return self._records_response(req, [r for r in page if r is not None], len(ids))

    def _ids_by_doi(self, doi: str) -> list[str]:
        """The assets with one of the comma-separated DOIs, generated ones first."""
        store = self.inst.assets
        wanted = [d.strip().lower() for d in doi.split(",") if d.strip()]
        ids: list[str] = []
        for d in wanted:
            n = gen.parse_asset_doi(d)
            if n is not None:
                aid = gen.asset_id(n)
                rec = store.ref(aid)
                if rec is not None and str(rec.get("identifier.doi", "")).lower() == d:
                    ids.append(aid)
            for aid, rec in store.overlay_items():
                if str(rec.get("identifier.doi", "")).lower() == d and aid not in ids:
                    ids.append(aid)
        return ids

    def _ids_updated_since(self, since: str) -> list[str]:
        """The assets updated on or after the day ``since`` (a few answers cached)."""
        store = self.inst.assets
        try:
            day = _dt.date.fromisoformat(since.replace("Z", "")[:10])
        except ValueError:
            raise ApiError(
                400, "40166411", f"Invalid value for parameter update_date_from: {since}"
            ) from None
        key = (day.toordinal(), store.version)
        cached = self._date_cache.get(key)
        if cached is None:
            seed = self.inst.seed
            cached = store.keys_updated_since(key[0], lambda n: gen.asset_update_ordinal(seed, n))
            if len(self._date_cache) > 8:
                self._date_cache.clear()
            self._date_cache[key] = cached
        return cached

    def _body_records(self, req: ApiRequest) -> list[dict[str, Any]]:
        if req.body_is_xml:
            try:
                return _xml.parse_records_xml(req.body)
            except ValueError as exc:
                raise ApiError(400, "402119", f"General error: {exc}") from None
        body = self._json_object(req)
        records = body.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "402119", 'General error: expected {"records": [...]}')
        return records

    def _asset_create(self, req: ApiRequest) -> ApiResponse:
        records = self._body_records(req)
        if not records:
            raise ApiError(400, "402119", "General error: no records in the request")
        store = self.inst.assets
        for rec in records:
            repo = rec.get("originalRepository")
            aid = repo.get("assetId") if isinstance(repo, dict) else None
            if aid and aid in store:
                raise ApiError(400, "402884", f"Asset {aid} already exists.")
        for rec in records:
            store.insert(None, rec)
        return self._records_response(req, records, len(records))

    def _asset_patch(self, req: ApiRequest, aid: str) -> ApiResponse:
        if "," in aid:
            raise ApiError(400, "40166411", "Only one asset can be updated per request")
        op = req.query.get("op", "patch")
        if op != "patch":
            raise ApiError(400, "40166411", f"Invalid value for parameter op: {op}")
        action = req.query.get("action")
        if action not in ("add", "replace"):
            raise ApiError(400, "40166411", f"Invalid value for parameter action: {action}")
        store = self.inst.assets
        current = store.ref(aid)
        if current is None:
            raise ApiError(400, "402880", f"No asset found for id(s): {aid}")
        records = self._body_records(req)
        if len(records) != 1:
            raise ApiError(400, "402119", "General error: exactly one record is expected")
        patch = records[0]
        _check_patch_format(patch, xml=req.body_is_xml)
        updated = copy.deepcopy(current)
        for key, value in patch.items():
            if key == "originalRepository":
                continue
            updated[key] = _merge(updated.get(key), value, action)
        store.put(aid, updated)
        return self._records_response(req, [updated], 1)


def _links_to_extract(record: dict[str, Any]) -> list[Any]:
    temporary = record.get("temporary")
    links = record.get("temporary.linksToExtract")
    if links is None and isinstance(temporary, dict):
        links = temporary.get("linksToExtract")
    return links if isinstance(links, list) else ([links] if links else [])


def _check_patch_format(patch: dict[str, Any], *, xml: bool) -> None:
    """Identifiers change in XML only; links to extract are taken in JSON only."""
    if xml:
        tmp = patch.get("temporary")
        if "temporary.linksToExtract" in patch or (
            isinstance(tmp, dict) and "linksToExtract" in tmp
        ):
            raise ApiError(400, "402883", "temporary.linksToExtract is supported in JSON only")
        return
    bad = [k for k in patch if k.startswith("identifier.")]
    if bad:
        raise ApiError(400, "402882", f"Identifiers can be updated with XML only: {', '.join(bad)}")


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _merge(current: Any, new: Any, action: str) -> Any:
    """Patch semantics: ``add`` fills empty simple fields and appends to lists;
    ``replace`` overwrites simple fields and swaps lists."""
    if action == "replace":
        if isinstance(current, list) and not isinstance(new, list):
            return [new]
        return new
    if isinstance(current, list):
        return current + (new if isinstance(new, list) else [new])
    if isinstance(current, dict) and isinstance(new, dict) and current:
        merged = dict(current)
        for k, v in new.items():
            merged[k] = _merge(current.get(k), v, "add")
        return merged
    return new if _is_empty(current) else current

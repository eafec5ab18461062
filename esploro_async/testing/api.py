"""The simulated Esploro REST API behind the gateway (reference §2-§6).

:class:`EsploroApi` maps an already-authorised request to a response.  Formats: JSON by
default; XML when ``Accept`` asks for it (without JSON) or ``format=xml`` for asset
reads and writes, analytics (always XML), the ``/test`` endpoints, error bodies and the
job-instance fixture.  Every other endpoint answers JSON only.

Alma areas that Esploro integrations reach with the same key: ``/almaws/v1/conf`` (sets,
jobs, code tables), ``GET /almaws/v1/users/{id}`` (the researchers, as Alma users) and
``/almaws/v1/analytics/reports`` (served like the Esploro reports).

Alma configuration writes (``/almaws/v1/conf``): sets are created (``POST /sets``), deleted,
and their members added or removed (``POST /sets/{id}?op=add_members|delete_members``);
``POST /jobs/{id}?op=run`` starts a :class:`SimJobRun` that is queued, runs with progress and
ends with counters after simulated time. Activities must carry the snake_case fields of the
Create Activity API (``activity_name``, ``activity_category``, ``member_researcher``).

Empty pages omit the list key (``{"total_record_count": 0}``), as the real API may.

Simulated application error codes (HTTP status, ``errorCode``):

Unknown ids are answered with HTTP **400** and a "not found" code, as the real gateway
answers an unknown user (``401861``, seen in public Alma clients); only unknown paths get 404.

====  =========  ===========================================================
400   401861     researcher (user) not found
400   401858     researcher already exists (``POST /researchers``)
400   402119     general error: unparsable or wrongly shaped body
400   40166411   invalid parameter value (``limit``/``offset``/``action``/date...)
400   40166410   mandatory parameter missing (``GET /assets`` without ``doi`` or
                 ``update_date_from``; analytics without ``path``)
400   402880     no asset found for the requested id(s) (all ids unknown)
400   402204     an asset id that is not numeric (``GET /assets/{id}``, one id)
400   402884     asset id already exists (``POST /assets``)
400   402882     ``identifier.*`` fields sent in a JSON patch (XML only)
400   402883     ``temporary.linksToExtract`` sent in an XML patch (JSON only)
400   402885     organization / set / code table / profile / job / job instance /
                 mapping table / analytics catalog path not found
400   402886     invalid set member id(s) with ``fail_on_invalid_id=true``
400   402892     unknown analytics resumption token
400   420033     "No more rows to fetch": a token used after its report's last page
500   INTERNAL_SERVER_ERROR  "Path not found (...)": an unknown analytics report path
405   402894     method not supported on this path (e.g. PUT/DELETE on assets)
404   402893     unknown path
====  =========  ===========================================================
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from esploro_async._clock import current_time
from esploro_async.testing import _generate as gen
from esploro_async.testing import _xml
from esploro_async.testing import jobs as _jobs
from esploro_async.testing.analytics import AnalyticsSession, render_not_ready, render_page
from esploro_async.testing.institution import SimJobRun, SyntheticInstitution

__all__ = ["ApiRequest", "ApiResponse", "EsploroApi"]

JSON_CT = "application/json;charset=UTF-8"
XML_CT = "application/xml;charset=UTF-8"
_ORCID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


@attrs.frozen
class ApiRequest:
    """A request as the API layer sees it (path already split and percent-decoded)."""

    method: str
    path: str
    segments: tuple[str, ...]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str

    @property
    def wants_xml(self) -> bool:
        """``format=xml``, or an ``Accept`` naming XML but not JSON."""
        fmt = self.query.get("format", "").lower()
        if fmt in ("xml", "json"):
            return fmt == "xml"
        accept = self.headers.get("accept", "").lower()
        return "xml" in accept and "json" not in accept

    @property
    def body_is_xml(self) -> bool:
        """Whether the request body is declared (or sniffed) as XML."""
        ct = self.headers.get("content-type", "").lower()
        if "xml" in ct:
            return True
        if "json" in ct:
            return False
        return self.body.lstrip().startswith(b"<")


@attrs.frozen
class ApiResponse:
    """Status, body, content type and (for errors) the ``errorCode``."""

    status: int
    body: bytes
    content_type: str
    error_code: str | None = None


class _Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(data: Any, status: int = 200) -> ApiResponse:
    return ApiResponse(status, json.dumps(data, ensure_ascii=False).encode(), JSON_CT)


class EsploroApi:
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
            if report_not_ready and req.segments[2:] in _REPORT_PATHS:
                return self._report_not_ready(req, with_token=not report_loading)
            return self._route(req)
        except _Error as e:
            return self.error(req, e.status, e.code, e.message)

    def error(self, req: ApiRequest, status: int, code: str, message: str) -> ApiResponse:
        """An application error body following the request's ``Accept``."""
        tid = self._tracking_id()
        if req.wants_xml:
            return ApiResponse(status, _xml.error_xml(code, message, tid), XML_CT, code)
        return ApiResponse(status, _xml.error_json(code, message, tid), JSON_CT, code)

    def _route(self, req: ApiRequest) -> ApiResponse:
        seg = req.segments
        if len(seg) < 3 or seg[1] != "v1" or seg[0] not in ("esploro", "almaws"):
            raise _Error(404, "402893", f"No such resource: {req.path}")
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
            raise _Error(404, "402893", f"No such resource: {req.path}")
        return handler(req, rest)

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
        raise _Error(404, "402893", f"No such resource: {req.path}")

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _not_allowed(req: ApiRequest) -> _Error:
        return _Error(405, "402894", f"Method {req.method} is not supported for {req.path}")

    @staticmethod
    def _int_param(req: ApiRequest, name: str, default: int, maximum: int) -> int:
        raw = req.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _Error(400, "40166411", f"Invalid value for parameter {name}: {raw}") from None
        if value < 0 or value > maximum:
            raise _Error(
                400, "40166411", f"Parameter {name} must be between 0 and {maximum}: {raw}"
            )
        return value

    def _paging(self, req: ApiRequest) -> tuple[int, int]:
        return (
            self._int_param(req, "limit", 10, 100),
            self._int_param(req, "offset", 0, 2**62),
        )

    @staticmethod
    def _page_json(items: list[Any], key: str, total: int, count_key: str) -> ApiResponse:
        data: dict[str, Any] = {}
        if count_key == "totalRecordCount":
            data[count_key] = total
            if items:
                data[key] = items
        else:
            if items:
                data[key] = items
            data[count_key] = total
        return _json(data)

    @staticmethod
    def _json_body(req: ApiRequest) -> Any:
        try:
            return json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _Error(
                400, "402119", "General error: the request body is not valid JSON"
            ) from None

    def _json_object(self, req: ApiRequest) -> dict[str, Any]:
        body = self._json_body(req)
        if not isinstance(body, dict):
            raise _Error(400, "402119", "General error: expected a JSON object")
        return body

    def _test(self, req: ApiRequest) -> ApiResponse:
        if req.method not in ("GET", "POST"):
            raise self._not_allowed(req)
        text = f"{req.method} request successful"
        if req.wants_xml:
            return ApiResponse(200, _xml.simple_xml("test", text), XML_CT)
        return _json({"test": text})

    # -- researchers --------------------------------------------------------------------
    def _researchers(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if not rest:
            return self._researchers_root(req)
        rid = rest[0]
        if len(rest) == 2 and rest[1] == "token":
            return self._orcid_token(req, rid)
        if len(rest) != 1:
            raise _Error(404, "402893", f"No such resource: {req.path}")
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
                raise _Error(400, "402119", "General error: primary_id is mandatory")
            if pid in store:
                raise _Error(400, "401858", f"User with identifier {pid} already exists.")
            store.insert(None, body)
            return _json(body)
        raise self._not_allowed(req)

    def _orcid_token(self, req: ApiRequest, orcid: str) -> ApiResponse:
        if req.method != "POST":
            raise self._not_allowed(req)
        if not _ORCID_RE.match(orcid):
            raise _Error(400, "40166411", f"Invalid ORCID identifier: {orcid}")
        body = self._json_object(req)
        if "access.token" not in body:
            raise _Error(400, "402119", "General error: access.token is mandatory")
        return _json(body)

    def _researcher(self, req: ApiRequest, rid: str) -> ApiResponse:
        store = self.inst.researchers
        unknown = _Error(400, "401861", f"User with identifier {rid} was not found.")
        if req.method == "GET":
            rec = store.ref(rid)
            if rec is None:
                raise unknown
            view = req.query.get("view", "full")
            if view not in ("full", "brief"):
                raise _Error(400, "40166411", f"Invalid value for parameter view: {view}")
            if view == "brief":
                link = f"{req.base_url}/esploro/v1/researchers/{rid}"
                return _json(gen.researcher_brief(rec, link))
            return _json(rec)
        if req.method == "PUT":
            if req.body_is_xml:
                raise _Error(400, "402119", "General error: the simulator accepts JSON only here")
            body = self._json_object(req)
            if rid not in store:
                raise unknown
            store.put(rid, body)
            return _json(body)
        if req.method == "DELETE":
            if not store.delete(rid):
                raise unknown
            return ApiResponse(204, b"", JSON_CT)
        raise self._not_allowed(req)

    # -- assets ---------------------------------------------------------------------------
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
            raise _Error(404, "402893", f"No such resource: {req.path}")
        if req.method == "GET":
            return self._assets_by_ids(req, rest[0])
        if req.method == "POST":
            return self._asset_patch(req, rest[0])
        raise self._not_allowed(req)

    def _assets_by_ids(self, req: ApiRequest, listed: str) -> ApiResponse:
        ids = [i.strip() for i in listed.split(",") if i.strip()]
        if len(ids) == 1 and not ids[0].isdigit():
            raise _Error(400, "402204", f"Input parameter assetId {ids[0]} is not numeric.")
        limit, offset = self._paging(req)
        found = [rec for rec in (self.inst.assets.ref(i) for i in ids) if rec is not None]
        if not found:
            raise _Error(400, "402880", f"No asset found for id(s): {listed}")
        return self._records_response(req, found[offset : offset + limit], len(found))

    def _asset_search(self, req: ApiRequest) -> ApiResponse:
        limit, offset = self._paging(req)
        store = self.inst.assets
        doi = req.query.get("doi")
        since = req.query.get("update_date_from")
        if doi:
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
        elif since:
            try:
                day = _dt.date.fromisoformat(since.replace("Z", "")[:10])
            except ValueError:
                raise _Error(
                    400, "40166411", f"Invalid value for parameter update_date_from: {since}"
                ) from None
            key = (day.toordinal(), store.version)
            cached = self._date_cache.get(key)
            if cached is None:
                seed = self.inst.seed
                cached = store.keys_updated_since(
                    key[0], lambda n: gen.asset_update_ordinal(seed, n)
                )
                if len(self._date_cache) > 8:
                    self._date_cache.clear()
                self._date_cache[key] = cached
            ids = cached
        else:
            raise _Error(400, "40166410", "Mandatory parameter missing: doi or update_date_from")
        page = [store.ref(i) for i in ids[offset : offset + limit]]
        return self._records_response(req, [r for r in page if r is not None], len(ids))

    def _body_records(self, req: ApiRequest) -> list[dict[str, Any]]:
        if req.body_is_xml:
            try:
                return _xml.parse_records_xml(req.body)
            except ValueError as exc:
                raise _Error(400, "402119", f"General error: {exc}") from None
        body = self._json_object(req)
        records = body.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise _Error(400, "402119", 'General error: expected {"records": [...]}')
        return records

    def _asset_create(self, req: ApiRequest) -> ApiResponse:
        records = self._body_records(req)
        if not records:
            raise _Error(400, "402119", "General error: no records in the request")
        store = self.inst.assets
        for rec in records:
            repo = rec.get("originalRepository")
            aid = repo.get("assetId") if isinstance(repo, dict) else None
            if aid and aid in store:
                raise _Error(400, "402884", f"Asset {aid} already exists.")
        for rec in records:
            store.insert(None, rec)
        return self._records_response(req, records, len(records))

    def _asset_patch(self, req: ApiRequest, aid: str) -> ApiResponse:
        if "," in aid:
            raise _Error(400, "40166411", "Only one asset can be updated per request")
        op = req.query.get("op", "patch")
        if op != "patch":
            raise _Error(400, "40166411", f"Invalid value for parameter op: {op}")
        action = req.query.get("action")
        if action not in ("add", "replace"):
            raise _Error(400, "40166411", f"Invalid value for parameter action: {action}")
        store = self.inst.assets
        current = store.ref(aid)
        if current is None:
            raise _Error(400, "402880", f"No asset found for id(s): {aid}")
        records = self._body_records(req)
        if len(records) != 1:
            raise _Error(400, "402119", "General error: exactly one record is expected")
        patch = records[0]
        if req.body_is_xml:
            tmp = patch.get("temporary")
            if "temporary.linksToExtract" in patch or (
                isinstance(tmp, dict) and "linksToExtract" in tmp
            ):
                raise _Error(400, "402883", "temporary.linksToExtract is supported in JSON only")
        else:
            bad = [k for k in patch if k.startswith("identifier.")]
            if bad:
                raise _Error(
                    400, "402882", f"Identifiers can be updated with XML only: {', '.join(bad)}"
                )
        updated = copy.deepcopy(current)
        for key, value in patch.items():
            if key == "originalRepository":
                continue
            updated[key] = _merge(updated.get(key), value, action)
        store.put(aid, updated)
        return self._records_response(req, [updated], 1)

    # -- organizations / activities ------------------------------------------------------
    def _organizations(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if req.method != "GET":
            raise self._not_allowed(req)
        orgs = self.inst.organizations
        if rest == ("internal",):
            limit, offset = self._paging(req)
            return self._page_json(
                orgs[offset : offset + limit],
                "research_organization",
                len(orgs),
                "total_record_count",
            )
        if len(rest) == 2 and rest[0] == "internal":
            for org in orgs:
                if org["organization_code"] == rest[1]:
                    return _json(org)
            raise _Error(400, "402885", f"Organization {rest[1]} was not found.")
        raise _Error(404, "402893", f"No such resource: {req.path}")

    def _activities(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if rest:
            raise _Error(404, "402893", f"No such resource: {req.path}")
        if req.method != "POST":
            raise self._not_allowed(req)
        body = self._json_object(req)
        self._check_activity(body)
        self.inst.activities.append(body)
        return _json(body)

    def _check_activity(self, body: dict[str, Any]) -> None:
        """The snake_case fields the Create Activity API takes (see ``models.activity``)."""
        names = body.get("activity_name")
        if (
            not isinstance(names, list)
            or not all(isinstance(n, dict) and n.get("value") for n in names)
            or not names
        ):
            raise _Error(
                400, "402119", 'General error: activity_name must be [{"language", "value"}]'
            )
        category = body.get("activity_category")
        if not isinstance(category, dict) or not category.get("value"):
            raise _Error(400, "402119", 'General error: activity_category must be {"value"}')
        members = body.get("member_researcher")
        if not isinstance(members, list) or not members:
            raise _Error(400, "402119", "General error: member_researcher is mandatory")
        for member in members:
            uid = member.get("user_primary_id") if isinstance(member, dict) else None
            if not isinstance(uid, str) or uid not in self.inst.researchers:
                raise _Error(400, "401861", f"User with identifier {uid} was not found.")

    # -- configuration ------------------------------------------------------------------
    def _esploro_conf(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if rest and rest[0] == "mapping-tables":
            return self._conf(req, rest, alma=False)
        raise _Error(404, "402893", f"No such resource: {req.path}")

    def _conf(self, req: ApiRequest, rest: tuple[str, ...], *, alma: bool) -> ApiResponse:
        if rest == ("test",):
            return self._test(req)
        if not rest:
            raise _Error(404, "402893", f"No such resource: {req.path}")
        kind, args = rest[0], rest[1:]
        prefix = f"{req.base_url}/{'almaws/v1/conf' if alma else 'esploro/v1/researchconf'}"
        if req.method != "GET":
            if alma and kind == "sets":
                return self._set_write(req, args, prefix)
            if alma and kind == "jobs" and len(args) == 1 and req.method == "POST":
                return self._job_run(req, args[0])
            raise self._not_allowed(req)
        if kind == "sets":
            return self._sets(req, args, prefix)
        if kind == "jobs":
            return self._jobs(req, args)
        if kind == "code-tables" and len(args) == 1:
            return self._code_table(args[0])
        if kind == "md-import-profiles" and not alma:
            return self._import_profiles(req, args)
        if kind == "mapping-tables":
            return self._mapping_tables(args)
        raise _Error(404, "402893", f"No such resource: {req.path}")

    def _code_table(self, name: str) -> ApiResponse:
        table = self.inst.code_tables.get(name)
        if table is None:
            raise _Error(400, "402885", f"Code table {name} was not found.")
        return _json(table)

    def _import_profiles(self, req: ApiRequest, args: tuple[str, ...]) -> ApiResponse:
        profiles = self.inst.import_profiles
        if not args:
            limit, offset = self._paging(req)
            return self._page_json(
                profiles[offset : offset + limit],
                "import_profile",
                len(profiles),
                "total_record_count",
            )
        for p in profiles:
            if len(args) == 1 and p["id"] == args[0]:
                return _json(p)
        raise _Error(400, "402885", f"Import profile {'/'.join(args)} was not found.")

    def _mapping_tables(self, args: tuple[str, ...]) -> ApiResponse:
        inst = self.inst
        if not args:
            return _json(inst.mapping_tables_list)
        name = args[0]
        if len(args) == 1:
            table = inst.mapping_tables.get(name)
            if table is not None:
                return _json(table)
            for entry in inst.mapping_tables_list.get("mapping_table", []):
                if entry.get("code") == name:
                    stub = {k: v for k, v in entry.items() if k != "link"}
                    return _json({**stub, "header": [], "row": []})
        raise _Error(400, "402885", f"Mapping table {name} was not found.")

    def _sets(self, req: ApiRequest, args: tuple[str, ...], prefix: str) -> ApiResponse:
        inst = self.inst

        def with_count(s: dict[str, Any]) -> dict[str, Any]:
            return self._set_with_count(s, prefix)

        if not args:
            limit, offset = self._paging(req)
            sets = inst.sets
            ctype = req.query.get("content_type")
            if ctype:
                sets = [s for s in sets if s["content"]["value"] == ctype]
            q = req.query.get("q")
            if q:
                field, _, text = q.partition("~")
                if field != "name":
                    raise _Error(400, "40166411", f"Invalid value for parameter q: {q}")
                sets = [s for s in sets if text.lower() in s["name"].lower()]
            page = [with_count(s) for s in sets[offset : offset + limit]]
            return self._page_json(page, "set", len(sets), "total_record_count")
        found = next((s for s in inst.sets if s["id"] == args[0]), None)
        if found is None:
            raise _Error(400, "402885", f"Set {args[0]} was not found.")
        if len(args) == 1:
            return _json(with_count(found))
        if args[1:] == ("members",):
            limit, offset = self._paging(req)
            members = inst.set_members[found["id"]]()
            page = []
            for mid, area in members[offset : offset + limit]:
                page.append(
                    {
                        "id": mid,
                        "description": mid,
                        "link": f"{req.base_url}/esploro/v1/{area}/{mid}",
                    }
                )
            return self._page_json(page, "member", len(members), "total_record_count")
        raise _Error(404, "402893", f"No such resource: {req.path}")

    # -- Alma conf writes: sets, members, job runs ------------------------------------
    def _set_write(self, req: ApiRequest, args: tuple[str, ...], prefix: str) -> ApiResponse:
        inst = self.inst
        if not args:
            if req.method != "POST":
                raise self._not_allowed(req)
            return self._set_create(req, prefix)
        if len(args) != 1:
            raise self._not_allowed(req)
        found = next((s for s in inst.sets if s["id"] == args[0]), None)
        if found is None:
            raise _Error(400, "402885", f"Set {args[0]} was not found.")
        if req.method == "DELETE":
            inst.sets.remove(found)
            del inst.set_members[found["id"]]
            return ApiResponse(204, b"", JSON_CT)
        if req.method != "POST":
            raise self._not_allowed(req)
        return self._set_members_op(req, found, prefix)

    def _set_create(self, req: ApiRequest, prefix: str) -> ApiResponse:
        body = self._json_object(req)
        name = body.get("name")
        content = (body.get("content") or {}).get("value")
        kind = (body.get("type") or {}).get("value", "ITEMIZED")
        if not isinstance(name, str) or not name or content not in _SET_CONTENT:
            raise _Error(400, "402119", "General error: a set needs a name and a content")
        if kind not in ("ITEMIZED", "LOGICAL"):
            raise _Error(400, "40166411", f"Invalid value for set type: {kind}")
        sid = self.inst.new_id("96")
        private = (body.get("private") or {}).get("value", "false")
        created = {
            "id": sid,
            "name": name,
            "description": body.get("description"),
            "type": {"value": kind, "desc": kind.title()},
            "content": {"value": content, "desc": _SET_CONTENT[content]},
            "private": {"value": private, "desc": "Yes" if private == "true" else "No"},
            "status": {"value": "ACTIVE", "desc": "Active"},
            "origin": {"value": "UI", "desc": "Institution only"},
            "created_by": {"value": "exl_api", "desc": "Ex Libris, API"},
            "created_date": self._wall_clock(self._clock()).isoformat(timespec="milliseconds"),
        }
        if kind == "LOGICAL":
            created["query"] = body.get("query") or {"value": ""}
        self.inst.sets.append(created)
        members: list[tuple[str, str]] = []
        self.inst.set_members[sid] = lambda: members
        return _json(self._set_with_count(created, prefix))

    def _set_with_count(self, s: dict[str, Any], prefix: str) -> dict[str, Any]:
        members = self.inst.set_members[s["id"]]()
        return {
            **s,
            "number_of_members": {
                "value": len(members),
                "link": f"{prefix}/sets/{s['id']}/members",
            },
            "link": f"{prefix}/sets/{s['id']}",
        }

    def _set_members_op(self, req: ApiRequest, found: dict[str, Any], prefix: str) -> ApiResponse:
        op = req.query.get("op")
        if op not in ("add_members", "delete_members"):
            raise _Error(400, "40166411", f"Invalid value for parameter op: {op}")
        if found["type"]["value"] != "ITEMIZED":
            raise _Error(400, "40166411", "Members can be changed in itemized sets only")
        body = self._json_object(req)
        items = (body.get("members") or {}).get("member") or []
        ids = [m.get("id") for m in (items if isinstance(items, list) else [items])]
        if not ids or not all(isinstance(i, str) and i for i in ids):
            raise _Error(400, "402119", 'General error: expected {"members": {"member": [...]}}')
        area = "assets" if found["content"]["value"] == "IER" else "researchers"
        store = self.inst.assets if area == "assets" else self.inst.researchers
        valid = [i for i in ids if store.ref(i) is not None]
        if len(valid) < len(ids) and req.query.get("fail_on_invalid_id", "true") != "false":
            bad = ", ".join(i for i in ids if i not in valid)
            raise _Error(400, "402886", f"Invalid member id(s): {bad}")
        members = self.inst.set_member_list(found["id"])
        present = {m for m, _ in members}
        if op == "add_members":
            members.extend((i, area) for i in dict.fromkeys(valid) if i not in present)
        else:
            drop = set(valid)
            members[:] = [m for m in members if m[0] not in drop]
        return _json(self._set_with_count(found, prefix))

    def _job_run(self, req: ApiRequest, job_id: str) -> ApiResponse:
        if req.query.get("op") != "run":
            raise _Error(400, "40166411", f"Invalid value for parameter op: {req.query.get('op')}")
        inst = self.inst
        job = inst.job_details.get(job_id) or next(
            (j for j in inst.jobs if j["id"] == job_id), None
        )
        if job is None:
            raise _Error(400, "402885", f"Job {job_id} was not found.")
        if job.get("type", {}).get("value") != "MANUAL":
            raise _Error(400, "40166411", f"Job {job_id} is not a manual job")
        params = _job_parameters(self._json_object(req))
        set_id = params.get("set_id")
        members: list[tuple[str, str]] = []
        if set_id is not None:
            if set_id not in inst.set_members:
                raise _Error(400, "402885", f"Set {set_id} was not found.")
            members = inst.set_members[set_id]()
        elif job.get("category", {}).get("value") == "RESEARCH_ASSETS":
            raise _Error(400, "40166410", "Mandatory parameter missing: set_id")
        now = self._clock()
        iid = inst.new_id("98")
        run = SimJobRun(
            job=job,
            instance_id=iid,
            parameters=params,
            submitted_at=now,
            submit_wall=self._wall_clock(now),
            duration=SimJobRun.base_seconds + SimJobRun.per_member_seconds * len(members),
            final_status=inst.job_outcomes.get(job_id, "COMPLETED_SUCCESS"),
            counters=self._job_counters(job, members),
        )
        inst.job_runs[(job_id, iid)] = run
        base = f"{req.base_url}/almaws/v1/conf/jobs/{job_id}"
        when = run.submit_wall.strftime("%a, %d %b %Y %H:%M:%S GMT")
        answer = {
            **{k: v for k, v in job.items() if k != "link"},
            "parameter": [{"name": {"value": k}, "value": v} for k, v in params.items()],
            "additional_info": {
                "value": f"Job no. {iid} triggered on {when}",
                "link": f"{base}/instances/{iid}",
            },
            "link": base,
        }
        return _json(answer)

    def _job_counters(
        self, job: dict[str, Any], members: list[tuple[str, str]]
    ) -> list[tuple[str, str, int]]:
        if job["id"] != "M50173":
            return [("objects_processed", "Number of objects processed", len(members))]
        ok = failed = skipped = files = 0
        for mid, _ in members:
            rec = self.inst.assets.ref(mid)
            links = _links_to_extract(rec) if rec is not None else None
            if links is None:
                failed += 1
            elif links:
                ok += 1
                files += len(links)
            else:
                ok += 1
                skipped += 1
        prefix = "import_research_assets_files."
        return [
            (prefix + "asset_succeeded", "Number of assets succeeded", ok),
            (prefix + "asset_partial_succeeded", "Number of assets partially succeeded", 0),
            (prefix + "asset_failed", "Number of assets failed", failed),
            (prefix + "file_uploaded", "Number of files uploaded", files),
            (prefix + "file_failed_to_upload", "Number of files failed to upload", 0),
            (prefix + "file_skipped_upload", "Number of files skipped upload", skipped),
        ]

    def _run_json(self, req: ApiRequest, run: SimJobRun) -> dict[str, Any]:
        return _jobs.instance_json(run, self._clock(), req.base_url)

    def job_end_webhook(self, job_id: str, instance_id: str, base_url: str) -> dict[str, Any]:
        """The ``JOB_END`` webhook of a run started with ``op=run`` (see
        :func:`esploro_async.testing.jobs.job_end_webhook`)."""
        run = self.inst.job_runs[(job_id, instance_id)]
        return _jobs.job_end_webhook(run, self._clock(), base_url)

    def _jobs(self, req: ApiRequest, args: tuple[str, ...]) -> ApiResponse:
        inst = self.inst
        if not args:
            limit, offset = self._paging(req)
            return self._page_json(
                inst.jobs[offset : offset + limit], "job", len(inst.jobs), "total_record_count"
            )
        job_id = args[0]
        job = inst.job_details.get(job_id) or next(
            (j for j in inst.jobs if j["id"] == job_id), None
        )
        if job is None:
            raise _Error(400, "402885", f"Job {job_id} was not found.")
        if len(args) == 1:
            return _json(job)
        if args[1] != "instances" or len(args) > 3:
            raise _Error(404, "402893", f"No such resource: {req.path}")
        instances = [key for key in inst.job_instance_xml if key[0] == job_id]
        runs = [run for key, run in inst.job_runs.items() if key[0] == job_id]
        if len(args) == 2:
            items: list[dict[str, Any]] = []
            for _, iid in instances:
                data = self._instance_json(job_id, iid)
                items.append(
                    {k: data[k] for k in ("id", "name", "status", "progress") if k in data}
                )
            for run in runs:
                data = self._run_json(req, run)
                keys: tuple[str, ...] = ("id", "name", "status", "progress", "link")
                items.append({k: data[k] for k in keys})
            return self._page_json(items, "job_instance", len(items), "total_record_count")
        key = (job_id, args[2])
        if key in inst.job_runs:
            return _json(self._run_json(req, inst.job_runs[key]))
        if key not in inst.job_instance_xml:
            raise _Error(400, "402885", f"Job instance {args[2]} was not found.")
        if req.wants_xml:
            return ApiResponse(200, inst.job_instance_xml[key].encode(), XML_CT)
        return _json(self._instance_json(*key))

    def _instance_json(self, job_id: str, iid: str) -> dict[str, Any]:
        from defusedxml import ElementTree as SafeET

        root = SafeET.fromstring(self.inst.job_instance_xml[(job_id, iid)].encode())
        value = _xml.element_to_value(root)
        return value if isinstance(value, dict) else {}

    # -- analytics ------------------------------------------------------------------------
    def _analytics(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if req.method != "GET":
            raise self._not_allowed(req)
        if rest == ("reports",):
            return self._report(req)
        if rest and rest[0] == "paths":
            prefix = "/" + "/".join(rest[1:]) if len(rest) > 1 else ""
            prefix = prefix.rstrip("/")
            children: dict[str, str] = {}
            for path in self.inst.reports:
                if prefix and not path.startswith(prefix + "/"):
                    continue
                tail = path[len(prefix) + 1 :].split("/")
                child = f"{prefix}/{tail[0]}"
                children[child] = "Report" if len(tail) == 1 else "Folder"
            if not children:
                raise _Error(400, "402885", f"Analytics path {prefix or '/'} was not found.")
            return _json(
                {
                    "path": [
                        {"value": p, "name": p.rsplit("/", 1)[-1], "type": {"value": t}}
                        for p, t in sorted(children.items())
                    ],
                    "total_record_count": len(children),
                }
            )
        raise _Error(404, "402893", f"No such resource: {req.path}")

    def _report(self, req: ApiRequest) -> ApiResponse:
        raw_limit = req.query.get("limit")
        limit: int | None = None
        if raw_limit:
            try:
                limit = int(raw_limit)
            except ValueError:
                raise _Error(
                    400, "40166411", f"Invalid value for parameter limit: {raw_limit}"
                ) from None
            if limit > 1000 or limit < 1:
                raise _Error(400, "40166411", "Parameter limit must be between 25 and 1000")
            limit = max(limit, 25)
        token = req.query.get("token")
        if token:
            return self._report_next(token, limit)
        path = req.query.get("path")
        if not path:
            raise _Error(400, "40166410", "Mandatory parameter missing: path")
        report = self.inst.reports.get(path)
        if report is None:
            # the real answer (scriptotek/php-alma-client report_not_found_response.xml)
            raise _Error(500, "INTERNAL_SERVER_ERROR", f"Path not found ({path})")
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
            raise _Error(400, "402892", f"Invalid resumption token: {token}")
        if session.done:
            raise _Error(400, "420033", "No more rows to fetch")
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
                raise _Error(400, "402892", f"Invalid resumption token: {token}")
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


_SET_CONTENT = {"IER": "Research assets", "RESEARCHERS": "Researchers"}
_REPORT_PATHS = (("researchanalytics", "reports"), ("analytics", "reports"))


def _job_parameters(body: dict[str, Any]) -> dict[str, str]:
    """``{"parameter": [{"name": {"value": n}, "value": v}]}`` (the Cloud App's body)."""
    items = body.get("parameter") or []
    out: dict[str, str] = {}
    for item in items if isinstance(items, list) else [items]:
        name = item.get("name") if isinstance(item, dict) else None
        key = name.get("value") if isinstance(name, dict) else name
        if not isinstance(key, str) or not key:
            raise _Error(400, "402119", "General error: a job parameter has no name")
        out[key] = str(item.get("value", ""))
    return out


def _links_to_extract(record: dict[str, Any]) -> list[Any]:
    temporary = record.get("temporary")
    links = record.get("temporary.linksToExtract")
    if links is None and isinstance(temporary, dict):
        links = temporary.get("linksToExtract")
    return links if isinstance(links, list) else ([links] if links else [])


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

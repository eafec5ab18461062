"""Sets (``/conf/sets``): read in Esploro and Alma; created, deleted and changed in Alma."""

from __future__ import annotations

from typing import Any

from esploro_async.testing.api._base import (
    JSON_CT,
    ApiArea,
    ApiError,
    ApiRequest,
    ApiResponse,
    json_response,
)

_SET_CONTENT = {"IER": "Research assets", "RESEARCHERS": "Researchers"}


class SetsApi(ApiArea):
    """Sets and their members."""

    def _sets(self, req: ApiRequest, args: tuple[str, ...], prefix: str) -> ApiResponse:
        if not args:
            return self._set_list(req, prefix)
        found = self._find_set(args[0])
        if len(args) == 1:
            return json_response(self._set_with_count(found, prefix))
        if args[1:] == ("members",):
            return self._set_members_page(req, found)
        raise ApiError(404, "402893", f"No such resource: {req.path}")

    def _find_set(self, set_id: str) -> dict[str, Any]:
        found = next((s for s in self.inst.sets if s["id"] == set_id), None)
        if found is None:
            raise ApiError(400, "402885", f"Set {set_id} was not found.")
        return found

    def _set_list(self, req: ApiRequest, prefix: str) -> ApiResponse:
        limit, offset = self._paging(req)
        sets = self.inst.sets
        ctype = req.query.get("content_type")
        if ctype:
            sets = [s for s in sets if s["content"]["value"] == ctype]
        q = req.query.get("q")
        if q:
            field, _, text = q.partition("~")
            if field != "name":
                raise ApiError(400, "40166411", f"Invalid value for parameter q: {q}")
            sets = [s for s in sets if text.lower() in s["name"].lower()]
        page = [self._set_with_count(s, prefix) for s in sets[offset : offset + limit]]
        return self._page_json(page, "set", len(sets), "total_record_count")

    def _set_members_page(self, req: ApiRequest, found: dict[str, Any]) -> ApiResponse:
        limit, offset = self._paging(req)
        members = self.inst.set_members[found["id"]]()
        page = [
            {"id": mid, "description": mid, "link": f"{req.base_url}/esploro/v1/{area}/{mid}"}
            for mid, area in members[offset : offset + limit]
        ]
        return self._page_json(page, "member", len(members), "total_record_count")

    def _set_write(self, req: ApiRequest, args: tuple[str, ...], prefix: str) -> ApiResponse:
        inst = self.inst
        if not args:
            if req.method != "POST":
                raise self._not_allowed(req)
            return self._set_create(req, prefix)
        if len(args) != 1:
            raise self._not_allowed(req)
        found = self._find_set(args[0])
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
            raise ApiError(400, "402119", "General error: a set needs a name and a content")
        if kind not in ("ITEMIZED", "LOGICAL"):
            raise ApiError(400, "40166411", f"Invalid value for set type: {kind}")
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
        return json_response(self._set_with_count(created, prefix))

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
            raise ApiError(400, "40166411", f"Invalid value for parameter op: {op}")
        if found["type"]["value"] != "ITEMIZED":
            raise ApiError(400, "40166411", "Members can be changed in itemized sets only")
        ids = _member_ids(self._json_object(req))
        area = "assets" if found["content"]["value"] == "IER" else "researchers"
        valid = self._known_members(req, area, ids)
        members = self.inst.set_member_list(found["id"])
        if op == "add_members":
            present = {m for m, _ in members}
            members.extend((i, area) for i in dict.fromkeys(valid) if i not in present)
        else:
            drop = set(valid)
            members[:] = [m for m in members if m[0] not in drop]
        return json_response(self._set_with_count(found, prefix))

    def _known_members(self, req: ApiRequest, area: str, ids: list[str]) -> list[str]:
        """The ``ids`` that exist in ``area``; an error for the others unless told not to."""
        store = self.inst.assets if area == "assets" else self.inst.researchers
        valid = [i for i in ids if store.ref(i) is not None]
        if len(valid) < len(ids) and req.query.get("fail_on_invalid_id", "true") != "false":
            bad = ", ".join(i for i in ids if i not in valid)
            raise ApiError(400, "402886", f"Invalid member id(s): {bad}")
        return valid


def _member_ids(body: dict[str, Any]) -> list[str]:
    """The ids of ``{"members": {"member": [{"id": ...}]}}`` (one member may come bare)."""
    items = (body.get("members") or {}).get("member") or []
    ids = [m.get("id") for m in (items if isinstance(items, list) else [items])]
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise ApiError(400, "402119", 'General error: expected {"members": {"member": [...]}}')
    return ids

"""Configuration (``/esploro/v1/researchconf``, ``/esploro/v1/conf``, ``/almaws/v1/conf``)."""

from __future__ import annotations

from esploro_async.testing.api._base import (
    ApiError,
    ApiRequest,
    ApiResponse,
    json_response,
)
from esploro_async.testing.api.config_jobs import JobsApi
from esploro_async.testing.api.config_sets import SetsApi


class ConfApi(SetsApi, JobsApi):
    """Code tables, import profiles, mapping tables; sets and jobs by path."""

    def _esploro_conf(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if rest and rest[0] == "mapping-tables":
            return self._conf(req, rest, alma=False)
        raise ApiError(404, "402893", f"No such resource: {req.path}")

    def _conf(self, req: ApiRequest, rest: tuple[str, ...], *, alma: bool) -> ApiResponse:
        if rest == ("test",):
            return self._test(req)
        if not rest:
            raise ApiError(404, "402893", f"No such resource: {req.path}")
        kind, args = rest[0], rest[1:]
        prefix = f"{req.base_url}/{'almaws/v1/conf' if alma else 'esploro/v1/researchconf'}"
        if req.method != "GET":
            return self._conf_write(req, kind, args, prefix, alma=alma)
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
        raise ApiError(404, "402893", f"No such resource: {req.path}")

    def _conf_write(
        self, req: ApiRequest, kind: str, args: tuple[str, ...], prefix: str, *, alma: bool
    ) -> ApiResponse:
        """Alma's configuration writes: sets (and members), ``op=run`` on a job."""
        if alma and kind == "sets":
            return self._set_write(req, args, prefix)
        if alma and kind == "jobs" and len(args) == 1 and req.method == "POST":
            return self._job_run(req, args[0])
        raise self._not_allowed(req)

    def _code_table(self, name: str) -> ApiResponse:
        table = self.inst.code_tables.get(name)
        if table is None:
            raise ApiError(400, "402885", f"Code table {name} was not found.")
        return json_response(table)

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
                return json_response(p)
        raise ApiError(400, "402885", f"Import profile {'/'.join(args)} was not found.")

    def _mapping_tables(self, args: tuple[str, ...]) -> ApiResponse:
        inst = self.inst
        if not args:
            return json_response(inst.mapping_tables_list)
        name = args[0]
        if len(args) == 1:
            table = inst.mapping_tables.get(name)
            if table is not None:
                return json_response(table)
            for entry in inst.mapping_tables_list.get("mapping_table", []):
                if entry.get("code") == name:
                    stub = {k: v for k, v in entry.items() if k != "link"}
                    return json_response({**stub, "header": [], "row": []})
        raise ApiError(400, "402885", f"Mapping table {name} was not found.")

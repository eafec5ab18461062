"""``/esploro/v1/organizations``: the internal research organizations."""

from __future__ import annotations

from esploro_async.testing.api._base import (
    ApiArea,
    ApiError,
    ApiRequest,
    ApiResponse,
    json_response,
)


class OrganizationsApi(ApiArea):
    """Internal research organizations: a page of them, or one by code."""

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
                    return json_response(org)
            raise ApiError(400, "402885", f"Organization {rest[1]} was not found.")
        raise ApiError(404, "402893", f"No such resource: {req.path}")

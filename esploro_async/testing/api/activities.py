"""``POST /esploro/v1/activities``: research activities."""

from __future__ import annotations

from typing import Any

from esploro_async.testing.api._base import (
    ApiArea,
    ApiError,
    ApiRequest,
    ApiResponse,
    json_response,
)


class ActivitiesApi(ApiArea):
    """Activities: created with the snake_case fields of the Create Activity API."""

    def _activities(self, req: ApiRequest, rest: tuple[str, ...]) -> ApiResponse:
        if rest:
            raise ApiError(404, "402893", f"No such resource: {req.path}")
        if req.method != "POST":
            raise self._not_allowed(req)
        body = self._json_object(req)
        self._check_activity(body)
        self.inst.activities.append(body)
        return json_response(body)

    def _check_activity(self, body: dict[str, Any]) -> None:
        """The snake_case fields the Create Activity API takes (see ``models.activity``)."""
        _check_names(body.get("activity_name"))
        _check_category(body.get("activity_category"))
        self._check_members(body.get("member_researcher"))

    def _check_members(self, members: Any) -> None:
        if not isinstance(members, list) or not members:
            raise ApiError(400, "402119", "General error: member_researcher is mandatory")
        for member in members:
            uid = member.get("user_primary_id") if isinstance(member, dict) else None
            if not isinstance(uid, str) or uid not in self.inst.researchers:
                raise ApiError(400, "401861", f"User with identifier {uid} was not found.")


def _check_names(names: Any) -> None:
    if (
        not isinstance(names, list)
        or not all(isinstance(n, dict) and n.get("value") for n in names)
        or not names
    ):
        raise ApiError(
            400, "402119", 'General error: activity_name must be [{"language", "value"}]'
        )


def _check_category(category: Any) -> None:
    if not isinstance(category, dict) or not category.get("value"):
        raise ApiError(400, "402119", 'General error: activity_category must be {"value"}')

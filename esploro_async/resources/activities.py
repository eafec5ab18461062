"""``client.activities``: ``/esploro/v1/activities`` (create only; there is no GET)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import Activity
from esploro_async.resources._base import Resource, Timeout, as_json_object, json_object

__all__ = ["Activities"]


class Activities(Resource):
    """Research activities. The API only creates them; no list, read or update."""

    path = "/esploro/v1/activities"

    async def create(
        self,
        activity: Activity | Mapping[str, Any],
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Activity:
        """Create an activity (``POST``, JSON, snake_case fields) and return the record answered.

        See `Activity` for the field names and their source. Never replayed after an
        ambiguous failure:

        ```python
        await client.activities.create({
            "activity_name": [{"language": "en", "value": "Guest lecture"}],
            "activity_category": {"value": "activity.teaching"},
            "member_researcher": [{"user_primary_id": "jdoe"}],
        })
        ```
        """
        body = as_json_object(activity, "activity")
        response = await self._request(
            "POST",
            self.path,
            params=params,
            json=body,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        data = json_object(response) if response.content else body
        return Activity.adopt(data, view="full")

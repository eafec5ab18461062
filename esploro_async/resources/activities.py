"""``client.activities``: ``/esploro/v1/activities`` (create only; there is no GET)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import Activity
from esploro_async.resources._base import Resource, as_json_object, json_object

__all__ = ["Activities"]


class Activities(Resource):
    """Research activities. The API only creates them; no list, read or update."""

    path = "/esploro/v1/activities"

    async def create(
        self, activity: Activity | Mapping[str, Any], *, params: Mapping[str, Any] | None = None
    ) -> Activity:
        """Create an activity (``POST``, JSON) and return the record answered.

        The activity schema is not published (see `Activity`). Never replayed after an
        ambiguous failure::

            await client.activities.create({
                "activityName": "Guest lecture", "activityCategory": "activity.teaching",
                "activityType": "activity.course", "researcherUserID": "jdoe",
            })
        """
        body = as_json_object(activity, "activity")
        response = await self._client.request("POST", self.path, params=params, json=body)
        data = json_object(response) if response.content else body
        return Activity.adopt(data, view="full")

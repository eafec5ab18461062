"""Blocking ``client.activities`` (see `esploro_async.resources.activities`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import Activity
from esploro_async.resources import Activities
from esploro_async.sync._base import SyncResource

__all__ = ["SyncActivities"]


class SyncActivities(SyncResource[Activities]):
    """Blocking version of `esploro_async.resources.Activities`."""

    def create(
        self, activity: Activity | Mapping[str, Any], *, params: Mapping[str, Any] | None = None
    ) -> Activity:
        """Blocking version of `esploro_async.resources.Activities.create`."""
        return self._handle.run(self._area.create(activity, params=params))

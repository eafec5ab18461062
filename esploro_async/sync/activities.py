"""Blocking ``client.activities`` (see `esploro_async.resources.activities`)."""

from __future__ import annotations

from typing import Final

from esploro_async.resources import Activities
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncActivities"]


class SyncActivities(SyncResource[Activities]):
    """Blocking version of `esploro_async.resources.Activities`."""

    create: Final = blocking(Activities.create)

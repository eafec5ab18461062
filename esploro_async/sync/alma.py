"""Blocking ``client.alma`` (see `esploro_async.resources.alma`)."""

from __future__ import annotations

from esploro_async.resources.alma import Alma, AlmaAnalytics, AlmaUsers
from esploro_async.sync._base import SyncResource, area, blocking

__all__ = ["SyncAlma", "SyncAlmaAnalytics", "SyncAlmaUsers"]


class SyncAlmaUsers(SyncResource[AlmaUsers]):
    """Blocking version of `esploro_async.resources.alma.AlmaUsers`."""

    get = blocking(AlmaUsers.get)
    test = blocking(AlmaUsers.test)


class SyncAlmaAnalytics(SyncResource[AlmaAnalytics]):
    """Blocking version of `esploro_async.resources.alma.AlmaAnalytics`."""

    report = blocking(AlmaAnalytics.report)
    paths = blocking(AlmaAnalytics.paths)
    test = blocking(AlmaAnalytics.test)


class SyncAlma(SyncResource[Alma]):
    """Blocking version of `esploro_async.resources.alma.Alma`."""

    users = area(SyncAlmaUsers)
    analytics = area(SyncAlmaAnalytics)
    code_table = blocking(Alma.code_table)

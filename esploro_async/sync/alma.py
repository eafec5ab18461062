"""Blocking ``client.alma`` (see `esploro_async.resources.alma`)."""

from __future__ import annotations

from typing import Final

from esploro_async.resources.alma import Alma, AlmaAnalytics, AlmaUsers
from esploro_async.sync._base import SyncResource, area, blocking

__all__ = ["SyncAlma", "SyncAlmaAnalytics", "SyncAlmaUsers"]


class SyncAlmaUsers(SyncResource[AlmaUsers]):
    """Blocking version of `esploro_async.resources.alma.AlmaUsers`."""

    get: Final = blocking(AlmaUsers.get)
    test: Final = blocking(AlmaUsers.test)


class SyncAlmaAnalytics(SyncResource[AlmaAnalytics]):
    """Blocking version of `esploro_async.resources.alma.AlmaAnalytics`."""

    report: Final = blocking(AlmaAnalytics.report)
    paths: Final = blocking(AlmaAnalytics.paths)
    test: Final = blocking(AlmaAnalytics.test)


class SyncAlma(SyncResource[Alma]):
    """Blocking version of `esploro_async.resources.alma.Alma`."""

    users: Final = area(SyncAlmaUsers)
    analytics: Final = area(SyncAlmaAnalytics)
    code_table: Final = blocking(Alma.code_table)

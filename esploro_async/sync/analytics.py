"""Blocking ``client.analytics`` (see `esploro_async.resources.analytics`)."""

from __future__ import annotations

from typing import Final

from esploro_async.resources import Analytics
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncAnalytics"]


class SyncAnalytics(SyncResource[Analytics]):
    """Blocking version of `esploro_async.resources.Analytics`."""

    report: Final = blocking(Analytics.report)
    paths: Final = blocking(Analytics.paths)
    test: Final = blocking(Analytics.test)

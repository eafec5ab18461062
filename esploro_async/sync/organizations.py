"""Blocking ``client.organizations`` (see `esploro_async.resources.organizations`)."""

from __future__ import annotations

from typing import Final

from esploro_async.resources import Organizations
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncOrganizations"]


class SyncOrganizations(SyncResource[Organizations]):
    """Blocking version of `esploro_async.resources.Organizations`."""

    list: Final = blocking(Organizations.list)
    get: Final = blocking(Organizations.get)
    test: Final = blocking(Organizations.test)

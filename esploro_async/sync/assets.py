"""Blocking ``client.assets`` (see `esploro_async.resources.assets`)."""

from __future__ import annotations

from esploro_async.resources import Assets
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncAssets"]


class SyncAssets(SyncResource[Assets]):
    """Blocking version of `esploro_async.resources.Assets`."""

    list = blocking(Assets.list)
    get = blocking(Assets.get)
    get_many = blocking(Assets.get_many)
    create = blocking(Assets.create)
    patch = blocking(Assets.patch)
    test = blocking(Assets.test)

"""Blocking ``client.assets`` (see `esploro_async.resources.assets`)."""

from __future__ import annotations

from typing import Final

from esploro_async.resources import Assets
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncAssets"]


class SyncAssets(SyncResource[Assets]):
    """Blocking version of `esploro_async.resources.Assets`."""

    list: Final = blocking(Assets.list)
    get: Final = blocking(Assets.get)
    get_many: Final = blocking(Assets.get_many)
    create: Final = blocking(Assets.create)
    patch: Final = blocking(Assets.patch)
    test: Final = blocking(Assets.test)

"""Blocking mapping tables of ``client.config`` (see `esploro_async.resources.conf`)."""

from __future__ import annotations

from typing import Final, TypeVar

from esploro_async.resources import MappingTablesMixin
from esploro_async.sync._base import SyncResource, blocking

__all__ = ["SyncMappingTablesMixin"]

AreaT = TypeVar("AreaT", bound=MappingTablesMixin)


class SyncMappingTablesMixin(SyncResource[AreaT]):
    """Blocking version of `esploro_async.resources.MappingTablesMixin`."""

    mapping_tables: Final = blocking(MappingTablesMixin.mapping_tables)
    mapping_table: Final = blocking(MappingTablesMixin.mapping_table)

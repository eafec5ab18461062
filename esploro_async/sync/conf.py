"""Blocking mapping tables of ``client.config`` (see `esploro_async.resources.conf`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from esploro_async.models import MappingTable
from esploro_async.resources import MappingTablesMixin
from esploro_async.sync._base import SyncResource

__all__ = ["SyncMappingTablesMixin"]

AreaT = TypeVar("AreaT", bound=MappingTablesMixin)


class SyncMappingTablesMixin(SyncResource[AreaT]):
    """Blocking version of `esploro_async.resources.MappingTablesMixin`."""

    def mapping_tables(self, *, params: Mapping[str, Any] | None = None) -> list[MappingTable]:
        """Blocking version of `esploro_async.resources.MappingTablesMixin.mapping_tables`."""
        return self._handle.run(self._area.mapping_tables(params=params))

    def mapping_table(self, name: str, *, params: Mapping[str, Any] | None = None) -> MappingTable:
        """Blocking version of `esploro_async.resources.MappingTablesMixin.mapping_table`."""
        return self._handle.run(self._area.mapping_table(name, params=params))

"""``/esploro/v1/conf``: mapping tables (the one Esploro area under ``conf``, not ``researchconf``).

Exposed through ``client.config`` (`Configuration.mapping_tables`, `.mapping_table`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import MappingTable
from esploro_async.resources._base import Resource
from esploro_async.session import quote_segment

__all__ = ["MappingTablesMixin"]


class MappingTablesMixin(Resource):
    """Mapping tables (``/esploro/v1/conf/mapping-tables``), read-only."""

    mapping_tables_path = "/esploro/v1/conf/mapping-tables"

    async def mapping_tables(
        self, *, params: Mapping[str, Any] | None = None
    ) -> list[MappingTable]:
        """Every mapping table, as brief records (code, name, description; no rows)::

        for table in await client.config.mapping_tables():
            print(table.code, table.name)
        """
        data = await self._get_object(self.mapping_tables_path, params)
        items = data.get("mapping_table") or []
        if isinstance(items, dict):
            items = [items]
        return [MappingTable.adopt(t, view="brief") for t in items if isinstance(t, dict)]

    async def mapping_table(
        self, name: str, *, params: Mapping[str, Any] | None = None
    ) -> MappingTable:
        """One mapping table with its rows, e.g. ``AssetFileAndLinkTypes``::

            table = await client.config.mapping_table("AssetFileAndLinkTypes")
            for row in table.rows:
                print(row.columns)

        `NotFoundError` if unknown.
        """
        if not name:
            raise ValueError("a mapping table name is required")
        data = await self._get_object(f"{self.mapping_tables_path}/{quote_segment(name)}", params)
        return MappingTable.adopt(data, view="full")

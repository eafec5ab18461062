"""``/esploro/v1/conf``: mapping tables (the one Esploro area under ``conf``, not ``researchconf``).

Path confirmed by the Esploro Cloud App services (``CustomerParameters``,
``AssetFileAndLinkTypes``) and by the real answers in ``tests/fixtures/real``.

Exposed through ``client.config`` (`Configuration.mapping_tables`, `.mapping_table`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import MappingTable
from esploro_async.models._json import object_list
from esploro_async.resources._base import Resource, Timeout
from esploro_async.resources._paths import segment

__all__ = ["MappingTablesMixin"]


class MappingTablesMixin(Resource):
    """Mapping tables (``/esploro/v1/conf/mapping-tables``), read-only."""

    mapping_tables_path = "/esploro/v1/conf/mapping-tables"

    async def mapping_tables(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> list[MappingTable]:
        """Every mapping table, as brief records (code, name, description; no rows):

        ```python
        for table in await client.config.mapping_tables():
            print(table.code, table.name)
        ```
        """
        data = await self._get_object(
            self.mapping_tables_path, params, extra_headers=extra_headers, timeout=timeout
        )
        return [MappingTable.adopt(t, view="brief") for t in object_list(data.get("mapping_table"))]

    async def mapping_table(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> MappingTable:
        """One mapping table with its rows, e.g. ``AssetFileAndLinkTypes``:

        ```python
        table = await client.config.mapping_table("AssetFileAndLinkTypes")
        for row in table.rows:
            print(row.columns)
        ```

        `NotFoundError` if unknown.
        """
        data = await self._get_object(
            f"{self.mapping_tables_path}/{segment(name, 'mapping table name')}",
            params,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return MappingTable.adopt(data, view="full")

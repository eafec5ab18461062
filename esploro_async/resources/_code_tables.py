"""Code tables, read alike from Alma (``/almaws/v1/conf``) and Esploro (``researchconf``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esploro_async.models import CodeTable
from esploro_async.resources._base import Resource, Timeout
from esploro_async.resources._paths import segment

__all__ = ["get_code_table"]


async def get_code_table(
    resource: Resource,
    tables_path: str,
    name: str,
    params: Mapping[str, Any] | None,
    *,
    extra_headers: Mapping[str, str] | None,
    timeout: Timeout,
) -> CodeTable:
    """The code table ``name`` under ``tables_path`` (`NotFoundError` if unknown)."""
    data = await resource._get_object(
        f"{tables_path}/{segment(name, 'code table name')}",
        params,
        extra_headers=extra_headers,
        timeout=timeout,
    )
    return CodeTable.adopt(data, view="full")

"""``client.assets``: ``/esploro/v1/assets`` (research outputs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from typing_extensions import Unpack

from esploro_async.models import Asset
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import Resource, StreamOptions

__all__ = ["Assets"]


def _asset(data: dict[str, Any]) -> Asset:
    return Asset.adopt(data, view="full")


def _date(value: dt.date | str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(
            f"update_date_from must be a date or 'YYYY-MM-DD', got {value!r}"
        ) from None


class Assets(Resource):
    """Research assets. They have no PUT: change them with ``patch``."""

    path = "/esploro/v1/assets"

    def list(
        self,
        *,
        update_date_from: dt.date | str | None = None,
        doi: str | Sequence[str] | None = None,
        params: dict[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Asset]:
        """Assets changed since a date, or with given DOIs, fetched concurrently.

        The API needs one of the two filters: to list every asset, give a date before the
        first record was created (e.g. ``update_date_from="1900-01-01"``)::

            async for asset in client.assets.list(update_date_from="2026-01-01"):
                print(asset.asset_id, asset.title)
        """
        if update_date_from is None and not doi:
            raise ValueError(
                "assets.list() needs update_date_from=... or doi=...: the API lists nothing "
                "without a filter (use a date before your first record to list them all)"
            )
        query: dict[str, Any] = dict(params or {})
        if update_date_from is not None:
            query["update_date_from"] = _date(update_date_from)
        if doi:
            query["doi"] = doi if isinstance(doi, str) else ",".join(doi)
        return self._stream(self.path, "records", _asset, query, options)

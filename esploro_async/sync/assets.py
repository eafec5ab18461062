"""Blocking ``client.assets`` (see `esploro_async.resources.assets`)."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Unpack

from esploro_async.models import Asset
from esploro_async.resources import (
    MAX_IDS_PER_CALL,
    ApiTestResult,
    AssetBatch,
    Assets,
    StreamOptions,
)
from esploro_async.sync._base import SyncResource
from esploro_async.sync._streams import OffsetStream

__all__ = ["SyncAssets"]


class SyncAssets(SyncResource[Assets]):
    """Blocking version of `esploro_async.resources.Assets`."""

    def list(
        self,
        *,
        update_date_from: dt.date | str | None = None,
        doi: str | Sequence[str] | None = None,
        params: dict[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Asset]:
        """Blocking version of `esploro_async.resources.Assets.list`."""
        stream = self._area.list(
            update_date_from=update_date_from, doi=doi, params=params, **options
        )
        return self._stream(stream)

    def get(self, asset_id: str, *, params: Mapping[str, Any] | None = None) -> Asset:
        """Blocking version of `esploro_async.resources.Assets.get`."""
        return self._handle.run(self._area.get(asset_id, params=params))

    def get_many(
        self,
        asset_ids: Iterable[str],
        *,
        chunk_size: int = MAX_IDS_PER_CALL,
        params: Mapping[str, Any] | None = None,
    ) -> AssetBatch:
        """Blocking version of `esploro_async.resources.Assets.get_many`."""
        return self._handle.run(
            self._area.get_many(asset_ids, chunk_size=chunk_size, params=params)
        )

    def create(
        self,
        records: Asset | Mapping[str, Any] | Iterable[Asset | Mapping[str, Any]],
        *,
        is_draft: bool | None = None,
        reject_duplicate: bool | None = None,
        author_affiliation_enhancement: bool | None = None,
        override_author_affiliations: bool | None = None,
        open_access_enrichment: bool | None = None,
        import_profile: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> builtins.list[Asset]:
        """Blocking version of `esploro_async.resources.Assets.create`."""
        return self._handle.run(
            self._area.create(
                records,
                is_draft=is_draft,
                reject_duplicate=reject_duplicate,
                author_affiliation_enhancement=author_affiliation_enhancement,
                override_author_affiliations=override_author_affiliations,
                open_access_enrichment=open_access_enrichment,
                import_profile=import_profile,
                params=params,
            )
        )

    def patch(
        self,
        asset_id: str,
        fields: Mapping[str, Any] | Asset,
        *,
        action: Literal["add", "replace"] = "add",
        format: Literal["auto", "json", "xml"] = "auto",
        params: Mapping[str, Any] | None = None,
    ) -> Asset:
        """Blocking version of `esploro_async.resources.Assets.patch`."""
        return self._handle.run(
            self._area.patch(asset_id, fields, action=action, format=format, params=params)
        )

    def test(self, *, write: bool = False) -> ApiTestResult:
        """Blocking version of `esploro_async.resources.Assets.test`."""
        return self._handle.run(self._area.test(write=write))

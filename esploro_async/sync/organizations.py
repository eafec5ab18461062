"""Blocking ``client.organizations`` (see `esploro_async.resources.organizations`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import Unpack

from esploro_async.models import Organization
from esploro_async.resources import ApiTestResult, Organizations, StreamOptions
from esploro_async.sync._base import SyncResource
from esploro_async.sync._streams import OffsetStream

__all__ = ["SyncOrganizations"]


class SyncOrganizations(SyncResource[Organizations]):
    """Blocking version of `esploro_async.resources.Organizations`."""

    def list(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Organization]:
        """Blocking version of `esploro_async.resources.Organizations.list`."""
        return self._stream(self._area.list(params=params, **options))

    def get(self, code: str, *, params: Mapping[str, Any] | None = None) -> Organization:
        """Blocking version of `esploro_async.resources.Organizations.get`."""
        return self._handle.run(self._area.get(code, params=params))

    def test(self, *, write: bool = False) -> ApiTestResult:
        """Blocking version of `esploro_async.resources.Organizations.test`."""
        return self._handle.run(self._area.test(write=write))

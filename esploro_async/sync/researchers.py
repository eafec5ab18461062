"""Blocking ``client.researchers`` (see `esploro_async.resources.researchers`)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Literal

from typing_extensions import Unpack

from esploro_async.models import Researcher
from esploro_async.resources import ApiTestResult, OrcidToken, Researchers, StreamOptions
from esploro_async.sync._base import SyncResource
from esploro_async.sync._streams import OffsetStream

__all__ = ["SyncResearchers"]


class SyncResearchers(SyncResource[Researchers]):
    """Blocking version of `esploro_async.resources.Researchers`."""

    def list(
        self, *, params: dict[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Researcher]:
        """Blocking version of `esploro_async.resources.Researchers.list`."""
        return self._stream(self._area.list(params=params, **options))

    def get(
        self,
        primary_id: str,
        *,
        view: Literal["full", "brief"] = "full",
        params: Mapping[str, Any] | None = None,
    ) -> Researcher:
        """Blocking version of `esploro_async.resources.Researchers.get`."""
        return self._handle.run(self._area.get(primary_id, view=view, params=params))

    def create(
        self, researcher: Researcher | Mapping[str, Any], *, params: Mapping[str, Any] | None = None
    ) -> Researcher:
        """Blocking version of `esploro_async.resources.Researchers.create`."""
        return self._handle.run(self._area.create(researcher, params=params))

    def update(
        self,
        researcher: Researcher,
        *,
        force: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> Researcher:
        """Blocking version of `esploro_async.resources.Researchers.update`."""
        return self._handle.run(self._area.update(researcher, force=force, params=params))

    def delete(self, primary_id: str, *, params: Mapping[str, Any] | None = None) -> None:
        """Blocking version of `esploro_async.resources.Researchers.delete`."""
        self._handle.run(self._area.delete(primary_id, params=params))

    def add_orcid_token(
        self,
        orcid: str,
        token: OrcidToken | Mapping[str, Any],
        *,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Blocking version of `esploro_async.resources.Researchers.add_orcid_token`."""
        return self._handle.run(self._area.add_orcid_token(orcid, token, params=params))

    def test(self, *, write: bool = False) -> ApiTestResult:
        """Blocking version of `esploro_async.resources.Researchers.test`."""
        return self._handle.run(self._area.test(write=write))

    def edit(self, primary_id: str) -> AbstractContextManager[Researcher]:
        """Blocking version of `esploro_async.resources.Researchers.edit`::

            with client.researchers.edit("jdoe") as jane:
                jane.orcid = "0000-0002-1825-0097"

        Nothing is sent if the block raises.
        """
        return self._handle.context(self._area.edit(primary_id))

"""``client.researchers``: ``/esploro/v1/researchers``."""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from esploro_async.models import Researcher
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import Resource, StreamOptions

__all__ = ["Researchers"]


def _brief(data: dict[str, Any]) -> Researcher:
    return Researcher.adopt(data, view="brief")


class Researchers(Resource):
    """Researchers (Alma users with a researcher profile)."""

    path = "/esploro/v1/researchers"

    def list(
        self, *, params: dict[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Researcher]:
        """Every researcher, as brief records (``view="brief"``), fetched concurrently.

        ``params`` are extra query parameters (the API documents none besides paging).
        Options: see `OffsetStream` (``page_size``, ``ordered``, ``resume_from``, …)::

            async for researcher in client.researchers.list():
                print(researcher.primary_id, researcher.last_name)
        """
        return self._stream(self.path, "user", _brief, params or {}, options)

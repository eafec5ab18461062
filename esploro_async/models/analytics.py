"""``AnalyticsPath``: one entry of the analytics catalog (``/researchanalytics/paths``)."""

from __future__ import annotations

import attrs

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue

__all__ = ["AnalyticsPath"]


@attrs.define(eq=False, repr=False)
class AnalyticsPath(Record):
    """A folder or report of the analytics catalog (lossless; Alma-style fields)."""

    _ID_PATHS = (("value",), ("path",))

    @property
    def path(self) -> str | None:
        """The full catalog path (``value``, fallback ``path``), e.g. ``/shared/Inst/Reports``."""
        return self._str("value") or self._str("path")

    @property
    def name(self) -> str | None:
        """``name``: the last path segment."""
        return self._str("name")

    @property
    def type(self) -> CodeValue | None:
        """``type`` (``Folder`` or ``Report``)."""
        return self._code("type")

    @property
    def is_folder(self) -> bool:
        """``True`` when :attr:`type` is ``Folder``."""
        kind = self.type
        return kind is not None and (kind.value or "").lower() == "folder"

    @property
    def is_report(self) -> bool:
        """``True`` when :attr:`type` is ``Report``."""
        kind = self.type
        return kind is not None and (kind.value or "").lower() == "report"

    @property
    def link(self) -> str | None:
        """``link``."""
        return self._str("link")

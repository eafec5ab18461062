"""``AnalyticsPath``: one entry of the analytics catalog (``/researchanalytics/paths``)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue
from esploro_async.models._fields import KeyView, coded, text

__all__ = ["AnalyticsPath"]


@attrs.define(eq=False, repr=False)
class AnalyticsPath(Record):
    """A folder or report of the analytics catalog (lossless; Alma-style fields).

    Source: the path ``/esploro/v1/researchanalytics/paths[/{path}]`` is listed by the Ex
    Libris QA launcher; no public answer was found, so the fields (``path[]`` items with
    ``value``, ``name``, ``type``, ``link``) follow Alma's ``/analytics/paths`` and are
    unconfirmed for Esploro.
    """

    _ID_PATHS = (("value",), ("path",))

    @property
    def path(self) -> str | None:
        """The full catalog path (``value``, fallback ``path``), e.g. ``/shared/Inst/Reports``."""
        return self._str("value") or self._str("path")

    name: ClassVar[KeyView[str | None]] = text("name")
    """``name``: the last path segment."""

    type: ClassVar[KeyView[CodeValue | None]] = coded("type")
    """``type`` (``Folder`` or ``Report``)."""

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

    link: ClassVar[KeyView[str | None]] = text("link")
    """``link``."""

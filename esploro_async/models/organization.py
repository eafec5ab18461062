"""``Organization``: an internal research organization (``research_organization`` item).

The field names below follow Esploro's research-organization schema as far as it is known;
they are not confirmed against a live tenant, so every getter also tries the plain Alma-style
name (``name``, ``type``...) and everything else stays reachable losslessly.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue, CodeValueLike
from esploro_async.models._fields import KeyView, text

__all__ = ["Organization"]


@attrs.define(eq=False, repr=False)
class Organization(Record):
    """One ``GET /esploro/v1/organizations/internal`` item (lossless).

    Source: the list key ``research_organization`` and the paging are confirmed by
    AdelphiLibraries/exlibris_api_tools ``get_organizations()``; the item fields
    (``organization_code``, ``organization_name``, ``organization_type``,
    ``parent_organization_code``, ``status``) were not seen in a public payload and follow
    the Alma JSON conventions; each accessor also reads the plain alternatives (``code``,
    ``name``, ``type``) for that reason.
    """

    _ID_PATHS = (("organization_code",), ("code",), ("id",))

    def _first(self, *keys: str) -> Any:
        for key in keys:
            if self._data.get(key) not in (None, ""):
                return self._data[key]
        return None

    def _key_for(self, *keys: str) -> str:
        """The first of ``keys`` present in the record (else the first one)."""
        return next((k for k in keys if k in self._data), keys[0])

    @property
    def organization_code(self) -> str | None:
        """``organization_code`` (fallback ``code``)."""
        code = CodeValue.from_json(self._first("organization_code", "code"))
        return None if code is None else code.value

    @property
    def name(self) -> str | None:
        """``organization_name`` (fallback ``name``); setting writes whichever key exists."""
        code = CodeValue.from_json(self._first("organization_name", "name"))
        return None if code is None else code.value

    @name.setter
    def name(self, value: str | None) -> None:
        self._set((self._key_for("organization_name", "name"),), value)

    @property
    def type(self) -> CodeValue | None:
        """``organization_type`` (fallback ``type``), e.g. ``{"value": "DEPARTMENT"}``."""
        return CodeValue.from_json(self._first("organization_type", "type"))

    @type.setter
    def type(self, value: CodeValueLike) -> None:
        self._set_code((self._key_for("organization_type", "type"),), value)

    @property
    def parent_organization_code(self) -> str | None:
        """``parent_organization_code`` (fallback ``parent_organization``'s value)."""
        code = CodeValue.from_json(self._first("parent_organization_code", "parent_organization"))
        return None if code is None else code.value

    @property
    def status(self) -> CodeValue | None:
        """``status`` (fallback ``organization_status``)."""
        return CodeValue.from_json(self._first("status", "organization_status"))

    link: ClassVar[KeyView[str | None]] = text("link")
    """``link``."""

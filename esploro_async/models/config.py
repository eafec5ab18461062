"""Configuration records: sets, code tables, mapping tables and import profiles (Alma shapes)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue, CodeValueLike
from esploro_async.models._fields import KeyView, coded, flag, text
from esploro_async.models._json import as_bool, as_int, as_list, as_str, json_copy

__all__ = [
    "CodeTable",
    "CodeTableRow",
    "ImportProfile",
    "MappingTable",
    "MappingTableRow",
    "Set",
    "SetMember",
]

_COLUMN = re.compile(r"column(\d+)")


@attrs.define(eq=False, repr=False)
class Set(Record):
    """A set (``/researchconf/sets`` or Alma ``/conf/sets``), e.g. an itemized ``IER`` set.

    Source: the real sandbox answers of ``POST /almaws/v1/conf/sets`` and
    ``?op=add_members`` (Esploro files-loader Cloud App, ``sets-createset-post-api.md``,
    ``sets-managemembers-post-api.md``): ``id``, ``name``, ``description``, ``type``,
    ``content``, ``status``, ``private`` (``{"value": "true", "desc": "Yes"}``),
    ``created_date``, ``number_of_members`` (``{"value", "link"}``), ``link``.
    """

    id: ClassVar[KeyView[str | None]] = text("id")
    """``id``."""

    @property
    def name(self) -> str | None:
        """``name``."""
        return self._str("name")

    @name.setter
    def name(self, value: str | None) -> None:
        self._set(("name",), value)

    @property
    def description(self) -> str | None:
        """``description``."""
        return self._str("description")

    @description.setter
    def description(self, value: str | None) -> None:
        self._set(("description",), value)

    @property
    def type(self) -> CodeValue | None:
        """``type`` (``ITEMIZED`` or ``LOGICAL``)."""
        return self._code("type")

    @type.setter
    def type(self, value: CodeValueLike) -> None:
        self._set_code(("type",), value)

    @property
    def content(self) -> CodeValue | None:
        """``content`` (``IER`` = research assets, ``RESEARCHERS`` ...)."""
        return self._code("content")

    @content.setter
    def content(self, value: CodeValueLike) -> None:
        self._set_code(("content",), value)

    status: ClassVar[KeyView[CodeValue | None]] = coded("status")
    """``status`` (``ACTIVE`` ...)."""

    @property
    def private(self) -> bool | None:
        """``private`` (``{"value": "true", "desc": "Yes"}`` or a plain bool/string).

        Setting keeps the stored shape: an object gets ``{"value": "true"|"false"}`` (a stale
        ``desc`` is dropped), a string ``"true"``/``"false"``, otherwise a JSON bool.
        """
        return self._bool("private")

    @private.setter
    def private(self, value: bool | None) -> None:
        self._set_bool_like_existing(("private",), value)

    created_date: ClassVar[KeyView[str | None]] = text("created_date")
    """``created_date`` (raw ISO timestamp)."""

    @property
    def number_of_members(self) -> int | None:
        """``number_of_members.value`` (or a plain number)."""
        value = self._value("number_of_members")
        return as_int(value.get("value") if isinstance(value, Mapping) else value)

    members_link: ClassVar[KeyView[str | None]] = text("number_of_members", "link")
    """``number_of_members.link``."""

    link: ClassVar[KeyView[str | None]] = text("link")
    """``link``."""


@attrs.frozen
class CodeTableRow:
    """One row of a code table (read-only view)."""

    code: str | None
    """``code``."""
    description: str | None
    """``description``."""
    enabled: bool | None
    """``enabled``."""
    default: bool | None
    """``default``."""
    raw: Mapping[str, Any] = attrs.field(hash=False, eq=False, repr=False)
    """The row's JSON object (a copy)."""

    @classmethod
    def from_json(cls, data: Any) -> CodeTableRow:
        """Build from one ``row`` item (non-objects give an all-``None`` row)."""
        d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        return cls(
            code=as_str(d.get("code")),
            description=as_str(d.get("description")),
            enabled=as_bool(d.get("enabled")),
            default=as_bool(d.get("default")),
            raw=json_copy(dict(d)),
        )


@attrs.define(eq=False, repr=False)
class CodeTable(Record):
    """A code table (``/researchconf/code-tables/{name}``).

    Source: the path is called by the Esploro Cloud App services; the fields (``name``,
    ``description``, ``row[]`` of ``code``/``description``/``enabled``/``default``) follow
    Alma's ``/conf/code-tables`` answer and were not seen in a public Esploro payload.
    """

    _ID_PATHS = (("name",), ("code",))

    @property
    def name(self) -> str | None:
        """``name`` (the table's code name, e.g. ``UserTitles``)."""
        return self._str("name")

    @property
    def description(self) -> str | None:
        """``description``."""
        return self._str("description")

    sub_system: ClassVar[KeyView[CodeValue | None]] = coded("sub_system")
    """``sub_system``."""

    @property
    def rows(self) -> list[CodeTableRow]:
        """``row`` items (a single object is read as a one-item list)."""
        return [CodeTableRow.from_json(r) for r in as_list(self._value("row"))]

    def as_mapping(self, *, enabled_only: bool = True) -> dict[str, str | None]:
        """``{code: description}``; rows with ``enabled`` false are skipped by default."""
        return {
            row.code: row.description
            for row in self.rows
            if row.code is not None and not (enabled_only and row.enabled is False)
        }


@attrs.frozen
class MappingTableRow:
    """One row of a mapping table: ``column0``, ``column1``... plus flags (read-only view)."""

    columns: tuple[str | None, ...]
    """Column values ordered by column number (gaps filled with ``None``)."""
    enabled: bool | None
    """``enabled``."""
    raw: Mapping[str, Any] = attrs.field(hash=False, eq=False, repr=False)
    """The row's JSON object (a copy)."""

    @classmethod
    def from_json(cls, data: Any) -> MappingTableRow:
        """Build from one ``row`` item."""
        d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        numbered: dict[int, str | None] = {}
        for key, value in d.items():
            match = _COLUMN.fullmatch(key)
            if match is not None:
                numbered[int(match.group(1))] = as_str(value)
        width = max(numbered) + 1 if numbered and max(numbered) < 1000 else 0
        columns = tuple(numbered.get(i) for i in range(width))
        return cls(columns=columns, enabled=as_bool(d.get("enabled")), raw=json_copy(dict(d)))


@attrs.define(eq=False, repr=False)
class MappingTable(Record):
    """A mapping table (``/conf/mapping-tables/{name}``), or a brief list item without rows.

    Source: the real answers in ``tests/fixtures/real`` (``mapping-tables-list.json``,
    ``mapping-table-AssetFileAndLinkTypes.json``): ``code``, ``name``, ``description``,
    ``sub_system``, ``header[]`` and ``row[]`` with ``column0..N``.
    """

    _ID_PATHS = (("code",), ("name",))

    code: ClassVar[KeyView[str | None]] = text("code")
    """``code`` (e.g. ``AssetFileAndLinkTypes``)."""

    @property
    def name(self) -> str | None:
        """``name``."""
        return self._str("name")

    @property
    def description(self) -> str | None:
        """``description``."""
        return self._str("description")

    sub_system: ClassVar[KeyView[CodeValue | None]] = coded("sub_system")
    """``sub_system``."""

    customized: ClassVar[KeyView[bool | None]] = flag("customized")
    """``customized``."""

    @property
    def header(self) -> list[dict[str, Any]]:
        """``header`` column descriptions (copies of the JSON objects)."""
        return [json_copy(h) for h in as_list(self._value("header")) if isinstance(h, dict)]

    @property
    def rows(self) -> list[MappingTableRow]:
        """``row`` items."""
        return [MappingTableRow.from_json(r) for r in as_list(self._value("row"))]

    link: ClassVar[KeyView[str | None]] = text("link")
    """``link``."""


@attrs.define(eq=False, repr=False)
class ImportProfile(Record):
    """A metadata import profile (``/researchconf/md-import-profiles``); Alma-style fields.

    Source: the path is listed by the Ex Libris QA launcher only; the fields (``id``,
    ``name``, ``description``, ``type``, ``status``) follow Alma's import profiles and are
    unconfirmed for Esploro.
    """

    id: ClassVar[KeyView[str | None]] = text("id")
    """``id``."""

    @property
    def name(self) -> str | None:
        """``name``."""
        return self._str("name")

    @property
    def description(self) -> str | None:
        """``description``."""
        return self._str("description")

    @property
    def type(self) -> CodeValue | None:
        """``type``."""
        return self._code("type")

    status: ClassVar[KeyView[CodeValue | None]] = coded("status")
    """``status``."""

    link: ClassVar[KeyView[str | None]] = text("link")
    """``link``."""


@attrs.define(eq=False, repr=False)
class SetMember(Record):
    """One ``member`` of a set (``/researchconf/sets/{id}/members``): an id and a link.

    Source: the ``member[]`` items with ``id`` of the real ``op=add_members`` body
    (``sets-managemembers-post-api.md``); ``description`` and ``link`` follow Alma's
    ``/conf/sets/{id}/members`` answer.
    """

    id: ClassVar[KeyView[str | None]] = text("id")
    """``id``: the member's record id (asset id, researcher primary id ...)."""

    @property
    def description(self) -> str | None:
        """``description``."""
        return self._str("description")

    link: ClassVar[KeyView[str | None]] = text("link")
    """``link``: the member's API URL."""

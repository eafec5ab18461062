"""``Activity``: a research activity (``POST /esploro/v1/activities`` body).

Field names are snake_case, as the Create Activity API takes them: ``activity_name`` (a
list of ``{language, value}``), ``activity_category`` (``{value, desc}``) and
``member_researcher`` (a list of researchers, each with ``user_primary_id``). Source: the
shapes recorded in this project's issue #13 from Ex Libris' Create Activity documentation;
the endpoint itself is confirmed by the Esploro Cloud App ``ActivitiesService``
(``POST /esploro/v1/activities``, JSON). No public payload was found for the other fields:
``activity_type``, ``activity_start_date`` and ``activity_end_date`` follow the same
snake_case pattern and are marked *unconfirmed*. The camelCase names of the Brandeis
spreadsheet loader (``activityName`` ...) are UI-import columns, not API fields.

The record is lossless: any other field is kept and reachable via ``activity["key"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue, CodeValueLike
from esploro_async.models._fields import KeyView, text
from esploro_async.models._json import as_list, as_str

__all__ = ["Activity"]


@attrs.define(eq=False, repr=False)
class Activity(Record):
    """A research activity (lossless; see the module docstring for each field's source)."""

    _ID_PATHS = (("id",), ("activity_id",))

    @property
    def names(self) -> dict[str, str]:
        """``activity_name[]`` as ``{language: value}`` (``""`` for an entry without one)."""
        out: dict[str, str] = {}
        for item in as_list(self._value("activity_name")):
            if isinstance(item, Mapping):
                value = as_str(item.get("value"))
                if value is not None:
                    out.setdefault(as_str(item.get("language")) or "", value)
        return out

    @property
    def name(self) -> str | None:
        """The first ``activity_name[].value`` (confirmed shape: a list of language/value)."""
        return next(iter(self.names.values()), None)

    @name.setter
    def name(self, value: str | None) -> None:
        if value is None:
            self._set(("activity_name",), None)
            return
        entries = [dict(e) for e in as_list(self._value("activity_name")) if isinstance(e, Mapping)]
        if entries:
            entries[0]["value"] = value
        else:
            entries = [{"value": value}]
        self._set(("activity_name",), entries)

    @property
    def category(self) -> CodeValue | None:
        """``activity_category`` (``{"value": "activity.teaching", "desc": ...}``; confirmed).

        Setting keeps whichever shape is stored (a code object by default).
        """
        return self._code("activity_category")

    @category.setter
    def category(self, value: CodeValueLike) -> None:
        if self._value("activity_category") is None:
            self._set_code(("activity_category",), value)
        else:
            self._set_code_like_existing(("activity_category",), value)

    @property
    def type(self) -> CodeValue | None:
        """``activity_type`` (e.g. ``activity.course``; unconfirmed name)."""
        return self._code("activity_type")

    @type.setter
    def type(self, value: CodeValueLike) -> None:
        self._set_code_like_existing(("activity_type",), value)

    @property
    def researcher_user_ids(self) -> list[str]:
        """``member_researcher[].user_primary_id`` (confirmed shape)."""
        ids = (
            as_str(m.get("user_primary_id"))
            for m in as_list(self._value("member_researcher"))
            if isinstance(m, Mapping)
        )
        return [i for i in ids if i]

    @property
    def researcher_user_id(self) -> str | None:
        """The first ``member_researcher[].user_primary_id``."""
        return next(iter(self.researcher_user_ids), None)

    @researcher_user_id.setter
    def researcher_user_id(self, value: str | None) -> None:
        members = [
            dict(m) for m in as_list(self._value("member_researcher")) if isinstance(m, Mapping)
        ]
        if value is None:
            members = members[1:]
        elif members:
            members[0]["user_primary_id"] = value
        else:
            members = [{"user_primary_id": value}]
        self._set(("member_researcher",), members or None)

    start_date: ClassVar[KeyView[str | None]] = text("activity_start_date")
    """``activity_start_date`` (raw string; unconfirmed name)."""

    end_date: ClassVar[KeyView[str | None]] = text("activity_end_date")
    """``activity_end_date`` (raw string; unconfirmed name)."""

"""``Activity``: a research activity (``POST /esploro/v1/activities`` body).

The activity JSON schema is not published; the typed names below follow the fields of
Esploro's activity loader (``activityName``, ``activityCategory`` ...) and are unverified.
The record is lossless, so any other field is kept and reachable via ``activity["key"]``.
"""

from __future__ import annotations

import attrs

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue, CodeValueLike
from esploro_async.models._fields import text

__all__ = ["Activity"]


@attrs.define(eq=False, repr=False)
class Activity(Record):
    """A research activity (lossless; typed names unverified, see module docstring)."""

    _ID_PATHS = (("id",), ("activityId",))

    @property
    def name(self) -> str | None:
        """``activityName``."""
        return self._str("activityName")

    @name.setter
    def name(self, value: str | None) -> None:
        self._set(("activityName",), value)

    @property
    def category(self) -> CodeValue | None:
        """``activityCategory`` (e.g. ``activity.teaching``).

        Read from a string or a code object; setting keeps whichever shape is stored.
        """
        return self._code("activityCategory")

    @category.setter
    def category(self, value: CodeValueLike) -> None:
        self._set_code_like_existing(("activityCategory",), value)

    @property
    def type(self) -> CodeValue | None:
        """``activityType`` (e.g. ``activity.course``)."""
        return self._code("activityType")

    @type.setter
    def type(self, value: CodeValueLike) -> None:
        self._set_code_like_existing(("activityType",), value)

    @property
    def researcher_user_id(self) -> str | None:
        """``researcherUserID``."""
        return self._str("researcherUserID")

    @researcher_user_id.setter
    def researcher_user_id(self, value: str | None) -> None:
        self._set(("researcherUserID",), value)

    start_date = text("activityStartDate")
    """``activityStartDate`` (raw string)."""

    end_date = text("activityEndDate")
    """``activityEndDate`` (raw string)."""

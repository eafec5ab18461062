"""``CodeValue``: the ``{"value": ..., "desc": ...}`` objects used for coded fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from esploro_async.models._json import as_str, json_copy

__all__ = ["CodeValue", "CodeValueLike"]


def _copy_source(source: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if source is None else dict(json_copy(dict(source)))


@attrs.frozen
class CodeValue:
    """A coded field such as ``{"value": "ACTIVE", "desc": "Active"}``.

    ``value`` and ``desc`` are read as strings (a number such as ``{"value": 0}`` gives
    ``"0"``). Extra keys (``order``, ``link``...) are kept: a ``CodeValue`` read with
    :meth:`from_json` remembers its source object, and :meth:`to_json` returns that object
    verbatim as long as ``value`` and ``desc`` are unchanged. After
    ``attrs.evolve(code, desc="x")`` the source is rewritten in place (key order and extra
    keys kept). Equality and hashing use ``value`` and ``desc`` only.
    """

    value: str | None
    """The code (``"ACTIVE"``); ``None`` when the JSON had no usable value."""
    desc: str | None = None
    """The human-readable description, or ``None``."""
    source: Mapping[str, Any] | None = attrs.field(
        default=None, eq=False, repr=False, converter=_copy_source
    )
    """The JSON object this code was read from (a private copy), or ``None``."""

    @classmethod
    def from_json(cls, data: Any) -> CodeValue | None:
        """Build from JSON: a dict with ``value``/``desc``, or a bare string/number code.

        ``None`` or anything else unreadable (lists, booleans) gives ``None``.
        """
        if isinstance(data, Mapping):
            return cls(as_str(data.get("value")), as_str(data.get("desc")), source=data)
        if isinstance(data, (str, int, float)) and not isinstance(data, bool):
            return cls(as_str(data))
        return None

    @classmethod
    def coerce(cls, value: CodeValueLike) -> CodeValue | None:
        """Accept a ``CodeValue``, a bare code string or ``None``."""
        if value is None or isinstance(value, CodeValue):
            return value
        return cls(value)

    @property
    def extra(self) -> dict[str, Any]:
        """Keys of the source object other than ``value`` and ``desc`` (a copy)."""
        if self.source is None:
            return {}
        return {k: json_copy(v) for k, v in self.source.items() if k not in ("value", "desc")}

    def _unchanged(self) -> bool:
        src = self.source
        if src is None:
            return False
        return as_str(src.get("value")) == self.value and as_str(src.get("desc")) == self.desc

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object: the source verbatim if unchanged, else a rewritten copy.

        A new code without a source gives ``{"value": v, "desc": d}`` (``desc`` omitted when
        ``None``).
        """
        if self.source is not None and self._unchanged():
            return dict(json_copy(self.source))
        out: dict[str, Any] = dict(json_copy(self.source)) if self.source is not None else {}
        out["value"] = self.value
        if self.desc is None:
            out.pop("desc", None)
        else:
            out["desc"] = self.desc
        return out

    def __str__(self) -> str:
        """The code value (empty string when ``None``)."""
        return self.value or ""


CodeValueLike: TypeAlias = "CodeValue | str | None"
"""What setters of coded properties accept: a ``CodeValue``, a bare code, or ``None``."""

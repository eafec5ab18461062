"""The lossless record base class shared by every JSON model."""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import attrs

from esploro_async.models._codes import CodeValue, CodeValueLike
from esploro_async.models._json import (
    MISSING,
    as_bool,
    as_int,
    as_list,
    as_str,
    get_path,
    json_copy,
)

__all__ = ["Record", "View"]

View = Literal["brief", "full"]
"""Provenance of a record: a ``brief`` list item or a ``full`` single-record GET."""

_R = TypeVar("_R", bound="Record")


def _copy_data(data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(f"a record must be a JSON object (dict), not {type(data).__name__}")
    return {k: json_copy(v) for k, v in data.items()}


def _check_view(_inst: object, _attr: object, value: object) -> None:
    if value not in ("brief", "full", None):
        raise ValueError(f"view must be 'brief', 'full' or None, not {value!r}")


@attrs.define(eq=False, repr=False)
class Record:
    """A lossless wrapper around one JSON record.

    The record's JSON object is kept verbatim (key order, unknown and dotted keys, nulls,
    odd types) and ``to_dict()`` gives it back unchanged. Typed properties of subclasses read
    from, and write to, exactly their own key(s); everything else is reachable through
    ``record["dotted.key"]``, :meth:`get`, ``in`` and :attr:`raw`. Keys are literal:
    ``record["identifier.doi"]`` reads the key ``"identifier.doi"``, it does not walk a path
    (use :meth:`get_in` for nested objects).

    Typed getters never raise on odd data; they return ``None`` (or ``[]`` for lists) when a
    value cannot be read as the documented type. Setters write the JSON form the API uses;
    assigning ``None`` removes the key.

    ``view`` records where the data came from (``"brief"`` list item, ``"full"`` GET, or
    ``None`` when unknown); it is not part of :meth:`to_dict`. Equality compares the class and
    the JSON data; ``repr`` shows the class name and id only.
    """

    _data: dict[str, Any] = attrs.field(factory=dict, converter=_copy_data, alias="data")
    view: View | None = attrs.field(default=None, validator=_check_view, kw_only=True)

    _ID_PATHS: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)

    # -- construction / export -------------------------------------------------------------

    @classmethod
    def from_dict(cls: type[_R], data: Mapping[str, Any], *, view: View | None = None) -> _R:
        """Build from a JSON object; the input is deep-copied (later edits never touch it)."""
        return cls(data=data, view=view)

    @classmethod
    def adopt(cls: type[_R], data: dict[str, Any], *, view: View | None = None) -> _R:
        """Wrap a freshly decoded JSON object without copying it.

        For data nobody else holds (a response body just parsed): the record takes
        ownership, so the caller must not use ``data`` afterwards. Use `from_dict` otherwise.
        """
        if not isinstance(data, dict):
            raise TypeError(f"a record must be a JSON object (dict), not {type(data).__name__}")
        record = cls.__new__(cls)
        object.__setattr__(record, "_data", data)
        object.__setattr__(record, "view", view)
        _check_view(record, None, view)
        return record

    def to_dict(self) -> dict[str, Any]:
        """Return the record's JSON object: a fresh deep copy, key order preserved."""
        return {k: json_copy(v) for k, v in self._data.items()}

    @property
    def raw(self) -> Mapping[str, Any]:
        """A read-only snapshot of the JSON object (a deep copy; edits go through setters)."""
        return types.MappingProxyType(self.to_dict())

    # -- mapping-like access ------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        """Return a deep copy of the value at the literal top-level ``key``."""
        return json_copy(self._data[key])

    def __setitem__(self, key: str, value: Any) -> None:
        """Set the literal top-level ``key`` (the value is deep-copied); order is kept."""
        self._data[key] = json_copy(value)

    def __delitem__(self, key: str) -> None:
        """Remove the literal top-level ``key``."""
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        """``True`` if the literal top-level key is present (even when its value is null)."""
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        """Iterate over the top-level keys in order."""
        return iter(list(self._data))

    def __len__(self) -> int:
        """Number of top-level keys."""
        return len(self._data)

    def keys(self) -> list[str]:
        """The top-level keys, in order."""
        return list(self._data)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a deep copy of ``self[key]``, or ``default`` when the key is absent."""
        if key in self._data:
            return json_copy(self._data[key])
        return default

    def get_in(self, *path: str, default: Any = None) -> Any:
        """Follow literal keys through nested objects; a deep copy, or ``default``."""
        found = get_path(self._data, *path, default=MISSING)
        return default if found is MISSING else json_copy(found)

    # -- equality / repr ------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Records are equal when they have the same class and the same JSON data."""
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._data == other._data

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    @property
    def record_id(self) -> str | None:
        """The record's identifier, as used in ``repr`` (``None`` when absent)."""
        for path in self._ID_PATHS:
            found = as_str(get_path(self._data, *path))
            if found is not None:
                return found
        return None

    def __repr__(self) -> str:
        """Short form: class name, id and view; never the whole record."""
        view = f" view={self.view!r}" if self.view is not None else ""
        return f"<{type(self).__name__} id={self.record_id!r}{view}>"

    # -- helpers for subclasses -----------------------------------------------------------------

    def _value(self, *path: str) -> Any:
        """The live value at ``path`` (``None`` when absent); do not mutate it."""
        return get_path(self._data, *path)

    def _str(self, *path: str) -> str | None:
        return as_str(self._value(*path))

    def _int(self, *path: str) -> int | None:
        return as_int(self._value(*path))

    def _bool(self, *path: str) -> bool | None:
        return as_bool(self._value(*path))

    def _code(self, *path: str) -> CodeValue | None:
        return CodeValue.from_json(self._value(*path))

    def _strs(self, *path: str) -> list[str]:
        return [s for s in (as_str(v) for v in as_list(self._value(*path))) if s is not None]

    def _set(self, path: tuple[str, ...], value: Any) -> None:
        """Write ``value`` (deep-copied) at ``path``; ``None`` removes the leaf key.

        Missing intermediate objects are created (appended at the end of their parent). An
        intermediate that is not an object (e.g. ``null``) is replaced by one.
        """
        target = self._data
        for key in path[:-1]:
            child = target.get(key)
            if not isinstance(child, dict):
                if value is None:
                    return
                child = {}
                target[key] = child
            target = child
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = json_copy(value)

    def _set_code(self, path: tuple[str, ...], value: CodeValueLike) -> None:
        """Write a code object (``{"value", "desc"}``, extra keys of a read code kept)."""
        code = CodeValue.coerce(value)
        self._set(path, None if code is None else code.to_json())

    def _set_code_like_existing(self, path: tuple[str, ...], value: CodeValueLike) -> None:
        """Write a code as an object if the current value is one, else as a bare string."""
        if isinstance(self._value(*path), Mapping):
            self._set_code(path, value)
            return
        code = CodeValue.coerce(value)
        self._set(path, None if code is None else code.value)

    def _set_bool_like_existing(self, path: tuple[str, ...], value: bool | None) -> None:
        """Write a bool in the current shape: JSON bool, ``"true"`` string or ``{"value"}``."""
        if value is None:
            self._set(path, None)
            return
        current = self._value(*path)
        text = "true" if value else "false"
        if isinstance(current, Mapping):
            updated = {k: v for k, v in current.items() if k != "desc"}
            updated["value"] = text
            self._set(path, updated)
        elif isinstance(current, str):
            self._set(path, text)
        else:
            self._set(path, value)

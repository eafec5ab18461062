"""Read-only typed views of one key of a record, declared as class attributes.

``title = text("title")`` on a record class reads ``record.title`` as ``str | None`` from
the key ``"title"``, with the same tolerant coercion as every typed getter (a number where a
string is expected, ``"true"`` for a boolean, a single object where a list is expected),
never raising on odd data. Keys are literal (``text("identifier.doi")`` reads that key); a
path of several keys walks nested objects. Properties that can also be set are written out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from esploro_async.models._codes import CodeValue
from esploro_async.models._json import as_bool, as_int, as_list, as_str, get_path

if TYPE_CHECKING:
    from esploro_async.models._base import Record

__all__ = ["KeyView", "coded", "flag", "number", "text", "texts"]

T = TypeVar("T")


class KeyView(Generic[T]):
    """A read-only attribute of a record that reads one key (or path) through ``read``."""

    __slots__ = ("_path", "_read")

    def __init__(self, read: Callable[[Any], T], *path: str) -> None:
        self._read = read
        self._path = path

    @overload
    def __get__(self, record: None, owner: type[Any]) -> KeyView[T]: ...

    @overload
    def __get__(self, record: Record, owner: type[Any]) -> T: ...

    def __get__(self, record: Record | None, owner: type[Any]) -> KeyView[T] | T:
        if record is None:
            return self
        return self._read(get_path(record._data, *self._path))


def _texts(value: Any) -> list[str]:
    return [s for s in (as_str(v) for v in as_list(value)) if s is not None]


def text(*path: str) -> KeyView[str | None]:
    """A string (numbers are read as their text)."""
    return KeyView(as_str, *path)


def number(*path: str) -> KeyView[int | None]:
    """An integer (``"12"`` is read as 12)."""
    return KeyView(as_int, *path)


def flag(*path: str) -> KeyView[bool | None]:
    """A boolean (``"true"``, ``"yes"`` and ``{"value": "true"}`` are true)."""
    return KeyView(as_bool, *path)


def coded(*path: str) -> KeyView[CodeValue | None]:
    """A ``{value, desc}`` code."""
    return KeyView(CodeValue.from_json, *path)


def texts(*path: str) -> KeyView[list[str]]:
    """A list of strings (a single value is read as a one-item list)."""
    return KeyView(_texts, *path)

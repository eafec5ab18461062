"""JSON helpers shared by the models: deep copies and tolerant coercions.

Every coercion here is *total*: it never raises on odd input, it returns ``None`` (or an
empty list) when the value cannot be read as the requested type.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MISSING",
    "as_bool",
    "as_int",
    "as_list",
    "as_str",
    "get_path",
    "json_copy",
    "object_list",
    "total_record_count",
    "unwrap_list",
]

MISSING: Any = object()
"""Sentinel for "key absent" (distinct from a JSON ``null``)."""

_TRUE = frozenset({"true", "yes", "y", "1", "on", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "f"})
_INT_RE = re.compile(r"[+-]?\d+")


def json_copy(value: Any) -> Any:
    """Deep-copy a JSON-like value; dicts keep their key order, other types are kept as is.

    ``dict`` and ``list`` are copied recursively (fast path); JSON scalars are immutable and
    shared; anything else falls back to :func:`copy.deepcopy`.
    """
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def as_str(value: Any) -> str | None:
    """Read ``value`` as a string.

    Strings are returned unchanged, numbers are formatted with :func:`str`, booleans become
    ``"true"``/``"false"``. ``None``, dicts and lists give ``None``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def as_int(value: Any) -> int | None:
    """Read ``value`` as an int: ``1``, ``"1"``, ``" 1 "`` and ``1.0`` give ``1``.

    Booleans, non-integral floats, non-numeric strings and containers give ``None``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return None
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.fullmatch(text):
            return int(text)
    return None


def as_bool(value: Any) -> bool | None:
    """Read ``value`` as a bool.

    Accepts real booleans, the strings ``true/false``, ``yes/no``, ``y/n``, ``1/0``, ``on/off``
    (any case), the ints 0 and 1, and Alma's ``{"value": "true"}`` wrapper. Anything else
    (including ``""`` and ``"unknown"``) gives ``None``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return None
    if isinstance(value, Mapping) and "value" in value:
        inner = value["value"]
        if isinstance(inner, Mapping):
            return None
        return as_bool(inner)
    return None


def as_list(value: Any) -> list[Any]:
    """Return ``value`` as a list: ``None``/missing give ``[]``, a single item gives ``[item]``.

    The returned list is a new list object, but its items are the original objects.
    """
    if value is None or value is MISSING:
        return []
    if isinstance(value, list):
        return list(value)
    if isinstance(value, tuple):
        return list(value)
    return [value]


def object_list(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON list as the API sends it: a lone object comes unwrapped.

    ``None``, a scalar and the non-object items of a list give no object.
    """
    return [item for item in as_list(value) if isinstance(item, dict)]


def total_record_count(data: Mapping[str, Any]) -> int | None:
    """A list page's total: ``total_record_count``, or ``totalRecordCount`` (assets by id,
    jobs, mapping tables), read with `as_int`. ``None`` when absent or not a count >= 0."""
    for key in ("total_record_count", "totalRecordCount"):
        total = as_int(data.get(key))
        if total is not None and total >= 0:
            return total
    return None


def unwrap_list(value: Any, item_key: str) -> list[Any]:
    """Like :func:`as_list`, but also unwraps an XML-style wrapper ``{item_key: [...]}``.

    An empty string (an empty XML wrapper element such as ``<links/>``) gives ``[]``.
    """
    if isinstance(value, str) and not value.strip():
        return []
    if isinstance(value, Mapping) and item_key in value and len(value) == 1:
        return as_list(value[item_key])
    return as_list(value)


def get_path(data: Any, *path: str, default: Any = None) -> Any:
    """Follow ``path`` through nested dicts; return ``default`` when any step is missing.

    Keys are literal: ``get_path(d, "identifier.doi")`` reads the key ``"identifier.doi"``.
    """
    current = data
    for key in path:
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return current

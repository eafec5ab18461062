"""Request paths: one percent-encoded segment, the full gateway path, the query sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from esploro_async.errors import InvalidIdentifierError

__all__ = ["full_path", "has_dot_segment", "query_of", "quote_segment"]


def quote_segment(value: str) -> str:
    """Percent-encode ``value`` for use as one path segment (ids, codes)."""
    return quote(str(value), safe="")


def has_dot_segment(path: str) -> bool:
    """Whether a ``/``-separated path has a ``.``/``..`` segment, raw or percent-encoded."""
    if "." not in path and "%" not in path:
        return False  # no dot, raw or encoded (the usual path): nothing to decode
    for part in path.split("/"):
        decoded = part
        for _ in range(4):
            if decoded in (".", ".."):
                return True
            step = unquote(decoded)
            if step == decoded:
                break
            decoded = step
        if "/" in decoded and has_dot_segment(decoded):
            return True
    return False


def full_path(method: str, path: str) -> str:
    """``path`` from the gateway's root (relative ones under ``/esploro/v1/``).

    Raises `InvalidIdentifierError` for a ``.``/``..`` segment, raw or encoded: it could
    resolve to another endpoint.
    """
    full = path if path.startswith("/") else f"/esploro/v1/{path}"
    if has_dot_segment(full.split("?", 1)[0]):
        raise InvalidIdentifierError(
            f"refusing {method} {full!r}: a '.'/'..' segment could resolve to another endpoint"
        )
    return full


def query_of(params: Mapping[str, Any] | None, lang: str | None) -> dict[str, Any]:
    """The query sent: ``params`` without ``None`` values, with the client's ``lang``."""
    query = {k: v for k, v in (params or {}).items() if v is not None}
    if lang is not None:
        query.setdefault("lang", lang)
    return query

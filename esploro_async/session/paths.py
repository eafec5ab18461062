"""Request paths: one percent-encoded segment, the full gateway path, the query sent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

import httpx

from esploro_async.errors import InvalidIdentifierError

__all__ = ["full_path", "has_dot_segment", "query_of", "quote_segment", "url_of"]


def quote_segment(value: str) -> str:
    """Percent-encode ``value`` for use as one path segment (ids, codes)."""
    return quote(str(value), safe="")


_DOTS = frozenset({".", ".."})
_SEPARATORS = re.compile(r"[/\\]")


def has_dot_segment(value: str) -> bool:
    """Whether ``value``, or any percent-decoding of it (at most 4 deep: ``%252e`` -> ``%2e``
    -> ``.``), has a ``.``/``..`` segment between ``/`` or ``\\`` separators."""
    if "." not in value and "%" not in value:
        return False  # no dot, raw or encoded (the usual path): nothing to decode
    form = value
    for _ in range(5):
        if any(part in _DOTS for part in _SEPARATORS.split(form)):
            return True
        decoded = unquote(form)
        if decoded == form:
            return False
        form = decoded
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


def url_of(base_url: str, path: str, params: Mapping[str, Any]) -> str | httpx.URL:
    """The URL of ``path`` under ``base_url`` with the query ``params``, as httpx builds it.

    The query is encoded by httpx's own `httpx.QueryParams`, into one string: given the
    parameters apart, httpx parses the URL, merges them and parses it again, which costs
    about a tenth of a request made in process. A ``path`` that carries a query of its own
    leaves the merging to httpx.
    """
    url = base_url + path
    if not params:
        return url
    if "?" in path:
        return httpx.URL(url).copy_merge_params(params)
    return f"{url}?{httpx.QueryParams(params)}"

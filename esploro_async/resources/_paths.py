"""Path parts that cannot leave their endpoint.

Every id a resource puts in a URL goes through `segment`: it is refused when a server could
resolve it to another endpoint, and otherwise percent-encoded as exactly one path segment.
``quote(..., safe="")`` alone is not enough: ``.`` and ``..`` are dot segments that clients
and servers remove (httpx normalises ``/researchers/..`` to ``/esploro/v1``), and RFC 3986
§2.3/§6.2.2.2 lets a server decode ``%2E`` to ``.`` before doing the same. So those are
refused with `InvalidIdentifierError` before anything is sent; ``/``, ``?``, ``#``, spaces
and non-ASCII text are encoded (``%2F``, ``%3F``, ``%23``, UTF-8) and stay inside the segment.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from esploro_async.errors import InvalidIdentifierError
from esploro_async.models._orcid import check_orcid

__all__ = ["check_orcid", "has_dot_segment", "segment"]

_DOTS = frozenset({".", ".."})
_SEPARATORS = re.compile(r"[/\\]")


def _decoded_forms(value: str) -> list[str]:
    """``value`` and its percent-decodings (``%252e`` -> ``%2e`` -> ``.``), at most 4 deep."""
    forms = [value]
    for _ in range(4):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    return forms


def has_dot_segment(value: str) -> bool:
    """Whether ``value``, or any percent-decoding of it, has a ``.``/``..`` path segment."""
    return any(part in _DOTS for form in _decoded_forms(value) for part in _SEPARATORS.split(form))


def segment(value: object, what: str) -> str:
    """``value`` percent-encoded as one path segment; refused if it could leave it.

    Raises:
        InvalidIdentifierError: ``value`` is not a non-empty string, or is (or decodes to
            something containing) a ``.``/``..`` segment.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidIdentifierError(f"{what} is required (a non-empty string), got {value!r}")
    if has_dot_segment(value):
        raise InvalidIdentifierError(
            f"refusing {what} {value!r}: it is or contains a '.'/'..' path segment (also "
            "percent-encoded), which the server could resolve to another endpoint"
        )
    return quote(value, safe="")

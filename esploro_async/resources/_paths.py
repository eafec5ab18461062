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

from urllib.parse import quote

from esploro_async.errors import InvalidIdentifierError
from esploro_async.models._orcid import check_orcid
from esploro_async.session.paths import has_dot_segment

__all__ = ["check_orcid", "has_dot_segment", "segment"]


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

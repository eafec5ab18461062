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

__all__ = ["check_orcid", "has_dot_segment", "segment"]

_DOTS = frozenset({".", ".."})
_SEPARATORS = re.compile(r"[/\\]")
_ORCID = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$")


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


def check_orcid(orcid: str) -> str:
    """The bare ORCID ``0000-0002-1825-0097`` from a bare one or an ``orcid.org`` URL.

    The last character is the ISO 7064 MOD 11-2 check digit over the 15 others (ORCID's
    "Structure of the ORCID Identifier"); a wrong one is refused.

    Raises:
        InvalidIdentifierError: not 16 digits (last may be ``X``) or a wrong checksum.
    """
    if not isinstance(orcid, str):
        raise InvalidIdentifierError(f"not an ORCID: {orcid!r}")
    bare = orcid.strip().rstrip("/").rsplit("/", 1)[-1]
    match = _ORCID.match(bare.upper())
    if match is None:
        raise InvalidIdentifierError(
            f"not an ORCID: {orcid!r} (expected 0000-0000-0000-000X, or an orcid.org URL)"
        )
    digits = "".join(match.groups())
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if digits[-1] != expected:
        raise InvalidIdentifierError(f"not an ORCID: {orcid!r} (its check digit is wrong)")
    return "-".join(match.groups())

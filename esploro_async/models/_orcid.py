"""ORCID iDs: one check for every way in (the ``Researcher.orcid`` setter, ``apply``,
``add_orcid_token``)."""

from __future__ import annotations

import re

from esploro_async.errors import InvalidIdentifierError

__all__ = ["check_orcid"]

_ORCID = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$")


def check_orcid(orcid: object) -> str:
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

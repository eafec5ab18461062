"""``PartialDate``: Esploro dates such as ``20211018``, ``202412`` or ``2024``."""

from __future__ import annotations

import datetime
import re

import attrs

__all__ = ["PartialDate"]

_COMPACT = re.compile(r"(\d{4})(\d{2})?(\d{2})?")
_DASHED = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _check_parts(year: int, month: int | None, day: int | None) -> bool:
    if month is None:
        return day is None and 1 <= year <= 9999
    if not 1 <= month <= 12:
        return False
    if day is None:
        return 1 <= year <= 9999
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


@attrs.frozen
class PartialDate:
    """A date with optional month and day, as in ``date.published``.

    ``PartialDate.parse("202412")`` gives ``PartialDate(2024, 12, None)``; ``str()`` gives the
    compact Esploro form back (``"202412"``).
    """

    year: int
    """The year."""
    month: int | None = None
    """The month (1-12), or ``None``."""
    day: int | None = None
    """The day of the month, or ``None`` (always ``None`` when ``month`` is)."""

    def __attrs_post_init__(self) -> None:
        """Reject impossible dates (month 13, 30 February, a day without a month)."""
        if not _check_parts(self.year, self.month, self.day):
            raise ValueError(f"invalid partial date {self.year}/{self.month}/{self.day}")

    @classmethod
    def parse(cls, text: object) -> PartialDate | None:
        """Parse ``YYYYMMDD``, ``YYYYMM``, ``YYYY`` (or ``YYYY-MM-DD``/``YYYY-MM``).

        Returns ``None`` for anything else (never raises), including impossible dates.
        """
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            return None
        text = text.strip()
        match = _COMPACT.fullmatch(text) or _DASHED.fullmatch(text)
        if match is None:
            return None
        year, month, day = (int(g) if g is not None else None for g in match.groups())
        assert year is not None
        if not _check_parts(year, month, day):
            return None
        return cls(year, month, day)

    @classmethod
    def from_date(cls, value: datetime.date) -> PartialDate:
        """A full date."""
        return cls(value.year, value.month, value.day)

    @property
    def is_complete(self) -> bool:
        """``True`` when year, month and day are all known."""
        return self.day is not None

    def to_date(self) -> datetime.date:
        """The first possible day: missing month/day are taken as 1."""
        return datetime.date(self.year, self.month or 1, self.day or 1)

    def __str__(self) -> str:
        """Compact Esploro form: ``YYYY``, ``YYYYMM`` or ``YYYYMMDD``."""
        out = f"{self.year:04d}"
        if self.month is not None:
            out += f"{self.month:02d}"
            if self.day is not None:
                out += f"{self.day:02d}"
        return out

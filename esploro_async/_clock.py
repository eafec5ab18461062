"""The event loop's clock, fast.

``anyio.current_time()`` detects the async library on every call; on asyncio the
running loop's ``time()`` is the same clock (virtualised by test loops such as
looptime, which subclass the loop) at a fraction of the cost, and a loop class that
keeps asyncio's own ``time()`` is read through ``time.monotonic`` directly. Elsewhere
(trio) it falls back to anyio.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from datetime import datetime, timezone

import anyio

__all__ = ["current_time", "parse_http_date"]


_PLAIN_TIME = asyncio.BaseEventLoop.time  # `time.monotonic()`, unless a loop class overrides it


def current_time() -> float:
    """The current time of the running event loop, in seconds."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return anyio.current_time()
    if type(loop).time is _PLAIN_TIME:
        # What the loop's own `time()` returns, one call sooner (looked up at each call, as
        # asyncio does: a process may replace `time.monotonic`).
        return time.monotonic()
    return loop.time()


# A ``Date`` outside these years is not a gateway's clock; accepting it would overflow
# date arithmetic (``datetime.max`` is 9999-12-31) or move the quota day by centuries.
_PLAUSIBLE_YEARS = range(2000, 2200)


def parse_http_date(value: str) -> datetime | None:
    """An HTTP date (``Date``, ``Retry-After``) as an aware UTC datetime.

    ``None`` when ``value`` is malformed, holds absurd numbers, or lies outside the
    years 2000-2199: a header never raises.
    """
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        parsed = parsed.astimezone(timezone.utc)
    except OverflowError:
        return None
    return parsed if parsed.year in _PLAUSIBLE_YEARS else None

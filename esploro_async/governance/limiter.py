"""A FIFO spacing limiter: consecutive grants at least one interval apart.

This is the semantics of ``aiolimiter.AsyncLimiter(1, interval)`` (burst 1, the
interval measured from the previous *actual* grant), built on anyio so that it
runs on asyncio and trio, reads a virtual clock in tests, and lets the interval
change at run time.

Why spacing and not a token bucket or a reservation scheduler:

* any ``N + 1`` consecutive grants span at least ``N * interval``, so with
  ``interval = (1 + margin) / rate`` no window of ``1 s`` ever holds more than
  ``rate`` grants, and the margin absorbs network jitter;
* a bucket with capacity ``C`` lets ``C + rate - 1`` grants into one second
  (``AsyncLimiter(25, 1)``: 49);
* a scheduler that hands out future slots bunches them after an event-loop
  stall, while spacing from the last actual grant only loses throughput.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import anyio

from esploro_async._clock import current_time

__all__ = ["SpacingLimiter"]

# A sleep may end a clock tick early (virtual clocks round to 1 µs); a head waiter
# that finds itself within this tolerance of its time is granted instead of
# re-sleeping ~0 s forever. The same amount is added to each interval, so grants
# are still never closer than the interval.
_TOLERANCE = 1e-6


class SpacingLimiter:
    """Grant request starts one at a time, first come first served, ``interval`` apart.

    Args:
        interval: seconds between grants, or a callable ``interval(now)`` read
            before every grant (the adaptive rate uses this).

    ``pause_until(deadline)`` holds every grant until ``deadline`` (the
    ``anyio.current_time()`` clock). A waiter cancelled while queued or while
    sleeping at the head consumes nothing.
    """

    def __init__(self, interval: float | Callable[[float], float]) -> None:
        if callable(interval):
            self._interval = interval
        else:
            if not interval >= 0:
                raise ValueError(f"interval must be >= 0, got {interval!r}")
            fixed = float(interval)
            self._interval = lambda _now: fixed
        self._last_grant = -math.inf
        self._paused_until = -math.inf
        self._waiting = 0
        self._lock = anyio.Lock(fast_acquire=True)

    @property
    def waiting(self) -> int:
        """Number of callers waiting in `acquire`."""
        return self._waiting

    @property
    def paused_until(self) -> float:
        """The pause deadline in force (``-inf`` when never paused)."""
        return self._paused_until

    def pause_until(self, deadline: float) -> None:
        """Grant nothing before ``deadline``; a shorter pause never shortens a longer one."""
        self._paused_until = max(self._paused_until, deadline)

    async def acquire(self) -> float:
        """Wait for a grant and return its time (``anyio.current_time()``)."""
        if not self._waiting:
            # Nobody queued: grant at once if the interval has passed.
            now = current_time()
            if now >= max(self._last_grant + self._interval(now) + _TOLERANCE, self._paused_until):
                self._last_grant = now
                return now
        self._waiting += 1
        try:
            async with self._lock:
                while True:
                    now = current_time()
                    earliest = max(
                        self._last_grant + self._interval(now) + _TOLERANCE,
                        self._paused_until,
                    )
                    if now + _TOLERANCE >= earliest:
                        # Record the later of the two so that an early wake-up is
                        # not carried into the next interval.
                        self._last_grant = max(now, earliest)
                        return now
                    await anyio.sleep_until(earliest)
        finally:
            self._waiting -= 1

"""A spacing limiter: consecutive grants at least one interval apart, in priority order.

This is the semantics of ``aiolimiter.AsyncLimiter(1, interval)`` (burst 1, the
interval measured from the previous *actual* grant), built on anyio so that it
runs on asyncio and trio, reads a virtual clock in tests, and lets the interval
change at run time. Waiters are served by priority (lower first), first come
first served within a priority: interactive requests overtake queued batch work,
and a retry overtakes fresh requests of its lane, without ever shortening the spacing.

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

import heapq
import itertools
import math
from collections.abc import Callable

import anyio

from esploro_async._clock import current_time
from esploro_async.errors import ConfigurationError

__all__ = ["SpacingLimiter"]

# A sleep may end a clock tick early (virtual clocks round to 1 µs); a head waiter
# that finds itself within this tolerance of its time is granted instead of
# re-sleeping ~0 s forever. The same amount is added to each interval, so grants
# are still never closer than the interval.
_TOLERANCE = 1e-6


class _Waiter:
    """A queued caller; ordered by (priority, arrival)."""

    __slots__ = ("event", "key")

    def __init__(self, priority: int, seq: int) -> None:
        self.key = (priority, seq)
        self.event = anyio.Event()

    def __lt__(self, other: _Waiter) -> bool:
        return self.key < other.key

    def nudge(self) -> None:
        """Make the waiter look at the queue again."""
        self.event.set()


class SpacingLimiter:
    """Grant request starts one at a time, ``interval`` apart, lowest priority value first.

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
                raise ConfigurationError(f"interval must be >= 0, got {interval!r}")
            fixed = float(interval)
            self._interval = lambda _now: fixed
        self._last_grant = -math.inf
        self._paused_until = -math.inf
        self._queue: list[_Waiter] = []
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        """Number of callers waiting in `acquire`."""
        return len(self._queue)

    @property
    def paused_until(self) -> float:
        """The pause deadline in force (``-inf`` when never paused)."""
        return self._paused_until

    def pause_until(self, deadline: float) -> None:
        """Grant nothing before ``deadline``; a shorter pause never shortens a longer one."""
        self._paused_until = max(self._paused_until, deadline)

    def _earliest(self, now: float) -> float:
        return max(self._last_grant + self._interval(now) + _TOLERANCE, self._paused_until)

    def _grant(self, now: float) -> float:
        # Record the later of the two so that an early wake-up is not carried into the
        # next interval.
        self._last_grant = max(now, self._earliest(now))
        return now

    async def acquire(self, priority: int = 0) -> float:
        """Wait for a grant and return its time (``anyio.current_time()``).

        Lower ``priority`` values are served first; equal ones in arrival order.
        """
        if not self._queue:
            now = current_time()
            if now + _TOLERANCE >= self._earliest(now):
                return self._grant(now)
        waiter = _Waiter(priority, next(self._seq))
        # A waiter that overtakes the head needs no nudge for it: only the head grants, and a
        # former head that wakes at its deadline finds it is no longer first and waits.
        heapq.heappush(self._queue, waiter)
        try:
            while True:
                if self._queue[0] is waiter:
                    now = current_time()
                    earliest = self._earliest(now)
                    if now + _TOLERANCE >= earliest:
                        heapq.heappop(self._queue)
                        if self._queue:
                            self._queue[0].nudge()
                        return self._grant(now)
                    with anyio.move_on_after(earliest - now):
                        await waiter.event.wait()
                else:
                    await waiter.event.wait()
                waiter.event = anyio.Event()
        except BaseException:
            if waiter in self._queue:
                was_head = self._queue[0] is waiter
                self._queue.remove(waiter)
                heapq.heapify(self._queue)
                if was_head and self._queue:
                    self._queue[0].nudge()
            raise

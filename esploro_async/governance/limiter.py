"""A spacing limiter: grants one interval apart on a virtual timeline, in priority order.

Each grant takes a *slot* on a timeline; the next slot is one interval after it. A
waiter that wakes up late for its slot (a timer fires late, the event loop was busy)
keeps the slot if it is at most ``catch_up`` seconds late, so a late wake-up is
recovered by the next grant instead of being carried into every later one; a waiter
later than that, or a caller that finds the limiter idle, starts the timeline anew at
its own time. Waiters are served by priority (lower first), first come first served
within a priority: interactive requests overtake queued batch work, and a retry
overtakes fresh requests of its lane, without ever shortening the spacing.

The guarantees, for any pattern of wake-ups:

* two grants are at least ``interval - catch_up`` apart, and any ``N + 1`` consecutive
  grants span at least ``N * interval - catch_up``: with ``interval = (1 + margin) /
  rate`` and ``catch_up <= margin`` no window of one second holds more than ``rate``
  grants, and what is left of the margin absorbs network jitter;
* with ``window=(limit, period)`` no ``limit + 1`` consecutive grants fall within
  ``period`` seconds, whatever the interval (this is what keeps a margin of 0 exact);
* an event-loop stall never bunches grants: after it the timeline restarts at most
  ``catch_up`` in the past.

Why not a token bucket: a bucket with capacity ``C`` lets ``C + rate - 1`` grants into one
second (``AsyncLimiter(25, 1)``: 49). With ``catch_up=0`` the limiter is
``AsyncLimiter(1, interval)``: the interval is measured from the previous actual grant.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
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
        catch_up: how late (s) a waiter may wake and still keep its slot on the
            timeline (default 0: spacing from the previous actual grant).
        window: ``(limit, period)``: never more than ``limit`` grants within any
            ``period`` seconds, checked on the actual grant times.
        hold: a callable ``hold(t)`` giving the earliest time (``>= t``) a grant due at
            ``t`` may be made, read before every grant (room left by other senders).

    ``pause_until(deadline)`` holds every grant until ``deadline`` (the
    ``anyio.current_time()`` clock). A waiter cancelled while queued or while
    sleeping at the head consumes nothing.
    """

    def __init__(
        self,
        interval: float | Callable[[float], float],
        *,
        catch_up: float = 0.0,
        window: tuple[int, float] | None = None,
        hold: Callable[[float], float] | None = None,
    ) -> None:
        if callable(interval):
            self._interval = interval
        else:
            if not interval >= 0:
                raise ConfigurationError(f"interval must be >= 0, got {interval!r}")
            fixed = float(interval)
            self._interval = lambda _now: fixed
        if not (catch_up >= 0 and math.isfinite(catch_up)):
            raise ValueError(f"catch_up must be >= 0, got {catch_up!r}")
        if window is not None and not (window[0] >= 1 and window[1] > 0):
            raise ValueError(f"window must be (limit >= 1, period > 0), got {window!r}")
        self.catch_up = catch_up
        self.window = window
        self._period = 0.0 if window is None else float(window[1])
        self._recent: deque[float] | None = None if window is None else deque(maxlen=window[0])
        self._hold = hold
        self._slot = -math.inf
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
        earliest = max(self._slot + self._interval(now) + _TOLERANCE, self._paused_until)
        recent = self._recent
        if recent is not None and len(recent) == recent.maxlen:
            # The window's guard: the grant `limit` back must have left the period.
            earliest = max(earliest, recent[0] + self._period + _TOLERANCE)
        if self._hold is not None:
            earliest = max(earliest, self._hold(max(now, earliest)))
        return earliest

    def _grant(self, now: float, earliest: float, waited: bool) -> float:
        # The slot is the later of the two so that an early wake-up is not carried into the
        # next interval; a waiter that slept for its slot keeps it when late by <= catch_up.
        self._slot = max(earliest, now - self.catch_up if waited else now)
        if self._recent is not None:
            self._recent.append(now)
        return now

    def grant_now(self) -> float | None:
        """A grant without waiting, if one is due and nobody waits: its time, else ``None``."""
        if self._queue:
            return None
        now = current_time()
        earliest = self._earliest(now)
        if now + _TOLERANCE >= earliest:
            return self._grant(now, earliest, waited=False)
        return None

    async def acquire(self, priority: int = 0) -> float:
        """Wait for a grant and return its time (``anyio.current_time()``).

        Lower ``priority`` values are served first; equal ones in arrival order.
        """
        granted = self.grant_now()
        if granted is not None:
            return granted
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
                        return self._grant(now, earliest, waited=True)
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

"""The daily quota, tracked from ``X-Exl-Api-Remaining``.

Every response, errors included, says how many requests the institution has
left until the quota resets (midnight GMT, by Ex Libris's account; the reset
time is configurable because the sources do not state the time zone). Responses
arrive out of order, so the ledger keeps the *lowest* value seen for the current
quota day, and counts requests in flight against it: the estimate of what is
left is ``lowest seen - in flight``. A request is sent only while that estimate
is above the reserve, so the reserve is never crossed by this process.

Two rules make the reserve exact rather than merely safe:

- While the quota of the current day is unknown (at the start, after the daily reset)
  and a reserve is to be kept, at most one request is in flight: it is the probe whose
  response tells. Without a reserve (``daily_reserve=0``, the default) nothing waits for
  it: the first round trip is not spent alone.
- The estimate counts every request in flight, but the header of a response may
  already count some of them. At the reserve, the ledger therefore waits for the
  requests in flight to settle and looks again before it refuses.

The reservation is taken before the rate permit (so that waiting callers hold no
permit) and checked again, against the latest knowledge, right before sending.

Days are read from the gateway's ``Date`` header (the server's clock, not the
host's), advanced between responses with ``anyio.current_time()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

import anyio
import attrs

from esploro_async._clock import current_time
from esploro_async.errors import ConfigurationError
from esploro_async.governance.protocol import QuotaRefusal, QuotaStatus, ResponseInfo

__all__ = ["DAILY_THRESHOLD", "LocalQuotaLedger", "QuotaDay", "ServerClock"]

DAILY_THRESHOLD = "DAILY_THRESHOLD"

# After this many API answers (below 500) in a row without ``X-Exl-Api-Remaining`` (a proxy
# that strips it, a stand-in server), the quota counts as not reported and probing stops.
_UNREPORTED_LIMIT = 3


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ServerClock:
    """The gateway's wall clock, estimated from ``Date`` headers: the gateway's clock wins.

    Before any header it starts from ``wall()`` (the host's clock), provisionally: the first
    ``Date`` header replaces that guess whichever way the host is off. Between headers it
    advances with ``anyio.current_time()`` (so virtual clocks in tests move it too).

    A ``Date`` header is truncated to the second and was written before the response
    travelled, so it lags the gateway's clock by up to a second plus the latency. Headers
    ahead of the estimate move it forward; headers behind it by more than ``tolerance``
    seconds (the gateway's clock stepped back, or an earlier header was wrong) move it back.
    Lagging is the safe side: the ledger then counts requests against the old day's quota
    for a moment longer, never against a fresh day the gateway has not started.
    """

    def __init__(self, wall: Callable[[], datetime] = _utcnow, *, tolerance: float = 2.0) -> None:
        self._wall = wall
        self._tolerance = timedelta(seconds=tolerance)
        self._anchor: tuple[datetime, float] | None = None
        self._from_server = False

    def observe(self, server_date: datetime, at: float) -> bool:
        """A response dated ``server_date`` arrived at ``at`` (``anyio.current_time()``).

        Returns whether the estimate moved.
        """
        if self._anchor is not None and self._from_server:
            estimate = self.now(at)
            if estimate - self._tolerance <= server_date <= estimate:
                return False
        self._anchor = (server_date, at)
        self._from_server = True
        return True

    def now(self, at: float) -> datetime:
        """The gateway's time at ``at`` (``anyio.current_time()``)."""
        if self._anchor is None:
            self._anchor = (self._wall(), at)
        anchor_date, anchor_at = self._anchor
        return anchor_date + timedelta(seconds=at - anchor_at)


class QuotaDay:
    """Maps a moment to its quota day, given the time of day the quota resets."""

    def __init__(self, reset_time: time = time(0, tzinfo=timezone.utc)) -> None:
        if reset_time.tzinfo is None:
            raise ConfigurationError(
                "reset_time must be timezone-aware, e.g. time(0, tzinfo=timezone.utc)"
            )
        offset = reset_time.utcoffset() or timedelta(0)
        self._shift = (
            timedelta(hours=reset_time.hour, minutes=reset_time.minute, seconds=reset_time.second)
            - offset
        )

    def of(self, moment: datetime) -> date:
        """The quota day that ``moment`` belongs to."""
        return (moment.astimezone(timezone.utc) - self._shift).date()

    def resets_at(self, day: date) -> datetime:
        """When the quota day ``day`` ends (timezone-aware UTC)."""
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        return start + timedelta(days=1) + self._shift


class LocalQuotaLedger:
    """In-process `QuotaLedger`: the lowest ``X-Exl-Api-Remaining`` of the day, minus in flight.

    Args:
        reserve: requests to leave unspent; nothing is sent once the estimate is at
            or below it.
        reset_time: time of day the quota resets (default midnight UTC).
        clock: the server clock (tests inject one).
    """

    def __init__(
        self,
        reserve: int = 0,
        *,
        reset_time: time = time(0, tzinfo=timezone.utc),
        clock: ServerClock | None = None,
    ) -> None:
        if reserve < 0:
            raise ConfigurationError(f"daily_reserve must be >= 0, got {reserve!r}")
        self.reserve_floor = reserve
        self._days = QuotaDay(reset_time)
        self._clock = clock or ServerClock()
        self._day: date | None = None
        self._lowest: int | None = None
        self._in_flight = 0
        self._unreported = 0  # sent responses without a quota header while it is unknown
        self._changed: anyio.Event | None = None
        # Caches for the hot path: the loop time before which the day cannot have ended,
        # and the quota day of the last Date header seen (parsed dates are shared objects).
        self._safe_until = -math.inf
        self._last_date: datetime | None = None
        self._last_date_day: date | None = None

    async def reserve(self, floor: int | None = None) -> None:
        """Count one request in flight; wait while that cannot be decided yet.

        Waits while the quota of the day is unknown and a probe is in flight, or while
        the estimate is at the reserve (or ``floor``) and requests are still in flight.
        Raises `QuotaRefusal` once the reserve is reached with nothing in flight.
        """
        limit = self.reserve_floor if floor is None else floor
        while not self._may_send(limit, counted=0):
            await self._next_change()
        self._in_flight += 1

    async def confirm(self, floor: int | None = None) -> bool:
        """Check a reservation again right before sending (see `QuotaLedger.confirm`)."""
        limit = self.reserve_floor if floor is None else floor
        return self._may_send(limit, counted=1)

    def _may_send(self, limit: int, *, counted: int) -> bool:
        """True: go. False: wait for a change. `QuotaRefusal`: the reserve is reached.

        ``counted`` is 1 when the caller's own request is already in flight.
        """
        self._roll_over()
        others = self._in_flight - counted
        if self._lowest is None:
            # The probe protects a reserve; without one (the default) there is nothing to
            # cross, and an exhausted quota refuses the requests in flight at no cost.
            return limit <= 0 or others == 0 or self._unreported >= _UNREPORTED_LIMIT
        if self._lowest - others > limit:
            return True
        if others > 0:
            return False
        status = attrs.evolve(self.status(), reserve=limit)
        raise QuotaRefusal(status, from_gateway=self._lowest == 0)

    async def _next_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def settle(self, info: ResponseInfo | None) -> None:
        """Release one in-flight request and learn from its response."""
        self._in_flight -= 1
        try:
            self._learn(info)
        finally:
            self._notify()

    def _learn(self, info: ResponseInfo | None) -> None:
        if info is None or not info.sent:
            return
        day = self._day_of(info)
        if info.error_code == DAILY_THRESHOLD:
            self._observe(day, 0)
        elif info.remaining is not None:
            self._observe(day, info.remaining)
        elif self._lowest is not None and day == self._day:
            # No header: the request may still have been charged.
            self._lowest = max(0, self._lowest - 1)
        elif self._lowest is None and info.status_code is not None and info.status_code < 500:
            # An answer of the API itself without the header (timeouts and 5xx pages of a
            # proxy prove nothing about the gateway).
            self._unreported += 1

    def _day_of(self, info: ResponseInfo) -> date:
        """The quota day of a response: its ``Date`` (which sets the server clock), else now
        on the server clock."""
        now = current_time()
        if info.server_date is None:
            if self._day is not None and now < self._safe_until:
                return self._day  # the server clock's day cannot have ended yet
            return self._days.of(self._clock.now(now))
        if info.server_date is self._last_date and self._last_date_day is not None:
            return self._last_date_day
        if self._clock.observe(info.server_date, now):
            self._safe_until = -math.inf  # the clock moved: look at the day again
        day = self._last_date_day = self._days.of(info.server_date)
        self._last_date = info.server_date
        return day

    def status(self) -> QuotaStatus:
        """The current view (the reset time follows the server clock)."""
        try:
            now = self._clock.now(current_time())
        except Exception:  # no event loop: report from the host's clock
            now = _utcnow()
        day = self._day or self._days.of(now)
        resets_at = self._days.resets_at(day)
        return QuotaStatus(
            remaining=self._lowest,
            estimate=self._estimate(),
            in_flight=self._in_flight,
            reserve=self.reserve_floor,
            resets_at=resets_at,
            resets_in=max(0.0, (resets_at - now).total_seconds()),
        )

    def _estimate(self) -> int | None:
        return None if self._lowest is None else self._lowest - self._in_flight

    def _observe(self, day: date, remaining: int) -> None:
        self._unreported = 0
        if self._day is None or day > self._day:
            self._day, self._lowest = day, remaining
            self._safe_until = -math.inf
        elif day == self._day:
            self._lowest = remaining if self._lowest is None else min(self._lowest, remaining)
        # A response dated the previous quota day says nothing about today.

    def _roll_over(self) -> None:
        if self._day is None:
            return
        at = current_time()
        if at < self._safe_until:
            return
        now = self._clock.now(at)
        if self._days.of(now) > self._day:
            self._day, self._lowest = None, None
            self._unreported = 0
            self._safe_until = -math.inf
        else:
            # Check precisely again only in the last minute before the reset.
            left = (self._days.resets_at(self._day) - now).total_seconds()
            self._safe_until = at + max(0.0, left - 60.0)

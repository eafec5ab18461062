"""`RedisQuotaLedger`: the daily quota and the requests in flight of every process."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timezone

import anyio

from esploro_async._clock import current_time
from esploro_async.errors import RedisUnavailableError
from esploro_async.governance.protocol import QuotaRefusal, QuotaStatus, ResponseInfo
from esploro_async.governance.quota import DAILY_THRESHOLD, QuotaDay, ServerClock
from esploro_async.governance.redis._store import (
    QUOTA_TTL_MS,
    US,
    Fallback,
    Store,
    as_int,
    log,
    unreachable_errors,
)


class RedisQuotaLedger:
    """`QuotaLedger` shared by every process of an institution through Redis.

    Args:
        store: the connection and key names (built by `RedisGovernance`).
        reserve: requests of the daily quota never to spend, institution-wide.
        rate_limit: the institution's per-second ceiling, bounding how much other processes
            can have started since their last sync.
        sync_interval: seconds between syncs with Redis while far from the reserve.
        inflight_lease: seconds after which a silent process's in-flight count is dropped.
        fallback: ``"error"`` raises `RedisUnavailableError` from `reserve` when Redis is
            needed but unreachable; ``"local"`` continues on this process's own view.
        reset_time: when the quota day ends (default midnight UTC).
    """

    def __init__(
        self,
        store: Store,
        reserve: int = 0,
        *,
        rate_limit: float = 25.0,
        sync_interval: float = 0.5,
        inflight_lease: float = 120.0,
        fallback: Fallback = "error",
        reset_time: time = time(0, tzinfo=timezone.utc),
    ) -> None:
        if reserve < 0:
            raise ValueError(f"daily_reserve must be >= 0, got {reserve!r}")
        self.reserve_floor = reserve
        self.sync_interval = sync_interval
        self.inflight_lease = inflight_lease
        self.fallback: Fallback = fallback
        #: What other processes may start between two syncs: kept off the estimate.
        self.slack = math.ceil(rate_limit * sync_interval)
        self._rate_limit = rate_limit
        self._store = store
        self._id = uuid.uuid4().hex[:16]
        self._days = QuotaDay(reset_time)
        self._clock = ServerClock()
        self._day: date | None = None
        self._shared: int | None = None  # lowest for self._day, as last seen in Redis
        self._local: int | None = None  # lowest this process observed for self._day
        self._others = 0
        self._in_flight = 0
        self._synced_at = -math.inf
        self._retry_at = -math.inf
        self._lock: anyio.Lock | None = None
        self._pending_sync = False

    async def reserve(self, floor: int | None = None) -> None:
        """Count one request in flight, or raise `QuotaRefusal` at the shared reserve.

        ``floor`` is the reserve of the request's lane (default: the ledger's own).
        """
        floor = self.reserve_floor if floor is None else floor
        now = current_time()
        self._roll_over(now)
        if not self._needs_redis(now, floor):
            self._in_flight += 1
            return
        try:
            if self.fallback == "local" and now < self._retry_at:
                raise OSError("Redis was unreachable moments ago")
            granted = await self._sync(want=1, floor=floor, only_if_needed=True)
        except unreachable_errors() as exc:
            if self.fallback == "error":
                raise RedisUnavailableError(
                    f"Redis is unreachable ({exc}); the shared daily quota cannot be checked "
                    "and nothing was sent. Pass fallback='local' to continue on this process's "
                    "own view while it is down"
                ) from exc
            self._retry_at = max(self._retry_at, now + self.sync_interval)
            granted = self._local_check(floor)
            if granted:
                self._in_flight += 1
        if not granted:
            lowest = self._lowest()
            raise QuotaRefusal(self.status(), from_gateway=lowest == 0)

    async def confirm(self, floor: int | None = None) -> bool:
        """The shared ledger decides at `reserve`, atomically in Redis: always ``True``."""
        return True

    async def settle(self, info: ResponseInfo | None) -> None:
        """Release one in-flight request, learn from its response, sync when due."""
        self._in_flight = max(0, self._in_flight - 1)
        now = current_time()
        if info is not None and info.sent:
            if info.server_date is not None:
                self._clock.observe(info.server_date, now)
            self._roll_over(now)
            day = self._days.of(info.server_date or self._clock.now(now))
            if info.error_code == DAILY_THRESHOLD:
                self._observe(day, 0, urgent=True)
            elif info.remaining is not None:
                self._observe(day, info.remaining)
            elif self._local is not None and day == self._day:
                self._local = max(0, self._local - 1)
        if (self._pending_sync or self._needs_redis(now)) and now >= self._retry_at:
            with anyio.CancelScope(shield=True):
                try:
                    await self._sync(want=0, only_if_needed=True)
                except unreachable_errors() as exc:
                    log.debug("quota sync failed (%s); will retry", exc)
                    self._retry_at = now + self.sync_interval

    def status(self) -> QuotaStatus:
        """The view of the shared quota as of the last sync plus this process's observations."""
        try:
            now_dt = self._clock.now(current_time())
        except Exception:  # no event loop
            now_dt = datetime.now(timezone.utc)
        day = self._day or self._days.of(now_dt)
        resets_at = self._days.resets_at(day)
        lowest = self._lowest()
        in_flight = self._in_flight + self._others
        return QuotaStatus(
            remaining=lowest,
            estimate=None if lowest is None else lowest - in_flight,
            in_flight=in_flight,
            reserve=self.reserve_floor,
            resets_at=resets_at,
            resets_in=max(0.0, (resets_at - now_dt).total_seconds()),
        )

    # -- internals ---------------------------------------------------------------------------

    def _lowest(self) -> int | None:
        values = [v for v in (self._shared, self._local) if v is not None]
        return min(values) if values else None

    def _needs_redis(self, now: float, floor: int | None = None) -> bool:
        """True unless the cached view is fresh and far enough above the reserve."""
        if now - self._synced_at >= self.sync_interval:
            return True
        lowest = self._lowest()
        if lowest is None:
            return False
        drift = math.ceil(self._rate_limit * (now - self._synced_at))
        optimistic = lowest - self._others - self._in_flight - drift - 2 * self.slack
        return optimistic <= (self.reserve_floor if floor is None else floor)

    def _local_check(self, floor: int) -> bool:
        lowest = self._lowest()
        if lowest is None:
            return True
        return lowest - self._others - self._in_flight - self.slack > floor

    def _observe(self, day: date, remaining: int, *, urgent: bool = False) -> None:
        if self._day is None or day > self._day:
            self._day, self._local, self._shared, self._others = day, remaining, None, 0
        elif day == self._day:
            self._local = remaining if self._local is None else min(self._local, remaining)
        else:
            return  # a response of the previous quota day says nothing about today
        if urgent or self._shared is None:
            self._pending_sync = True  # 0 from the gateway, or the day's first value

    def _roll_over(self, now: float) -> None:
        today = self._days.of(self._clock.now(now))
        if self._day is None:
            self._day = today
        elif today > self._day:
            self._day, self._local, self._shared, self._others = today, None, None, 0

    async def _sync(
        self, *, want: int, floor: int | None = None, only_if_needed: bool = False
    ) -> bool:
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            now = current_time()
            if only_if_needed and not (self._pending_sync or self._needs_redis(now, floor)):
                # Another task synced while this one waited for the lock.
                if want:
                    self._in_flight += want
                return True
            day = self._day or self._days.of(self._clock.now(current_time()))
            observed = self._local
            granted, stored, others = await self._store.run(
                self._store.quota_script,
                [self._store.quota_key(day), self._store.inflight_key, self._store.leases_key],
                [
                    self._id,
                    self._in_flight,
                    "" if observed is None else observed,
                    QUOTA_TTL_MS,
                    round(self.inflight_lease * US),
                    want,
                    self.reserve_floor if floor is None else floor,
                    self.slack if want else 0,
                ],
            )
            self._pending_sync = False
            self._synced_at = current_time()
            if self._day is None or day == self._day:
                self._day = day
                value = as_int(stored)
                self._shared = None if value < 0 else value
                self._others = as_int(others)
            ok = bool(as_int(granted))
            if ok and want:
                self._in_flight += want
            return ok

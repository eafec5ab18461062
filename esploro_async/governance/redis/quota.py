"""`RedisQuotaLedger`: the daily quota and the requests in flight of every process."""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from datetime import date, datetime, time, timezone

import anyio
import attrs

from esploro_async._clock import current_time
from esploro_async.errors import RedisUnavailableError
from esploro_async.governance.protocol import QuotaRefusal, QuotaStatus, ResponseInfo
from esploro_async.governance.quota import (
    _UNREPORTED_LIMIT as UNREPORTED_LIMIT,
)
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


@attrs.frozen
class _Reply:
    """What one quota script call said."""

    granted: bool
    stored: int | None
    others: int
    why: int
    loose: int


_AT_FLOOR = 1
_PROBING = 2
# Positions in the quota script's ARGV (0-based here) of what a withdrawal changes.
_ARG_MINE = 1
_ARG_WANT = 5
_ARG_RELEASE = 10


class RedisQuotaLedger:
    """`QuotaLedger` shared by every process of an institution through Redis.

    Far above the reserve a process reserves from its cached view and syncs every
    ``sync_interval``. Within ``strict_margin`` of the reserve (and for the rest of the
    quota day) every reservation and every settlement is one atomic script call, so the
    requests in flight everywhere are counted exactly. While the day's quota is unknown
    (at start and after the daily reset) the first reservation institution-wide takes the
    day's *probe*; every other waits until its response tells the quota. A reservation
    refused at the reserve waits while requests are in flight anywhere (they may come
    back charged or not) and is refused only when nothing is: the institution ends at the
    reserve, neither below nor short of it.

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
        strict_margin: requests above the reserve from which every reservation is counted
            in Redis (default: four seconds at ``rate_limit`` plus 200 requests in flight).
        probe_lease: seconds after which the probe of a vanished process is given up.
        poll_interval: seconds between looks at Redis while waiting for a probe's answer
            or for requests in flight to settle at the reserve.
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
        strict_margin: int | None = None,
        probe_lease: float = 60.0,
        poll_interval: float = 0.1,
    ) -> None:
        if reserve < 0:
            raise ValueError(f"daily_reserve must be >= 0, got {reserve!r}")
        self.reserve_floor = reserve
        self.sync_interval = sync_interval
        self.inflight_lease = inflight_lease
        self.fallback: Fallback = fallback
        self.probe_lease = probe_lease
        self.poll_interval = poll_interval
        #: What other processes may start between two syncs: kept off the estimate while
        #: some process still reserves from its local view.
        self.slack = math.ceil(rate_limit * sync_interval)
        self.strict_margin = (
            math.ceil(4 * rate_limit) + 200 if strict_margin is None else strict_margin
        )
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
        self._published = 0  # this process's in-flight count as Redis last saw it
        self._strict = False  # every reservation counted in Redis (sticky for the day)
        self._probing = False  # this process holds the day's probe
        self._hold_until = -math.inf  # no look at Redis before (waiting for others)
        self._held_at = -math.inf
        self._synced_at = -math.inf
        self._retry_at = -math.inf
        self._lock: anyio.Lock | None = None
        self._pending_sync = False

    async def reserve(self, floor: int | None = None) -> None:
        """Count one request in flight, or raise `QuotaRefusal` at the shared reserve.

        ``floor`` is the reserve of the request's lane (default: the ledger's own). Waits
        while the day's quota is being probed by another request, or while requests in
        flight may still leave room above the reserve.
        """
        floor = self.reserve_floor if floor is None else floor
        while True:
            now = current_time()
            self._roll_over(now)
            if not self._needs_redis(now, floor):
                self._in_flight += 1
                return
            if now < self._hold_until:
                await anyio.sleep_until(self._hold_until)
            elif await self._reserve_shared(now, floor):
                return

    async def confirm(self, floor: int | None = None) -> bool:
        """Check a reservation again right before sending (see `QuotaLedger.confirm`).

        Reads this process's view only (no Redis call while a rate permit is held): near
        the reserve, `reserve` counted the request in Redis atomically, and what the
        view has learnt since can only make it more careful.
        """
        floor = self.reserve_floor if floor is None else floor
        lowest = self._lowest()
        if lowest is None:
            return True  # the day's probe, granted in Redis
        others = self._others + self._in_flight - 1
        if lowest - others > floor:
            return True
        if others > 0:
            return False
        raise self._refusal(floor)

    async def settle(self, info: ResponseInfo | None) -> None:
        """Release one in-flight request, learn from its response, sync when due."""
        self._in_flight = max(0, self._in_flight - 1)
        now = current_time()
        if info is not None and info.sent:
            self._learn(info, now)
        release = self._probe_release(info)
        if self._sync_due(now, release) and now >= self._retry_at:
            with anyio.CancelScope(shield=True):
                try:
                    await self._sync(want=0, release=release)
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

    async def _reserve_shared(self, now: float, floor: int) -> bool:
        """Reserve through Redis: True when reserved, False to look again after a hold.

        Raises `QuotaRefusal` at the reserve, `RedisUnavailableError` when Redis is needed,
        unreachable and ``fallback="error"``.
        """
        try:
            if self.fallback == "local" and now < self._retry_at:
                raise OSError("Redis was unreachable moments ago")
            reply = await self._sync(want=1, floor=floor, only_if_needed=True)
        except unreachable_errors() as exc:
            if self._fallback_reserve(exc, now, floor):
                return True
            if self._lowest() is None:  # this process's probe is in flight: wait
                self._hold()
                return False
            raise self._refusal(floor) from None
        if reply is None or reply.granted:
            return True
        if self._worth_waiting(reply, floor):
            self._hold()
            return False
        raise self._refusal(floor)

    def _learn(self, info: ResponseInfo, now: float) -> None:
        """What a response that was sent tells about the quota day and its count."""
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

    def _probe_release(self, info: ResponseInfo | None) -> int:
        """How a settled probe that told nothing is given up: 0 (not the probe, or it told
        the quota), 1 (never sent), 2 (answered by the API without a quota header).

        Only an answer of the API itself (below 500) counts towards "not reported", as in
        process: timeouts and 5xx pages of a proxy prove nothing about the gateway.
        """
        if not self._probing or self._lowest() is not None:
            return 0
        answered = info is not None and info.sent and (info.status_code or 500) < 500
        return 2 if answered else 1

    def _sync_due(self, now: float, release: int) -> bool:
        if self._in_flight == 0 and self._published > 0:
            return True  # do not leave a count of requests in flight behind
        return bool(release or self._pending_sync or self._strict or self._needs_redis(now))

    def _lowest(self) -> int | None:
        values = [v for v in (self._shared, self._local) if v is not None]
        return min(values) if values else None

    def _needs_redis(self, now: float, floor: int | None = None) -> bool:
        """True unless the cached view is known, fresh and far enough above the reserve."""
        lowest = self._lowest()
        if self._strict or lowest is None or now - self._synced_at >= self.sync_interval:
            return True
        drift = math.ceil(self._rate_limit * (now - self._synced_at))
        optimistic = lowest - self._others - self._in_flight - drift - 2 * self.slack
        return optimistic <= (self.reserve_floor if floor is None else floor)

    def _worth_waiting(self, reply: _Reply, floor: int) -> bool:
        """A refusal that requests in flight (or a probe) may still turn into a grant."""
        if reply.why == _PROBING:
            return True
        if reply.stored is None or reply.stored <= floor:
            return False
        return reply.others + self._in_flight > 0 or reply.loose > 0

    def _refusal(self, floor: int) -> QuotaRefusal:
        status = attrs.evolve(self.status(), reserve=floor)
        return QuotaRefusal(status, from_gateway=self._lowest() == 0)

    def _hold(self) -> None:
        """Look at Redis again only after ``poll_interval`` (tasks of this process alike)."""
        now = current_time()
        self._held_at = now
        self._hold_until = max(self._hold_until, now + self.poll_interval)

    def _fallback_reserve(self, exc: BaseException, now: float, floor: int) -> bool:
        """Redis is unreachable: raise, or reserve on this process's own view."""
        if self.fallback == "error":
            raise RedisUnavailableError(
                f"Redis is unreachable ({exc}); the shared daily quota cannot be checked "
                "and nothing was sent. Pass fallback='local' to continue on this process's "
                "own view while it is down"
            ) from exc
        self._retry_at = max(self._retry_at, now + self.sync_interval)
        if not self._local_check(floor):
            return False
        self._in_flight += 1
        return True

    def _local_check(self, floor: int) -> bool:
        lowest = self._lowest()
        if lowest is None:
            return self._in_flight == 0  # probe alone, as the in-process ledger does
        return lowest - self._others - self._in_flight - self.slack > floor

    def _observe(self, day: date, remaining: int, *, urgent: bool = False) -> None:
        if self._day is None or day > self._day:
            self._new_day(day)
            self._local = remaining
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
            self._new_day(today)

    def _new_day(self, day: date) -> None:
        self._day, self._local, self._shared, self._others = day, None, None, 0
        self._strict = self._probing = False
        self._hold_until = self._held_at = -math.inf

    def _update_strict(self, floor: int) -> None:
        lowest = self._lowest()
        if lowest is not None and not self._strict:
            ahead = lowest - self._others - self._in_flight - max(floor, self.reserve_floor)
            self._strict = ahead <= self.strict_margin

    async def _sync(
        self,
        *,
        want: int,
        floor: int | None = None,
        only_if_needed: bool = False,
        release: int = 0,
    ) -> _Reply | None:
        """One script call; ``None`` when another task's sync made it unnecessary."""
        if self._lock is None:
            self._lock = anyio.Lock()
        floor = self.reserve_floor if floor is None else floor
        entered = current_time()
        async with self._lock:
            if want and self._held_at >= entered:
                # Another task was told to wait while this one waited for the lock.
                return _Reply(False, self._shared, self._others, _PROBING, 0)
            if only_if_needed and not (
                self._pending_sync or self._needs_redis(current_time(), floor)
            ):
                # Another task synced while this one waited for the lock.
                self._in_flight += want
                return None
            day = self._day or self._days.of(self._clock.now(current_time()))
            strict = self._strict or self._lowest() is None
            reply = await self._call(day, want=want, floor=floor, release=release, strict=strict)
            self._take(reply, day, want=want, floor=floor, release=release, strict=strict)
            return reply

    async def _call(
        self, day: date, *, want: int, floor: int, release: int, strict: bool
    ) -> _Reply:
        """The quota script (see ``_scripts.QUOTA_LUA`` for its keys and arguments).

        A reservation whose caller is cancelled while Redis answers is withdrawn at once:
        Redis may have counted it, and nothing else would take it back before its lease.
        """
        store = self._store
        keys = [
            store.quota_key(day),
            store.inflight_key,
            store.leases_key,
            store.probe_key(day),
            store.loose_key,
            store.unreported_key(day),
            store.seen_at_key(day),
        ]
        observed = self._local if day == self._day else None
        args: list[object] = [
            self._id,
            self._in_flight,
            "" if observed is None else observed,
            QUOTA_TTL_MS,
            round(self.inflight_lease * US),
            want,
            floor,
            self.slack,
            "1" if strict else "0",
            round(self.probe_lease * 1000),
            str(release),
            round((2 * self.sync_interval + 1.0) * US),
            UNREPORTED_LIMIT,
            repr(self._rate_limit),
        ]
        try:
            raw = await store.run(store.quota_script, keys, args)
        except asyncio.CancelledError:
            if want:
                await self._withdraw(keys, args)
            raise
        return _Reply(
            granted=bool(as_int(raw[0])),
            stored=None if as_int(raw[1]) < 0 else as_int(raw[1]),
            others=as_int(raw[2]),
            why=as_int(raw[3]),
            loose=as_int(raw[4]),
        )

    async def _withdraw(self, keys: list[str], args: list[object]) -> None:
        """Publish this process's own in-flight count again, without the cancelled one."""
        args = list(args)
        args[_ARG_MINE] = self._in_flight
        args[_ARG_WANT] = 0
        # The cancelled call may have taken the day's probe: give it back (only if it is
        # this process's and no other request of this process holds it).
        args[_ARG_RELEASE] = "1" if not self._probing and self._lowest() is None else "0"
        with anyio.CancelScope(shield=True), contextlib.suppress(*unreachable_errors()):
            await self._store.run(self._store.quota_script, keys, args)

    def _take(
        self, reply: _Reply, day: date, *, want: int, floor: int, release: int, strict: bool
    ) -> None:
        """Take in a reply: the shared view, the probe, this process's count."""
        self._pending_sync = False
        self._synced_at = current_time()
        if release or reply.stored is not None:
            self._probing = False
        if self._day is None or day == self._day:
            self._day = day
            self._shared = reply.stored
            self._others = reply.others
            self._update_strict(floor)
            if strict != (self._strict or self._lowest() is None):
                # Published the wrong mode: publish again before reserving locally.
                self._synced_at = -math.inf
        if reply.granted and want:
            self._probing = reply.stored is None
            self._in_flight += want
        self._published = self._in_flight

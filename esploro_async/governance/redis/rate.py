"""`RedisRateGate`: one per-second threshold for every process, scheduled on Redis ``TIME``."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
from collections import deque
from collections.abc import Sequence
from contextvars import ContextVar

import anyio

from esploro_async._clock import current_time
from esploro_async.errors import ConfigurationError, RedisUnavailableError
from esploro_async.governance.adaptive import AdaptiveRate, RatePolicy
from esploro_async.governance.foreign import ForeignLoad, counter_timing
from esploro_async.governance.lanes import Lane
from esploro_async.governance.lanes import priority as priority_of
from esploro_async.governance.limiter import SpacingLimiter
from esploro_async.governance.protocol import CounterTiming
from esploro_async.governance.redis._store import (
    US,
    Fallback,
    Store,
    as_float,
    as_int,
    log,
    unreachable_errors,
)

_LISTEN_POLL = 0.5  # seconds between looks at whether the pause listener should stop
_BATCH = priority_of("batch", retry=True)  # the lowest priority value of the batch lane
# Seconds of the institution's grants ForeignLoad keeps (spread over at most this span).
_GRANTS_KEPT = 12.0
# The slot (Redis µs) of the permit this task was last granted: a response is told to
# `observe` in the task that acquired its permit, with nothing else to name the permit by.
_SLOT: ContextVar[int | None] = ContextVar("esploro_async_redis_slot", default=None)


class _PriorityLock:
    """The per-process head-of-line queue: lower priority values first, then arrival order.

    The holder may wait inside it (Redis said "not yet" and it sleeps until its turn comes
    near) with `yield_for`: a more urgent waiter cuts that wait short, so an interactive
    request never waits for batch work to reserve its slot first.
    """

    def __init__(self) -> None:
        self._locked = False
        self._holder = 0
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._urgent: asyncio.Event | None = None
        self._owner: asyncio.Task[object] | None = None

    async def acquire(self, priority: int) -> None:
        if not self._locked and not self._heap:
            self._locked = True
            self._holder = priority
            self._owner = asyncio.current_task()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (priority, next(self._seq), future))
        if priority < self._holder and self._urgent is not None:
            self._urgent.set()
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self._owner = asyncio.current_task()
                self.release()  # handed the lock while being cancelled: pass it on
            raise
        self._holder = priority
        self._owner = asyncio.current_task()

    def release_if_held(self) -> None:
        """Release the lock if the current task holds it."""
        if self._locked and self._owner is asyncio.current_task():
            self.release()

    def release(self) -> None:
        self._owner = None
        while self._heap:
            _, _, future = heapq.heappop(self._heap)
            if not future.done():
                future.set_result(None)  # the lock passes to that waiter
                return
        self._locked = False

    def _more_urgent_waiting(self) -> bool:
        return any(p < self._holder and not f.done() for p, _, f in self._heap)

    async def yield_for(self, delay: float) -> None:
        """Sleep ``delay`` seconds holding the lock, unless a more urgent waiter is in line
        (or comes): then let it go first and line up again."""
        if not self._more_urgent_waiting():
            self._urgent = urgent = asyncio.Event()
            try:
                with anyio.move_on_after(delay):
                    await urgent.wait()
            finally:
                self._urgent = None
            if not urgent.is_set():
                return
        priority = self._holder
        self.release()
        await self.acquire(priority)


def _checked(
    policy: RatePolicy,
    *,
    fallback: str,
    fallback_rate: float | None,
    horizon: float,
    batch_horizon: float,
    late_tolerance: float,
    interactive_share: float,
    interactive_burst: int,
) -> float:
    """Refuse contradictory gate settings (`ConfigurationError`); the fallback rate to use."""
    if fallback not in ("error", "local"):
        raise ConfigurationError(f"fallback must be 'error' or 'local', not {fallback!r}")
    if fallback_rate is None:
        fallback_rate = min(5.0, policy.effective_rate / 5)
    if not 0 < fallback_rate < policy.effective_rate:
        raise ConfigurationError(
            f"fallback_rate must be positive and below the effective rate "
            f"{policy.effective_rate:.2f}: every process uses it at once, got {fallback_rate!r}"
        )
    if horizon <= 0 or late_tolerance < 0 or not 0 < batch_horizon <= horizon:
        raise ConfigurationError(
            "horizon must be > 0, batch_horizon in (0, horizon] and late_tolerance >= 0"
        )
    if not 0 < interactive_share < 1 or interactive_burst < 1:
        raise ConfigurationError("interactive_share must be in (0, 1), interactive_burst >= 1")
    return fallback_rate


class RedisRateGate:
    """`RateGate` shared by every process of an institution through Redis (module docstring).

    Args:
        store: the connection and key names (built by `RedisGovernance`).
        policy: the ceiling, margin and AIMD parameters (`RatePolicy`).
        horizon: how far ahead (s) a slot may be reserved; 1 s measured best. A schedule
            lost (Redis restarted, key evicted) starts one horizon later.
        batch_horizon: how far ahead (s) batch work may reserve (at most ``horizon``):
            a new interactive request, of any process, never waits longer than that
            behind batch slots already handed out.
        late_tolerance: a task waking later than this after its slot reserves again.
        fallback: ``"error"`` raises `RedisUnavailableError` when Redis is unreachable;
            ``"local"`` continues at ``fallback_rate`` in this process.
        fallback_rate: request starts per second in fallback (below the effective rate).
        probe_interval: seconds between attempts to reach Redis again in fallback.
        interactive_share: while interactive requests come from any process, the share
            of the rate kept for them on their own schedule (batch work runs at the rest),
            so they never queue behind the batch work of any process.
        interactive_burst: interactive requests that may start back to back on it.
        interactive_window: seconds after the last interactive request during which the
            share is kept (otherwise batch work runs at the full rate).
    """

    def __init__(
        self,
        store: Store,
        policy: RatePolicy,
        *,
        horizon: float = 1.0,
        late_tolerance: float = 0.020,
        fallback: Fallback = "error",
        fallback_rate: float | None = None,
        probe_interval: float = 0.5,
        interactive_share: float = 0.25,
        interactive_burst: int = 2,
        interactive_window: float = 30.0,
        batch_horizon: float = 0.1,
    ) -> None:
        fallback_rate = _checked(
            policy,
            fallback=fallback,
            fallback_rate=fallback_rate,
            horizon=horizon,
            batch_horizon=batch_horizon,
            late_tolerance=late_tolerance,
            interactive_share=interactive_share,
            interactive_burst=interactive_burst,
        )
        self.batch_horizon = batch_horizon
        self.policy = policy
        self.horizon = horizon
        self.late_tolerance = late_tolerance
        self.fallback: Fallback = fallback
        self.fallback_rate = fallback_rate
        self.probe_interval = probe_interval
        self.interactive_share = interactive_share
        self.interactive_burst = interactive_burst
        self.interactive_window = interactive_window
        self._store = store
        self._rate = policy.rate_limit
        # The automatic margin: this process's proposal comes from what it observes, the
        # margin in force is the widest proposal of the institution's processes (in Redis).
        self._adaptive = AdaptiveRate(policy) if policy.auto_margin else None
        # Its arrival order is the institution's: every process hands in the slot and count
        # of its accepted requests and reads everyone's (module docstring of _scripts).
        self._reads_order = policy.auto_margin and policy.arrival_order
        self._handed: deque[str] = deque(maxlen=64)  # 'slot remaining' not yet in Redis
        self._read = 0  # the number of the last arrival of the institution read
        self._margin = policy.safety_margin
        self._interval = policy.interval
        # Other integrations, from the daily counter: its fall less the institution's own
        # grants, which every process numbers in Redis ('n'), so no process of the
        # institution counts as foreign to another.
        self._others = ForeignLoad(policy.rate_limit) if policy.room_for_others else None
        self._counted = False  # an accepted response carried X-Exl-Api-Remaining
        self._number = 0  # the institution's grant number of this process's latest start
        self._number_at = -math.inf
        # Insurance against bunching, spaced by the interval less the late tolerance: at the
        # full interval one late wake-up delays every following slot of the process past
        # its tolerance, a cascade of stale slots (measured: 159 of 194 grants dropped).
        self._insurance = SpacingLimiter(lambda _now: max(0.0, self._interval - late_tolerance))
        self._fallback_limiter = SpacingLimiter(1.0 / fallback_rate)
        self._queue = _PriorityLock()
        self._ticket = False  # this process's batch head was refused and told when to return
        self._paused_until = -math.inf
        self._epoch = 0
        self._down = False
        self._next_probe = -math.inf
        self._listener: asyncio.Task[None] | None = None
        self._closing = False
        recovery = (policy.rate_limit - policy.min_rate) / policy.increase if policy.increase else 0
        self._ttl_ms = round(
            1000 * min(86_400.0, max(60.0, recovery * policy.increase_every + 10 + horizon))
        )
        #: Counters: Redis grants, refusals (hysteresis sleeps), stale or paused slots
        #: dropped, grants made by the local fallback.
        self.stats: dict[str, int] = {
            "grants": 0,
            "refusals": 0,
            "stale": 0,
            "dropped": 0,
            "fallback": 0,
        }
        #: Requests of this process waiting for a rate permit, by lane.
        self.waiting: dict[Lane, int] = {"interactive": 0, "batch": 0}

    @property
    def in_fallback(self) -> bool:
        """True while Redis is unreachable and the local fallback rate is in force."""
        return self._down

    async def acquire(self, priority: int = 0) -> None:
        """Return when one request may start now (see the module docstring).

        Lower ``priority`` values reach Redis first within this process (the gateway's
        threshold is shared, so across processes slots go in order of arrival at Redis).
        """
        self._ensure_listener()
        lane: Lane = "interactive" if priority < _BATCH else "batch"
        self.waiting[lane] += 1
        try:
            await self._acquire(priority)
        finally:
            self.waiting[lane] -= 1

    async def _acquire(self, priority: int) -> None:
        while True:
            reservation = await self._reserve(priority)
            if reservation is None:
                _SLOT.set(None)
                return  # granted by the local fallback
            slot, epoch, number, slot_us = reservation
            await anyio.sleep_until(slot)
            if epoch != self._epoch and slot < self._paused_until:
                self.stats["dropped"] += 1
                continue
            if current_time() - slot <= self.late_tolerance:
                await self._insurance.acquire(priority)
                if current_time() - slot <= self.late_tolerance:
                    self._started(number)
                    _SLOT.set(slot_us)
                    return
            self.stats["stale"] += 1

    def _started(self, number: int) -> None:
        """A request starts with the institution's grant ``number``: the grants numbered
        since this process's previous start are the institution's, spread between the two."""
        others = self._others
        if others is None:
            return
        now = current_time()
        gap = number - self._number - 1
        if self._number and gap > 0:
            since = max(self._number_at, now - _GRANTS_KEPT)
            gap = min(gap, math.ceil(_GRANTS_KEPT * self.policy.rate_limit))
            step = (now - since) / (gap + 1)
            for i in range(1, gap + 1):
                others.granted(since + i * step)
        others.granted(now)
        if number > self._number:
            self._number, self._number_at = number, now

    async def throttled(self, retry_after: float | None) -> None:
        """429 ``PER_SECOND_THRESHOLD``: pause every process and cut the shared rate.

        The pause is ``first_pause`` after an isolated 429 and ``pause`` after one within
        a second of the last pause's end (as `AdaptiveRate` does in one process).
        """
        policy = self.policy
        now = current_time()
        if self._adaptive is not None:
            self._adaptive.throttled(now, retry_after)  # widens this process's proposal
            self._margin = max(self._margin, self._adaptive.margin)
        repeated = now <= self._paused_until + 1.0
        pause = policy.pause if repeated else min(policy.pause, policy.first_pause)
        pause = max(pause, retry_after or 0.0)
        self._pause_local(now + pause)
        try:
            paused_us, rate = await self._store.run(
                self._store.penalize_script,
                [self._store.rate_key],
                [
                    repr(policy.rate_limit),
                    round(policy.pause * US),
                    repr(policy.decrease),
                    round(policy.decrease_cooldown * US),
                    repr(policy.min_rate),
                    "1" if policy.adaptive else "0",
                    self._ttl_ms,
                    self._store.channel,
                    round(min(policy.pause, policy.first_pause) * US),
                    round((retry_after or 0.0) * US),
                ],
            )
        except unreachable_errors() as exc:
            log.warning("could not record a 429 in Redis (%s); pausing this process only", exc)
            return
        self._rate = as_float(rate)
        self._interval = (1.0 + self.current_margin()) / self._rate
        self._pause_local(current_time() + as_int(paused_us) / US)

    def observe(self, round_trip: float, remaining: int | None) -> None:
        """One response: feeds this process's proposal for the automatic margin and the
        estimate of other integrations' requests.

        The count of an accepted request goes to Redis with this process's next reservation,
        named by the slot its permit was granted in this task; every process reads it back
        with the others' (the institution's arrival order, `AdaptiveRate.observe_arrival`).
        """
        now = current_time()
        slot = _SLOT.get()
        _SLOT.set(None)
        if self._adaptive is not None:
            if self._reads_order:
                self._adaptive.observe(now, round_trip, None)  # its order: from Redis
                if remaining is not None and slot is not None:
                    self._handed.append(f"{slot} {remaining}")
            else:
                self._adaptive.observe(now, round_trip, remaining)
        if remaining is not None:
            self._counted = True
            if self._others is not None:
                self._others.observe(now - round_trip, remaining)

    def proven_jitter(self) -> float:
        """The jitter the institution's arrival order proved to this process (0: none seen)."""
        return self._adaptive.proven if self._adaptive is not None else 0.0

    def counter_timing(self) -> CounterTiming:
        """What this process's responses showed of ``X-Exl-Api-Remaining`` (`CounterTiming`)."""
        return counter_timing(self._others, self._adaptive, self.policy, self._counted)

    def others_rate(self) -> float | None:
        """Other integrations' requests per second as the daily counter shows them, less
        every grant of the institution's processes (numbered in Redis).

        ``None`` when it cannot tell: no response carried ``X-Exl-Api-Remaining`` yet, or
        ``room_for_others`` is off.
        """
        if self._others is None or not self._others.reading:
            return None
        return self._others.rate

    def current_margin(self) -> float:
        """The safety margin in force for the institution, as of the last Redis reply."""
        return self._margin

    def _proposed_margin(self) -> float:
        """This process's margin: fixed, or what its observations allow now."""
        if self._adaptive is None:
            return self.policy.safety_margin
        self._adaptive.interval(current_time())  # narrows as time passes
        return self._adaptive.margin

    def current_rate(self) -> float:
        """The shared adaptive rate as of the last Redis reply (before the margin)."""
        return self.fallback_rate * (1.0 + self.policy.safety_margin) if self._down else self._rate

    def paused_until(self) -> float | None:
        """The shared pause as last seen, on this process's ``anyio.current_time()`` clock."""
        return None if self._paused_until == -math.inf else self._paused_until

    async def aclose(self) -> None:
        """Stop the pause listener (within about a second)."""
        self._closing = True
        task, self._listener = self._listener, None
        if task is not None and not task.done():
            task.cancel()
            # redis-py's get_message() may swallow the cancellation: the listener also
            # stops at its next look at _closing, at most _LISTEN_POLL later.
            await asyncio.wait({task}, timeout=2 * _LISTEN_POLL)

    # -- internals ---------------------------------------------------------------------------

    def _pause_local(self, deadline: float) -> None:
        if deadline > self._paused_until:
            self._paused_until = deadline
            self._epoch += 1
        self._insurance.pause_until(deadline)
        self._fallback_limiter.pause_until(deadline)

    async def _reserve(self, priority: int) -> tuple[float, int, int, int] | None:
        await self._queue.acquire(priority)
        try:
            while True:
                now = current_time()
                if self._down and now < self._next_probe:
                    # Local grants only until it is time to look at Redis again: a request
                    # held back by the fallback's pause must not start once Redis is back.
                    with anyio.move_on_after(self._next_probe - now):
                        await self._fallback_limiter.acquire(priority)
                        self.stats["fallback"] += 1
                        return None
                    continue
                epoch = self._epoch
                recovering = self._down
                try:
                    reply = await self._call_reserve(priority, recovering)
                except unreachable_errors() as exc:
                    self._on_down(exc)
                    continue
                granted, wait_s, horizon_s = self._apply_reply(reply, recovering)
                now = current_time()
                if priority >= _BATCH:
                    self._ticket = not granted  # refused: this process holds a ticket
                if granted:
                    self.stats["grants"] += 1
                    return now + wait_s, epoch, as_int(reply[7]), as_int(reply[8])
                self.stats["refusals"] += 1
                # Ask again when the free slot is well within reach.
                await self._queue.yield_for(wait_s - horizon_s / 2)
        finally:
            self._queue.release_if_held()

    async def _call_reserve(self, priority: int, recovering: bool) -> list[object]:
        """One call of the reserve script (see ``_scripts.RESERVE_LUA`` for its arguments)."""
        policy = self.policy
        store = self._store
        interactive = priority < _BATCH
        return await store.run(
            store.reserve_script,
            [
                store.rate_key,
                store.procs_key,
                store.seen_key,
                store.grants_key,
                store.margins_key,
                store.room_key,
                store.arrivals_key,
            ],
            [
                repr(policy.rate_limit),
                repr(self._proposed_margin()),
                repr(policy.increase if policy.adaptive else 0.0),
                round(policy.increase_every * US),
                round(self.horizon * US),
                self._ttl_ms,
                round(policy.pause * US) if recovering else 0,
                store.process_id,
                # the others, not this request (the reply decides its fate)
                self.waiting["interactive"] - interactive,
                self.waiting["batch"] - (not interactive),
                "i" if interactive else "b",
                round(self.interactive_window * US),
                repr(self.interactive_share),
                self.interactive_burst,
                "1" if policy.auto_margin else "0",
                round((self.horizon if interactive else self.batch_horizon) * US),
                "1" if self._ticket and not interactive else "0",
                self._pace(),
                *self._arrival_args(),
            ],
        )

    def _arrival_args(self) -> tuple[str, str]:
        """The arrivals this process hands in, and the last one it read ('', '': none)."""
        if not self._reads_order:
            return "", ""
        handed = " ".join(self._handed)
        self._handed.clear()
        return handed, str(self._read)

    def _read_arrivals(self, read: object, arrivals: Sequence[object]) -> None:
        """The institution's arrivals handed in since this process last read them."""
        adaptive = self._adaptive
        if adaptive is None:
            return
        self._read = as_int(read)
        now = current_time()
        for i in range(0, len(arrivals) - 1, 2):
            adaptive.observe_arrival(now, as_int(arrivals[i]) / US, as_int(arrivals[i + 1]))

    def _pace(self) -> str:
        """The pace this process proposes to leave other integrations room ('': none)."""
        pace = None if self._others is None else self._others.pace(current_time())
        return "" if pace is None else repr(pace)

    def _apply_reply(self, reply: list[object], recovering: bool) -> tuple[bool, float, float]:
        """Take in the shared state of a reserve reply: (granted, wait s, horizon s)."""
        granted, wait, interval, rate, paused, horizon, margin = reply[:7]
        if self._reads_order:
            arrivals = reply[10]
            self._read_arrivals(reply[9], arrivals if isinstance(arrivals, list) else [])
        now = current_time()
        if recovering:
            self._down = False
            log.warning("Redis reachable again: back to the institution-wide limiter")
        self._rate = as_float(rate)
        self._margin = as_float(margin)
        self._interval = as_int(interval) / US
        paused_s = as_int(paused) / US
        if paused_s > 0 and now + paused_s > self._paused_until:
            # Slots reserved from now on are already after it: no epoch change.
            self._paused_until = now + paused_s
            self._insurance.pause_until(self._paused_until)
        return bool(as_int(granted)), as_int(wait) / US, as_int(horizon) / US

    def _on_down(self, exc: BaseException) -> None:
        if self.fallback == "error":
            raise RedisUnavailableError(
                f"Redis is unreachable ({exc}); nothing was sent. Pass fallback='local' to "
                "continue at a conservative local rate while it is down"
            ) from exc
        now = current_time()
        if not self._down:
            self._down = True
            log.warning(
                "Redis is unreachable (%s): falling back to %.2f req/s in this process "
                "until it is back",
                exc,
                self.fallback_rate,
            )
            # Redis may have handed out slots up to one horizon ahead; let them and their
            # 1 s window pass before the local fallback sends anything.
            self._fallback_limiter.pause_until(now + self.horizon + self.policy.pause)
        self._next_probe = now + self.probe_interval

    def _ensure_listener(self) -> None:
        if self._closing:
            return
        if self._listener is None or self._listener.done():
            with contextlib.suppress(RuntimeError):  # no asyncio loop (e.g. trio)
                self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        """Receive pauses published by the penalize script of any process."""
        while not self._closing:
            pubsub = self._store.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._store.channel)
                while not self._closing:
                    message = await pubsub.get_message(timeout=_LISTEN_POLL)
                    if message is not None and message.get("type") == "message":
                        self._pause_local(current_time() + as_int(message["data"]) / US)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("pause listener: %s; resubscribing", exc)
                await asyncio.sleep(self.probe_interval)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

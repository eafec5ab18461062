"""`Governance`: concurrency slot, daily quota and per-second permit, in that order.

For every HTTP attempt (retries included) the session enters
``governance.attempt()``, which

1. takes a concurrency slot (at most ``max_in_flight`` attempts at once, so the
   connection pool never queues a granted request);
2. reserves the attempt against the daily quota (or raises `DailyQuotaExhaustedError`,
   or sleeps until the reset when ``on_quota_exhausted="wait"``);
3. waits for a rate permit;
4. confirms the reservation against what the ledger learnt meanwhile: the request
   starts right after (or, if the ledger now says no, goes back to step 1).

The attempt then records what came back, which feeds the quota ledger and, on
429 ``PER_SECOND_THRESHOLD``, the adaptive rate.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from types import TracebackType
from typing import Any

import anyio

from esploro_async._clock import current_time
from esploro_async.errors import ConfigurationError, DailyQuotaExhaustedError
from esploro_async.governance.adaptive import AdaptiveRate, RatePolicy, usable_retry_after
from esploro_async.governance.events import (
    GovernanceSnapshot,
    Listeners,
    QuotaLowEvent,
    ThrottledEvent,
)
from esploro_async.governance.foreign import ForeignLoad, counter_timing
from esploro_async.governance.lanes import LANES, Lane, lane_of, priority
from esploro_async.governance.limiter import SpacingLimiter
from esploro_async.governance.protocol import (
    CounterTiming,
    OnQuotaExhausted,
    QuotaLedger,
    QuotaRefusal,
    QuotaStatus,
    RateGate,
    ResponseInfo,
)
from esploro_async.governance.quota import LocalQuotaLedger
from esploro_async.governance.settings import GovernanceSettings

__all__ = ["PER_SECOND_THRESHOLD", "Governance", "LocalRateGate", "OnQuotaExhausted"]

PER_SECOND_THRESHOLD = "PER_SECOND_THRESHOLD"

_log = logging.getLogger("esploro_async.governance")

# Other integrations' requests per second below which a 429 is not blamed on them.
_OTHERS_SEEN = 0.5

# The likely cause of a 429 no other integration shows for, by what the counter showed.
_CAUSES: dict[CounterTiming, str] = {
    "arrival": "Likely cause: no other integration shows in X-Exl-Api-Remaining, so {jitter}",
    "departure": (
        "Likely cause: either another integration uses the institution's budget or {jitter}. "
        "X-Exl-Api-Remaining is present but written as responses leave (two accepted "
        "requests carried the same count), so neither the order of arrivals (the automatic "
        "margin) nor other integrations' requests can be read from it; if another "
        "integration shares the budget, run both through one RedisGovernance or lower "
        "rate_limit to leave it a share"
    ),
    "absent": (
        "Likely cause: either another integration uses the institution's budget or {jitter} "
        "(without X-Exl-Api-Remaining the two cannot be told apart)"
    ),
    "unread": (
        "Likely cause: either another integration uses the institution's budget or {jitter} "
        "(X-Exl-Api-Remaining is not read with room_for_others=False and a fixed margin; "
        'pass safety_margin="auto" to read it)'
    ),
}

# After the reset, wait a little longer: the Date header has a 1 s resolution.
_RESET_GRACE = 2.0

# Above this many requests per second the limiter's one-second guard is left out: it keeps
# one timestamp per permit of the last second (a benchmark sets rate_limit=1e9).
_WINDOW_CHECKED = 10_000


# How late (s) a permit's wake-up may be and keep its slot on the limiter's timeline: an
# asyncio timer fires about 1 ms late, more on a loaded host; never more than the margin.
CATCH_UP = 0.005


class LocalRateGate:
    """In-process `RateGate`: a `SpacingLimiter` driven by an `AdaptiveRate`.

    Grants are scheduled on a timeline that recovers wake-ups up to `CATCH_UP` late, and
    never more than ``floor(rate_limit)`` of them fall within one second, whatever the
    margin (see `SpacingLimiter`).
    """

    def __init__(self, policy: RatePolicy | None = None) -> None:
        self.policy = policy or RatePolicy()
        self._adaptive = AdaptiveRate(self.policy)
        limit = math.floor(self.policy.rate_limit)
        checked = 1 <= limit <= _WINDOW_CHECKED
        self._others = (
            ForeignLoad(self.policy.rate_limit) if self.policy.room_for_others and checked else None
        )
        self._limiter = SpacingLimiter(
            self._adaptive.interval,
            catch_up=CATCH_UP,
            window=(limit, 1.0) if checked else None,
            hold=None if self._others is None else self._others.hold,
        )
        self._waiting: dict[Lane, int] = {"interactive": 0, "batch": 0}
        self._counted = False  # an accepted response carried X-Exl-Api-Remaining

    @property
    def waiting(self) -> dict[Lane, int]:
        """Callers waiting for a permit, by lane."""
        return self._waiting

    async def acquire(self, priority: int = 0) -> None:
        """Wait for a permit (lower ``priority`` values first)."""
        granted = self._limiter.grant_now()
        if granted is None:
            lane = lane_of(priority)
            self._waiting[lane] += 1
            try:
                granted = await self._limiter.acquire(priority)
            finally:
                self._waiting[lane] -= 1
        if self._others is not None:
            self._others.granted(granted)

    async def throttled(self, retry_after: float | None) -> None:
        """Pause every sender and cut the rate (see `AdaptiveRate`)."""
        deadline = self._adaptive.throttled(current_time(), retry_after)
        self._limiter.pause_until(deadline)

    def current_rate(self) -> float:
        """The adaptive rate now in force (before the safety margin)."""
        return self._adaptive.rate

    def current_margin(self) -> float:
        """The safety margin now in force (it moves with ``auto_margin``)."""
        return self._adaptive.margin

    def observe(self, round_trip: float, remaining: int | None) -> None:
        """One response: its round trip and, for an accepted request, its remaining count."""
        now = current_time()
        if self.policy.auto_margin:
            self._adaptive.observe(now, round_trip, remaining)
        if remaining is not None:
            self._counted = True
            if self._others is not None:
                self._others.observe(now - round_trip, remaining)

    def counter_timing(self) -> CounterTiming:
        """What the responses showed of ``X-Exl-Api-Remaining`` (see `CounterTiming`)."""
        adaptive = self._adaptive if self.policy.auto_margin else None
        return counter_timing(self._others, adaptive, self.policy, self._counted)

    def others_rate(self) -> float | None:
        """Other integrations' requests per second as the daily counter shows them.

        ``None`` when it cannot tell: no response carried ``X-Exl-Api-Remaining`` yet, or
        ``room_for_others`` is off.
        """
        if self._others is None or not self._others.reading:
            return None
        return self._others.rate

    def paused_until(self) -> float | None:
        """The pause deadline, if any pause was ever set."""
        deadline = self._limiter.paused_until
        return None if deadline == float("-inf") else deadline


class _AttemptContext:
    """``async with governance.attempt() as slot:`` enter waits for the right to send,
    ``slot.record`` feeds governance, exit settles (the context is its own slot)."""

    __slots__ = ("_governance", "_lane", "_retry", "granted", "info")

    def __init__(self, governance: Governance, retry: bool, lane: Lane) -> None:
        if lane not in LANES:
            raise ValueError(f"lane must be 'interactive' or 'batch', not {lane!r}")
        self._governance = governance
        self._retry = retry
        self._lane: Lane = lane
        self.info: ResponseInfo | None = None
        self.granted = 0.0

    async def __aenter__(self) -> _AttemptContext:
        governance = self._governance
        governance._waiting += 1
        try:
            await governance._enter(self._lane, self._retry)
        finally:
            governance._waiting -= 1
        governance._in_flight += 1
        governance._requests += 1
        if self._retry:
            governance._retries += 1
        self.granted = current_time()
        return self

    async def record(self, info: ResponseInfo) -> None:
        """What came back (once): the rate gate and the quota ledger learn from it."""
        if self.info is not None:
            raise RuntimeError("an attempt is recorded once")
        self.info = info
        governance = self._governance
        if info.status_code is not None:
            # A refused request was not counted: its header repeats another's count.
            counted = info.remaining if info.status_code != 429 else None
            governance.rate.observe(current_time() - self.granted, counted)
        # The ledger learns at once, so that an error built from this response (its
        # reset time, say) already reflects it.
        await governance.quota.settle(info)
        if info.error_code == PER_SECOND_THRESHOLD:
            await governance._on_throttled(info.retry_after, self.granted)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        governance = self._governance
        governance._in_flight -= 1
        governance._release_slots(self._lane)
        if self.info is None:
            # Nothing was recorded: the request may still have reached the gateway.
            with anyio.CancelScope(shield=True):
                await governance.quota.settle(ResponseInfo(status_code=None))
        governance._check_quota_alerts()


class Governance:
    """Governance for one institution, composed of a rate gate and a quota ledger.

    Build the in-process one with `Governance.local` (what `EsploroClient` does by
    default, shared by every client of the same institution in the process). An
    institution-wide backend passes its own ``rate`` and ``quota``, built from the same
    ``settings``.

    Args:
        rate: the per-second gate.
        quota: the daily-quota ledger (its reserve must be ``settings.daily_reserve``).
        settings: every setting (`GovernanceSettings`); this object reads the concurrency
            slots, the lanes' floors and ``on_quota_exhausted`` from it.
    """

    def __init__(
        self,
        *,
        rate: RateGate,
        quota: QuotaLedger,
        settings: GovernanceSettings | None = None,
    ) -> None:
        settings = GovernanceSettings() if settings is None else settings
        if quota.status().reserve != settings.daily_reserve:
            raise ConfigurationError(
                f"the quota ledger keeps a reserve of {quota.status().reserve}, the settings "
                f"say daily_reserve={settings.daily_reserve}: build both from one settings value"
            )
        self.settings = settings
        self.rate = rate
        self.quota = quota
        self.max_in_flight: int = settings.max_in_flight
        self.on_quota_exhausted: OnQuotaExhausted = settings.on_quota_exhausted
        self.rate_limit: float = settings.rate_limit
        self.batch_reserve: int = settings.floor_of_batch
        self.interactive_slots: int = settings.held_back_slots
        self._slots = anyio.Semaphore(self.max_in_flight, fast_acquire=True)
        self._batch_slots = anyio.Semaphore(
            self.max_in_flight - self.interactive_slots, fast_acquire=True
        )
        self._waiting = 0
        self._in_flight = 0
        self._requests = 0
        self._retries = 0
        self._throttled = 0
        self._last_throttled = -math.inf
        self._throttled_listeners: Listeners[ThrottledEvent] = Listeners()
        self._quota_alerts: list[tuple[int, Listeners[QuotaLowEvent]]] = []
        self._alerted: set[tuple[int, object]] = set()

    @property
    def safety_margin(self) -> float:
        """The safety margin now in force (it moves when the margin is automatic)."""
        return self.rate.current_margin()

    @classmethod
    def local(
        cls,
        settings: GovernanceSettings | None = None,
        *,
        rate_policy: RatePolicy | None = None,
        **options: Any,
    ) -> Governance:
        """In-process governance built from ``settings`` (default: the defaults).

        Keyword arguments are `GovernanceSettings` fields, for short
        (``Governance.local(daily_reserve=1000)``); ``rate_policy`` tunes the per-second
        reaction the older way (`GovernanceSettings.build`).
        """
        if settings is None:
            settings = GovernanceSettings.build(rate_policy, **options)
        elif options or rate_policy is not None:
            raise ConfigurationError("pass settings or keyword settings, not both")
        return cls(
            rate=LocalRateGate(settings.rate_policy()),
            quota=LocalQuotaLedger(settings.daily_reserve, reset_time=settings.quota_reset_time),
            settings=settings,
        )

    def on_throttled(self, callback: Callable[[ThrottledEvent], object]) -> None:
        """Call ``callback`` on every 429 ``PER_SECOND_THRESHOLD``."""
        self._throttled_listeners.add(callback)

    def on_quota_below(self, threshold: int, callback: Callable[[QuotaLowEvent], object]) -> None:
        """Call ``callback`` once per quota day when the quota falls below ``threshold``."""
        listeners: Listeners[QuotaLowEvent] = Listeners()
        listeners.add(callback)
        self._quota_alerts.append((threshold, listeners))

    def attempt(self, *, retry: bool = False, lane: Lane = "batch") -> _AttemptContext:
        """Hold the right to send one request in ``lane``; see the module docstring."""
        return _AttemptContext(self, retry, lane)

    def snapshot(self) -> GovernanceSnapshot:
        """Counters and state now."""
        quota = self.quota.status()
        paused = self.rate.paused_until()
        try:
            paused_in = max(0.0, paused - current_time()) if paused is not None else 0.0
        except Exception:  # called outside an event loop
            paused_in = 0.0
        current = self.rate.current_rate()
        return GovernanceSnapshot(
            rate_limit=self.rate_limit,
            current_rate=current,
            effective_rate=current / (1.0 + self._margin()),
            paused_until_in=paused_in,
            in_flight=self._in_flight,
            waiting=self._waiting,
            requests=self._requests,
            retries=self._retries,
            throttled=self._throttled,
            quota_remaining=quota.remaining,
            quota_estimate=quota.estimate,
            daily_reserve=quota.reserve,
            batch_reserve=self.batch_reserve,
            quota_resets_at=quota.resets_at,
            safety_margin=self._margin(),
        )

    async def aclose(self) -> None:
        """Nothing to release in process."""

    def _margin(self) -> float:
        return self.rate.current_margin()

    def _take_slots_now(self, lane: Lane) -> bool:
        """Take the lane's slots if they are free, without a checkpoint."""
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            return False
        if lane == "batch":
            try:
                self._batch_slots.acquire_nowait()
            except anyio.WouldBlock:
                self._slots.release()
                return False
        return True

    async def _take_slots(self, lane: Lane) -> None:
        if lane == "batch":
            await _take(self._batch_slots)
            try:
                await _take(self._slots)
            except BaseException:
                self._batch_slots.release()
                raise
        else:
            await _take(self._slots)

    def _release_slots(self, lane: Lane) -> None:
        self._slots.release()
        if lane == "batch":
            self._batch_slots.release()

    async def _enter(self, lane: Lane, retry: bool) -> None:
        floor = self.batch_reserve if lane == "batch" else None
        while True:
            if not self._take_slots_now(lane):
                await self._take_slots(lane)
            try:
                await self.quota.reserve(floor)
            except QuotaRefusal as refusal:
                self._release_slots(lane)
                await self._refused(refusal, lane)
                continue
            except BaseException:
                self._release_slots(lane)
                raise
            try:
                await self.rate.acquire(priority(lane, retry=retry))
                if await self.quota.confirm(floor):
                    return
            except QuotaRefusal as refusal:
                await self._unreserve(lane)
                await self._refused(refusal, lane)
                continue
            except BaseException:
                await self._unreserve(lane)
                raise
            # The permit goes unused: what the ledger learnt meanwhile says "not now".
            await self._unreserve(lane)

    async def _unreserve(self, lane: Lane) -> None:
        with anyio.CancelScope(shield=True):
            await self.quota.settle(ResponseInfo(status_code=None, sent=False))
        self._release_slots(lane)

    async def _refused(self, refusal: QuotaRefusal, lane: Lane) -> None:
        """Raise `DailyQuotaExhaustedError`, or sleep until the reset (``"wait"``)."""
        if self.on_quota_exhausted == "raise":
            raise _exhausted(refusal.status, from_gateway=refusal.from_gateway) from None
        delay = refusal.status.resets_in + _RESET_GRACE
        _log.warning(
            "daily quota at the %s reserve (%s left, reserve %s): waiting %.0f s until %s",
            lane,
            refusal.status.remaining,
            refusal.status.reserve,
            delay,
            refusal.status.resets_at.isoformat(),
        )
        await anyio.sleep(delay)

    async def _on_throttled(self, retry_after: float | None, granted: float) -> None:
        self._throttled += 1
        retry_after = usable_retry_after(retry_after)  # whatever the rate gate does with it
        # A request sent before the last 429 was handled belongs to the same overload: the
        # pause and the cut it caused already answer it, and lengthening the pause for it
        # would punish the same overload twice.
        if granted >= self._last_throttled:
            self._last_throttled = current_time()
            await self.rate.throttled(retry_after)
        rate = self.rate.current_rate()
        _log.warning(
            "429 PER_SECOND_THRESHOLD: pausing all senders, rate now %.2f req/s. %s",
            rate / (1.0 + self._margin()),
            self._likely_cause(),
        )
        self._throttled_listeners.emit(
            ThrottledEvent(retry_after=retry_after, current_rate=rate, count=self._throttled)
        )

    def _likely_cause(self) -> str:
        """Why a 429 came, as far as the daily counter tells, and what to do about it."""
        others = self.rate.others_rate()
        timing = self.rate.counter_timing()
        jitter = (
            f"requests reached the gateway more unevenly than the safety margin "
            f"({self._margin():.2f}) covers: pass safety_margin=<the spread of your network's "
            "send-to-arrival delay in seconds>"
        )
        if others is not None and others >= _OTHERS_SEEN:
            return (
                f"Likely cause: another integration of the institution sends about "
                f"{others:.1f} req/s into the same budget (the fall of X-Exl-Api-Remaining "
                "beyond our own requests shows it); room is made for it, but its bursts can "
                "still fill a second. If 429s persist, run both through one RedisGovernance, "
                "or lower rate_limit to leave it a share"
            )
        return _CAUSES[timing].format(jitter=jitter)

    def _check_quota_alerts(self) -> None:
        if not self._quota_alerts:
            return
        status = self.quota.status()
        if status.remaining is None:
            return
        for threshold, listeners in self._quota_alerts:
            key = (threshold, status.resets_at)
            if status.remaining < threshold and key not in self._alerted:
                self._alerted.add(key)
                listeners.emit(QuotaLowEvent(threshold, status.remaining, status.resets_at))


async def _take(slots: anyio.Semaphore) -> None:
    """Take a slot: at once when one is free (no checkpoint), else wait in line."""
    try:
        slots.acquire_nowait()
    except anyio.WouldBlock:
        await slots.acquire()


def _exhausted(status: QuotaStatus, *, from_gateway: bool) -> DailyQuotaExhaustedError:
    if from_gateway:
        message = (
            "the gateway reported the daily quota exhausted (429 DAILY_THRESHOLD); "
            f"it resets at {status.resets_at.isoformat()}"
        )
    else:
        message = (
            f"daily quota estimate {status.estimate} is at the reserve of {status.reserve}; "
            f"nothing was sent. The quota resets at {status.resets_at.isoformat()}; "
            "resume then, lower daily_reserve, or pass on_quota_exhausted='wait'"
        )
    return DailyQuotaExhaustedError(
        message, remaining=status.estimate, reserve=status.reserve, resets_at=status.resets_at
    )

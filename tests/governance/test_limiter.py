"""The spacing limiter and the adaptive rate, in virtual time."""

from __future__ import annotations

import itertools

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esploro_async.governance import AdaptiveRate, RatePolicy, SpacingLimiter

pytestmark = pytest.mark.looptime


def min_span(times: list[float], n: int) -> float:
    """The shortest time covered by ``n + 1`` consecutive grants."""
    return min(times[i + n] - times[i] for i in range(len(times) - n))


async def test_grants_are_spaced_by_the_interval_across_many_tasks() -> None:
    limiter = SpacingLimiter(0.04)
    grants: list[float] = []

    async def worker() -> None:
        for _ in range(20):
            grants.append(await limiter.acquire())

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(worker)

    assert len(grants) == 1000
    assert grants == sorted(grants)
    assert min(b - a for a, b in itertools.pairwise(grants)) >= 0.04
    assert min_span(grants, 25) >= 1.0


async def test_first_come_first_served() -> None:
    limiter = SpacingLimiter(0.1)
    order: list[int] = []

    async def worker(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    async with anyio.create_task_group() as tg:
        for i in range(30):
            tg.start_soon(worker, i)
            await anyio.sleep(0.001)
    assert order == list(range(30))


async def test_cancelled_waiters_consume_nothing() -> None:
    limiter = SpacingLimiter(1.0)
    await limiter.acquire()  # t=0
    start = anyio.current_time()
    with anyio.move_on_after(0.5):  # the waiter gives up before its turn at t=1
        await limiter.acquire()
    assert limiter.waiting == 0
    granted = await limiter.acquire()
    assert granted - start == pytest.approx(1.0, abs=1e-3)


async def test_pause_holds_every_grant() -> None:
    limiter = SpacingLimiter(0.01)
    t0 = await limiter.acquire()
    limiter.pause_until(t0 + 2.0)
    limiter.pause_until(t0 + 1.0)  # a shorter pause never shortens a longer one
    assert await limiter.acquire() >= t0 + 2.0 - 1e-6


async def test_an_idle_limiter_does_not_burst() -> None:
    limiter = SpacingLimiter(0.04)
    await limiter.acquire()
    await anyio.sleep(10)
    grants = [await limiter.acquire() for _ in range(5)]
    assert min(b - a for a, b in itertools.pairwise(grants)) >= 0.04


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 0.3), st.booleans()),
        min_size=30,
        max_size=80,
    )
)
def test_no_pattern_of_arrivals_and_cancellations_breaks_the_spacing(
    pattern: list[tuple[float, bool]],
) -> None:
    """Bursts, idle gaps and cancelled waiters: grants stay an interval apart."""
    import looptime

    interval = 0.04
    grants: list[float] = []

    async def run() -> None:
        limiter = SpacingLimiter(interval)

        async def waiter(cancel: bool) -> None:
            if cancel:
                with anyio.move_on_after(0.05):
                    await limiter.acquire()
                    grants.append(anyio.current_time())
            else:
                grants.append(await limiter.acquire())

        async with anyio.create_task_group() as tg:
            for gap, cancel in pattern:
                await anyio.sleep(gap)
                tg.start_soon(waiter, cancel)

    loop = looptime.new_event_loop(start=0)
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    grants.sort()
    assert all(b - a >= interval for a, b in itertools.pairwise(grants))
    assert sum(not c for _, c in pattern) <= len(grants)


def test_policy_defaults_match_the_gateway() -> None:
    policy = RatePolicy()
    assert policy.rate_limit == 25
    assert policy.interval == pytest.approx(0.044)
    assert policy.effective_rate == pytest.approx(22.727, abs=1e-3)
    with pytest.raises(ValueError, match="rate_limit"):
        RatePolicy(rate_limit=0)
    with pytest.raises(ValueError, match="safety_margin"):
        RatePolicy(safety_margin=-0.1)


def test_throttle_pauses_and_decreases_once_per_cooldown() -> None:
    aimd = AdaptiveRate(RatePolicy())
    assert aimd.throttled(10.0, None) == pytest.approx(10.1)  # isolated: a short pause
    assert aimd.rate == pytest.approx(22.5)  # x 0.9
    assert aimd.throttled(11.0, None) == pytest.approx(12.1)  # again: the window is full
    assert aimd.rate == pytest.approx(22.5)  # within the cooldown: no second decrease
    assert aimd.throttled(12.5, 3.0) == pytest.approx(15.5)  # Retry-After longer than the pause
    assert aimd.rate == pytest.approx(20.25)
    assert aimd.throttled_count == 3
    assert aimd.throttled(30.0, None) == pytest.approx(30.1)  # isolated again


def test_rate_recovers_additively_up_to_the_ceiling() -> None:
    aimd = AdaptiveRate(RatePolicy())
    aimd.throttled(0.0, None)  # 25 -> 22.5
    assert aimd.interval(0.9) == pytest.approx(1.1 / 22.5)
    assert aimd.interval(1.0) == pytest.approx(1.1 / 23)
    assert aimd.interval(3.5) == pytest.approx(1.1 / 24)  # three clean steps of 1 s
    assert aimd.interval(1000.0) == pytest.approx(1.1 / 25)  # never above the ceiling


def test_rate_never_falls_below_the_floor() -> None:
    aimd = AdaptiveRate(RatePolicy(min_rate=2.0, decrease_cooldown=0))
    for i in range(50):
        aimd.throttled(float(i), None)
    assert aimd.rate == 2.0


def test_non_adaptive_policy_pauses_without_slowing() -> None:
    aimd = AdaptiveRate(RatePolicy(adaptive=False, first_pause=1.1))
    assert aimd.throttled(0.0, None) == pytest.approx(1.1)
    assert aimd.rate == 25.0


async def test_a_lower_priority_value_overtakes_the_queue_without_shortening_spacing() -> None:
    limiter = SpacingLimiter(0.1)
    order: list[str] = []
    grants: list[float] = []

    async def take(name: str, priority: int) -> None:
        grants.append(await limiter.acquire(priority))
        order.append(name)

    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(take, f"batch{i}", 1)
        await anyio.sleep(0.25)  # three batch grants have gone by now
        tg.start_soon(take, "urgent", 0)
        await anyio.sleep(0.001)
        tg.start_soon(take, "urgent2", 0)
    assert order[:3] == ["batch0", "batch1", "batch2"]
    assert order[3:5] == ["urgent", "urgent2"]
    assert order[5:] == [f"batch{i}" for i in range(3, 10)]
    grants.sort()
    assert min(b - a for a, b in itertools.pairwise(grants)) >= 0.1


async def test_cancelling_the_head_hands_over_to_the_next() -> None:
    limiter = SpacingLimiter(1.0)
    t0 = await limiter.acquire()
    results: list[float] = []

    async def second() -> None:
        results.append(await limiter.acquire(1))

    async with anyio.create_task_group() as tg:
        with anyio.move_on_after(0.3):
            tg.start_soon(second)
            await limiter.acquire(0)  # the head, cancelled before its turn
    assert results[0] == pytest.approx(t0 + 1.0, abs=1e-3)
    assert limiter.waiting == 0


class _LateClock:
    """The limiter's clock on a loaded host: every reading comes ``lateness`` later.

    Each reading adds the next lateness to an offset over the loop's virtual clock, so
    the limiter sees each wake-up (and each arrival) that much after the timer it set.
    """

    def __init__(self, lateness: list[float]) -> None:
        self._lateness = itertools.cycle(lateness or [0.0])
        self._offset = 0.0

    def __call__(self) -> float:
        self._offset += next(self._lateness)
        return anyio.current_time() + self._offset


def _run_late(
    limiter: SpacingLimiter,
    lateness: list[float],
    arrivals: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> list[float]:
    """Grant one permit per arrival gap (``arrivals``) under ``lateness``; the grant times."""
    import looptime

    from esploro_async.governance import limiter as module

    grants: list[float] = []

    async def run() -> None:
        async with anyio.create_task_group() as tg:
            for gap in arrivals:
                await anyio.sleep(gap)
                tg.start_soon(lambda: _append(grants, limiter))

    with monkeypatch.context() as patch:
        patch.setattr(module, "current_time", _LateClock(lateness))
        loop = looptime.new_event_loop(start=0)
        try:
            loop.run_until_complete(run())
        finally:
            loop.close()
    return sorted(grants)


async def _append(grants: list[float], limiter: SpacingLimiter) -> None:
    grants.append(await limiter.acquire())


def max_in_any_second(times: list[float]) -> int:
    """Most grants in any half-open second ``[t, t + 1)`` (the gateway's window)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] + 1.0 <= t:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_late_wake_ups_are_recovered_by_the_next_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    """A timer 1 ms late on every wake-up costs 1 ms per grant without catch-up, not with it."""
    late = [0.001]
    burst = [0.0] * 101
    recovered = _run_late(SpacingLimiter(0.04, catch_up=0.005), late, burst, monkeypatch)
    carried = _run_late(SpacingLimiter(0.04), late, burst, monkeypatch)
    assert recovered[-1] - recovered[0] == pytest.approx(100 * 0.04, abs=0.003)
    assert carried[-1] - carried[0] >= 100 * 0.041
    assert min(b - a for a, b in itertools.pairwise(recovered)) >= 0.04 - 0.005


def test_a_stall_longer_than_the_catch_up_restarts_the_timeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One 200 ms stall: the grants after it do not bunch to make up for it."""
    late = [0.0] * 10 + [0.2] + [0.0] * 60
    grants = _run_late(SpacingLimiter(0.04, catch_up=0.005), late, [0.0] * 40, monkeypatch)
    assert min(b - a for a, b in itertools.pairwise(grants)) >= 0.04 - 0.005
    # An unbounded timeline would make the stall up (39 intervals in all); this one loses it,
    # less the interval it would have waited anyway and the catch-up.
    assert grants[-1] - grants[0] >= 38 * 0.04 + 0.2 - 0.005


async def test_an_idle_limiter_with_catch_up_does_not_burst() -> None:
    limiter = SpacingLimiter(0.04, catch_up=0.005)
    await limiter.acquire()
    await anyio.sleep(10)
    grants = [await limiter.acquire() for _ in range(5)]
    assert min(b - a for a, b in itertools.pairwise(grants)) >= 0.04


def test_the_window_guard_holds_grants_beyond_the_limit() -> None:
    limiter = SpacingLimiter(0.0, window=(3, 1.0))
    grants: list[float] = []

    async def run() -> None:
        for _ in range(7):
            grants.append(await limiter.acquire())

    import looptime

    loop = looptime.new_event_loop(start=0)
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    assert grants[2] == pytest.approx(0.0, abs=1e-5)
    assert grants[3] == pytest.approx(1.0, abs=1e-5)
    assert grants[6] == pytest.approx(2.0, abs=1e-5)


def test_catch_up_and_window_are_validated() -> None:
    with pytest.raises(ValueError, match="catch_up"):
        SpacingLimiter(0.04, catch_up=-0.001)
    with pytest.raises(ValueError, match="window"):
        SpacingLimiter(0.04, window=(0, 1.0))


_wake_ups = st.lists(st.floats(0, 0.05), min_size=1, max_size=60)
_arrivals = st.lists(st.floats(0, 0.2), min_size=30, max_size=90)


@settings(max_examples=60, deadline=None)
@given(lateness=_wake_ups, arrivals=_arrivals)
def test_no_26_grants_within_one_second_for_any_wake_up_pattern(
    lateness: list[float], arrivals: list[float]
) -> None:
    """The gateway's rule at the default margin, from the timeline alone (no window guard)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        limiter = SpacingLimiter(1.10 / 25, catch_up=0.005)
        grants = _run_late(limiter, lateness, arrivals, monkeypatch)
    assert len(grants) == len(arrivals)
    assert all(grants[i + 25] - grants[i] >= 1.0 for i in range(len(grants) - 25))


@settings(max_examples=60, deadline=None)
@given(lateness=_wake_ups, arrivals=_arrivals)
def test_at_margin_0_no_more_than_25_in_any_sliding_second(
    lateness: list[float], arrivals: list[float]
) -> None:
    """At margin 0 the catch-up would let 26 in; the window guard keeps it to 25."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        limiter = SpacingLimiter(1.0 / 25, catch_up=0.005, window=(25, 1.0))
        grants = _run_late(limiter, lateness, arrivals, monkeypatch)
    assert len(grants) == len(arrivals)
    assert max_in_any_second(grants) <= 25


def test_without_the_guard_margin_0_lets_a_26th_grant_into_one_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the guard exists: late wake-ups recovered at margin 0 compress 26 grants."""
    late = [0.0] * 3 + [0.004] + [0.0] * 100  # one wake-up 4 ms late, early in the run
    grants = _run_late(SpacingLimiter(1.0 / 25, catch_up=0.005), late, [0.0] * 60, monkeypatch)
    assert max_in_any_second(grants) == 26

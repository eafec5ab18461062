"""Other integrations' requests read from the daily counter, and the room left for them.

`ForeignLoad` is pure (every call takes the time); the schedules here are drawn from seeds:
our grants at the limiter's pace, the gateway's counter falling by ours and by the others'
Poisson arrivals, our requests arriving after a random delay.
"""

from __future__ import annotations

import bisect
import math
import random

import pytest

from esploro_async.governance.foreign import ForeignLoad


def others_arrivals(
    rng: random.Random, others_rate: float, burst: int, seconds: float
) -> list[float]:
    """The others' arrivals up to ``seconds + 2``: Poisson at ``others_rate``, ``burst`` at a
    time within 50 ms when ``burst > 1``."""
    others: list[float] = []
    t = rng.expovariate(others_rate / burst) if others_rate else math.inf
    while t < seconds + 2:
        others += sorted(t + rng.uniform(0.0, 0.05) for _ in range(burst)) if burst > 1 else [t]
        t += rng.expovariate(others_rate / burst)
    others.sort()
    return others


def feed(load: ForeignLoad, grants: list[float], counted: dict[float, int]) -> None:
    """Each grant, then its answer (the counter ``counted`` at it) 0.3 s later, in time order."""
    timeline = sorted([(g, 0, g) for g in grants] + [(g + 0.3, 1, g) for g in grants])
    for _, answered, grant in timeline:
        if answered:
            load.observe(grant, counted[grant])
        else:
            load.granted(grant)


def schedule(
    seed: int,
    *,
    others_rate: float,
    jitter: float,
    seconds: float = 20.0,
    pace: float = 12.0,
    burst: int = 1,
) -> tuple[ForeignLoad, list[float]]:
    """Feed a `ForeignLoad` ``seconds`` of our grants and their counts; the others' arrivals.

    ``burst > 1``: theirs come ``burst`` at a time within 50 ms, at ``others_rate`` on average.
    """
    rng = random.Random(seed)
    others = others_arrivals(rng, others_rate, burst, seconds)
    grants = [i / pace for i in range(int(seconds * pace))]
    arrivals = sorted((g + rng.uniform(0.0, jitter), g) for g in grants)
    # The counter at each of our arrivals: 100,000 less every arrival up to it.
    ours_arrived = [a for a, _ in arrivals]
    counted = {g: 100_000 - (i + 1) - bisect.bisect(others, a) for i, (a, g) in enumerate(arrivals)}
    load = ForeignLoad()
    feed(load, grants, counted)
    assert ours_arrived
    return load, others


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("others_rate", [5.0, 10.0])
def test_the_others_rate_is_read_from_the_counter(seed: int, others_rate: float) -> None:
    load, others = schedule(seed, others_rate=others_rate, jitter=0.01)
    # The rate of the last ten seconds or so; Poisson counts of ~100 vary by ~10%.
    truth = sum(1 for t in others if 8.0 <= t <= 20.0) / 12.0
    assert load.rate == pytest.approx(truth, rel=0.2)


@pytest.mark.parametrize("seed", range(8))
def test_jitter_alone_makes_no_other_integration(seed: int) -> None:
    # Our requests arrive in another order than they were sent (0.5 s of jitter, 12 req/s):
    # the counter moves up and down between samples, but nobody else is there.
    load, _ = schedule(seed, others_rate=0.0, jitter=0.5)
    assert load.rate < 1.0


def test_nothing_is_held_while_no_other_integration_was_seen() -> None:
    load, _ = schedule(1, others_rate=0.0, jitter=0.01)
    assert load.hold(20.0) == -math.inf


def test_a_window_full_of_their_requests_holds_ours_until_they_leave() -> None:
    load = ForeignLoad()
    load.granted(0.0)
    load.observe(0.0, 1000)
    load.granted(0.1)
    load.observe(0.1, 1000 - 1 - 23)  # 23 of theirs arrived between our two
    # The window holds 25: a request of ours waits at least until the first of them leaves
    # it (longer: at the rate they came, more of theirs are expected meanwhile).
    held = load.hold(0.2)
    assert held >= 1.0 - 1e-3
    load.granted(0.15)  # one more of ours: two must leave first
    assert load.hold(0.2) > held


def test_a_new_quota_day_starts_the_count_afresh() -> None:
    load = ForeignLoad()
    for i in range(20):
        load.granted(i * 0.1)
        load.observe(i * 0.1, 500 - 2 * i)  # one of theirs between each two of ours
    assert load.rate > 5
    load.granted(2.0)
    load.observe(2.0, 100_000)  # the counter jumped up: a new day
    assert load.rate == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_poisson_arrivals_are_not_taken_for_bursts(seed: int) -> None:
    load, _ = schedule(seed, others_rate=10.0, jitter=0.01)
    assert load.clumping == 1.0


@pytest.mark.parametrize("seed", range(6))
def test_bursts_are_told_from_poisson_arrivals_at_the_same_rate(seed: int) -> None:
    # Ten at a time at 10 req/s on average: their counts per quarter second vary far more than
    # Poisson arrivals' (the room kept for their unseen arrivals widens with it).
    bursty, _ = schedule(seed, others_rate=10.0, jitter=0.01, burst=10)
    poisson, _ = schedule(seed, others_rate=10.0, jitter=0.01)
    assert bursty.clumping >= 3.0
    assert bursty.rate == pytest.approx(poisson.rate, rel=0.6)

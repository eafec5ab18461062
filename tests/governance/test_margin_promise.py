"""The default (automatic) margin keeps the promise of the fixed 0.10 it starts from.

A fixed margin of 0.10 keeps our arrivals at 25 in any second while the send-to-arrival delay
varies by less than 0.10 s. The automatic margin narrows only on evidence, so it must keep the
same promise whatever the gateway does with ``X-Exl-Api-Remaining`` (written as it counts a
request, as the response leaves, or not at all). Each seed draws that jitter, how the latency
splits around the arrival and the header's timing, and runs a sustained harvest at full rate
in virtual time; the judge is the simulator's arrival log.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Literal, NamedTuple

import pytest

from conftest import fan_out, jittered_gateway
from esploro_async import EsploroClient
from esploro_async.testing import SIM_API_KEY, RequestRecord, SimulatedGateway, Stalls

pytestmark = pytest.mark.looptime

Timing = Literal["arrival", "departure", "none"]
TIMINGS: tuple[Timing, ...] = ("arrival", "departure", "none")


def draw(seed: int) -> tuple[SimulatedGateway, float]:
    rng = random.Random(f"margin-promise:{seed}")
    jitter = rng.uniform(0.0, 0.095)
    spread = rng.uniform(max(jitter, 0.05), 1.5)
    low = rng.uniform(0.0, 0.5)
    gateway = jittered_gateway(
        seed,
        researchers=15_000,
        low=low,
        spread=spread,
        jitter=jitter,
        remaining_header=TIMINGS[seed % 3],
    )
    return gateway, jitter


@pytest.mark.parametrize("seed", range(9))
async def test_no_more_than_25_arrivals_in_any_second_below_the_starting_margin(
    seed: int,
) -> None:
    gateway, jitter = draw(seed)
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
    ) as client:
        records = [r.primary_id async for r in client.researchers.list()]
    assert len(set(records)) == 15_000
    arrived = gateway.max_in_window(accepted_only=False, lane="client")
    assert arrived <= 25, f"{arrived} arrivals in one second at {jitter * 1000:.0f} ms of jitter"
    assert gateway.counts_by_status()[429] == 0


def draw_near_the_resolution(seed: int) -> tuple[SimulatedGateway, float, float]:
    """Jitter about one interval, where the order shows it rarely, and a midnight GMT.

    A request leg that varies by about the spacing of the sends inverts neighbouring arrivals
    rarely, about as rarely as it puts a 26th arrival into a second at a margin of one
    interval. Midnight GMT then starts the count again from the full quota: the jitter the
    inversions proved must still bound the margin after it.
    """
    rng = random.Random(f"margin-promise-midnight:{seed}")
    jitter = rng.uniform(0.040, 0.060)
    total_spread = rng.uniform(jitter, 0.3)
    low = rng.uniform(0.02, 0.3)
    to_midnight = rng.uniform(15.0, 50.0)
    day_start = datetime(2026, 3, 1 + seed % 27, tzinfo=timezone.utc) + timedelta(days=1)
    gateway = jittered_gateway(
        seed,
        researchers=10,
        low=low,
        spread=total_spread,
        jitter=jitter,
        start=day_start - timedelta(seconds=to_midnight),
    )
    return gateway, jitter, to_midnight


@pytest.mark.parametrize("seed", range(8))
async def test_jitter_about_one_interval_and_a_midnight_draw_no_429(seed: int) -> None:
    gateway, jitter, to_midnight = draw_near_the_resolution(seed)
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
    ) as client:
        await fan_out(client, tasks=40, per_task=45)
    log = gateway.client_log()
    assert log[-1].arrival - log[0].arrival > to_midnight + 5, "the run must cross midnight"
    arrived = gateway.max_in_window(accepted_only=False, lane="client")
    context = f"{jitter * 1000:.0f} ms of jitter, midnight after {to_midnight:.0f} s"
    assert arrived <= 25, f"{arrived} arrivals in one second at {context}"
    assert gateway.counts_by_status()[429] == 0, context


class StalledDraw(NamedTuple):
    gateway: SimulatedGateway
    midnight: float  # seconds from the first request to midnight GMT
    slowest_leg: float  # the longest request leg of a request no stall holds
    context: str


def draw_rare_stalls_across_midnight(seed: int) -> StalledDraw:
    """Rare bursts of requests held 60-200 ms on the way, and a midnight GMT mid-harvest.

    Every 10 to 20 s a stall holds 2 to 4 requests in a row for one delay of 60-200 ms (the
    request legs otherwise vary by at most 20 ms). Each burst inverts the arrival order, which
    proves the delay, and bunches its requests into the same second: 26 arrivals there once the
    margin is narrower than the delay. The round trips are long (0.9-1.8 s, the API's work after
    arrival), so a burst's inversions are read only after its 26th arrival has been decided: a
    margin that forgot at midnight what the inversions had proved draws a 429 at the first
    burst after it, with no warning.
    """
    rng = random.Random(f"margin-promise-stalls:{seed}")
    low = rng.uniform(0.9, 1.3)
    spread = rng.uniform(0.1, 0.5)
    jitter = rng.uniform(0.0, 0.02)
    delay = rng.uniform(0.06, 0.2)
    stalls = Stalls(rng.uniform(0.002, 0.004), delay, delay, burst=rng.randint(2, 4))
    midnight = rng.uniform(45.0, 70.0)
    day_start = datetime(2026, 5, 1 + seed % 27, tzinfo=timezone.utc) + timedelta(days=1)
    gateway = jittered_gateway(
        seed,
        researchers=10,
        low=low,
        spread=spread,
        jitter=jitter,
        stalls=stalls,
        start=day_start - timedelta(seconds=midnight),
    )
    context = (
        f"bursts of {stalls.burst} held {delay * 1000:.0f} ms, {jitter * 1000:.0f} ms of "
        f"jitter besides, midnight after {midnight:.0f} s"
    )
    return StalledDraw(gateway, midnight, (low + spread) * jitter / spread, context)


def sent_at(record: RequestRecord) -> float:
    assert record.sent is not None  # a request of ours (foreign arrivals have none)
    return record.sent


def request_leg(record: RequestRecord) -> float:
    return record.arrival - sent_at(record)


def assert_the_draw_tests_both_sides_of_midnight(
    log: list[RequestRecord], held: list[RequestRecord], midnight: float
) -> None:
    """The harvest runs well past ``midnight``, with stalled bursts before and after it."""
    assert log[-1].arrival > midnight + 30, "the harvest must run on well past midnight"
    assert any(r.arrival < midnight for r in held), "a burst must come before midnight"
    assert any(r.arrival > midnight + 10 for r in held), "a burst must come after midnight"


@pytest.mark.parametrize("seed", range(8))
async def test_what_rare_stalls_proved_before_midnight_keeps_429s_away_after_it(
    seed: int,
) -> None:
    """Only the first burst, before any inversion proved its delay, may cost a 429."""
    draw = draw_rare_stalls_across_midnight(seed)
    gateway = draw.gateway
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
    ) as client:
        await fan_out(client, tasks=60, per_task=42)
    log = gateway.client_log()
    start = log[0].arrival
    midnight = start + draw.midnight
    held = [r for r in log if request_leg(r) > draw.slowest_leg + 1e-6]
    assert_the_draw_tests_both_sides_of_midnight(log, held, midnight)
    first_burst = [r for r in held if sent_at(r) <= sent_at(held[0]) + 0.5]
    first_window_ends = max(r.arrival for r in first_burst) + gateway.window
    late = [r.arrival - start for r in log if r.status == 429 and r.arrival > first_window_ends]
    assert not late, f"429s at {[round(t, 1) for t in late]} s with {draw.context}"

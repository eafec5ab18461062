"""The governed client against a strict gateway, in virtual time.

These are the guarantees users rely on: the per-second threshold is never
broken, 429s pause everyone, the daily reserve is never crossed, and nothing is
retried that could be applied twice.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import anyio
import pytest

from conftest import ClientFactory
from esploro_async import (
    ConnectionLostError,
    DailyQuotaExhaustedError,
    EsploroClient,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
)
from strict_gateway import StrictGateway

pytestmark = pytest.mark.looptime


async def fan_out(client: EsploroClient, tasks: int, per_task: int, method: str = "GET") -> None:
    async def worker() -> None:
        for _ in range(per_task):
            await client.request(method, "researchers/test")

    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(worker)


async def test_2000_requests_from_50_tasks_never_exceed_25_per_second_at_margin_0(
    gateway: StrictGateway, make_client: ClientFactory
) -> None:
    client = make_client(safety_margin=0.0)
    await fan_out(client, tasks=50, per_task=40)
    assert len(gateway.arrivals) == 2000
    assert all(a.status == 200 for a in gateway.arrivals)
    assert gateway.max_in_window() <= 25


async def test_default_margin_keeps_23_per_second(
    gateway: StrictGateway, make_client: ClientFactory
) -> None:
    client = make_client()
    await fan_out(client, tasks=50, per_task=40)
    assert gateway.max_in_window() <= 23
    elapsed = gateway.arrivals[-1].at - gateway.arrivals[0].at
    assert 1999 / elapsed == pytest.approx(25 / 1.1, rel=0.01)


async def test_no_429_when_jitter_stays_under_the_margin(make_client: ClientFactory) -> None:
    gateway = StrictGateway(latency=(0.015, 0.065), seed=7)  # one-way spread 50 ms < 100 ms
    client = make_client(transport=gateway.transport())
    await fan_out(client, tasks=40, per_task=50)
    assert [a.status for a in gateway.arrivals].count(429) == 0
    assert gateway.max_in_window() <= 25


async def test_a_429_pauses_every_sender_and_cuts_the_rate(make_client: ClientFactory) -> None:
    # Another integration of the institution sends 5 req/s: 22.7 + 5 > 25, so 429s come.
    gateway = StrictGateway()
    client = make_client(transport=gateway.transport())
    throttled: list[float] = []
    client.governance.on_throttled(lambda event: throttled.append(event.current_rate))  # type: ignore[attr-defined]
    start = anyio.current_time()
    gateway.foreign = [start + 0.01 + 0.2 * k for k in range(200)]
    await fan_out(client, tasks=10, per_task=20)
    refused = [a.at for a in gateway.arrivals if a.status == 429]
    assert refused, "the foreign load must cause at least one 429"
    for t in refused:
        later = [a.at for a in gateway.arrivals if t < a.at < t + 0.1 - 1e-6]
        assert later == [], "nothing may be sent in the pause after a 429"
    assert all(a.status == 200 for a in gateway.arrivals if a.at > refused[-1])
    assert len([a for a in gateway.arrivals if a.status == 200]) == 200
    assert throttled
    assert throttled[0] == pytest.approx(20.0)
    snapshot = client.governance.snapshot()
    assert snapshot.throttled == len(refused)
    assert snapshot.retries == len(refused)


async def test_a_429_right_after_a_pause_pauses_every_sender_for_1_1_s(
    make_client: ClientFactory,
) -> None:
    # Another integration filled the whole window: the short pause is not enough.
    gateway = StrictGateway()
    client = make_client(transport=gateway.transport())
    start = anyio.current_time()
    gateway.foreign = [start] * 25
    response = await client.request("GET", "researchers/test")
    arrivals = [(round(a.at - start, 3), a.status) for a in gateway.arrivals]
    assert arrivals == [(0.0, 429), (0.1, 429), (1.2, 200)]
    assert response.attempts == 3


async def test_rate_limit_error_when_429s_persist(make_client: ClientFactory) -> None:
    gateway = StrictGateway(rate_limit=0)  # everything is refused
    client = make_client(transport=gateway.transport(), retry=RetryPolicy(max_attempts=3))
    with pytest.raises(RateLimitError) as raised:
        await client.request("GET", "researchers/test")
    assert raised.value.status_code == 429
    assert raised.value.error_code == "PER_SECOND_THRESHOLD"
    assert len(gateway.arrivals) == 3


async def test_reserve_floor_is_exact(make_client: ClientFactory) -> None:
    gateway = StrictGateway(quota=100)
    client = make_client(transport=gateway.transport(), daily_reserve=10)
    outcomes: list[str] = []
    refusals: list[DailyQuotaExhaustedError] = []

    async def worker() -> None:
        while True:
            try:
                await client.request("GET", "researchers/test")
            except DailyQuotaExhaustedError as exc:
                refusals.append(exc)
                return
            outcomes.append("ok")

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(worker)
    assert outcomes.count("ok") == 90
    assert len(refusals) == 20
    assert all(exc.status_code is None and exc.reserve == 10 for exc in refusals)
    assert len(gateway.arrivals) == 90
    assert gateway.quota == 10
    assert client.governance.snapshot().quota_remaining == 10


async def test_daily_threshold_is_not_retried(make_client: ClientFactory) -> None:
    # The gateway's day is not the host's: the reset time follows the gateway's Date.
    gateway = StrictGateway(quota=0, start=datetime.now(timezone.utc) - timedelta(hours=30))
    client = make_client(transport=gateway.transport())
    with pytest.raises(DailyQuotaExhaustedError) as raised:
        await client.request("GET", "researchers/test")
    assert raised.value.status_code == 429
    assert raised.value.tracking_id == "E01-TEST"
    gateway_midnight = (gateway.start + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert raised.value.resets_at == gateway_midnight  # the gateway's day, not the host's
    assert len(gateway.arrivals) == 1
    with pytest.raises(DailyQuotaExhaustedError):  # now refused without sending
        await client.request("GET", "researchers/test")
    assert len(gateway.arrivals) == 1


async def test_wait_mode_sleeps_until_the_reset(make_client: ClientFactory) -> None:
    gateway = StrictGateway(quota=3, start=datetime(2026, 11, 28, 23, 59, 0, tzinfo=timezone.utc))
    client = make_client(transport=gateway.transport(), on_quota_exhausted="wait")
    for _ in range(3):
        await client.request("GET", "researchers/test")
    gateway.quota = 1000  # the gateway resets at midnight

    t0 = anyio.current_time()
    await client.request("GET", "researchers/test")
    assert anyio.current_time() - t0 >= 60 - 1
    assert gateway.wall(gateway.arrivals[-1].at).day == 29
    assert len(gateway.arrivals) == 4


def scripted(faults: list[str]) -> StrictGateway:
    """A gateway whose successive requests fail as listed, then succeed."""
    return StrictGateway(faults=list(faults))


async def test_post_is_not_retried_after_a_read_timeout(make_client: ClientFactory) -> None:
    gateway = scripted(["hang"])
    client = make_client(transport=gateway.transport(), timeout=5.0)
    with pytest.raises(RequestTimeoutError) as raised:
        await client.request("POST", "activities", json={"activityName": "x"})
    assert "may have been processed" in (RequestTimeoutError.__doc__ or "")
    assert raised.value.method == "POST"
    assert len(gateway.arrivals) == 1


async def test_get_is_retried_after_a_read_timeout(make_client: ClientFactory) -> None:
    gateway = scripted(["hang", "reset"])
    client = make_client(transport=gateway.transport(), timeout=5.0)
    response = await client.request("GET", "researchers/test")
    assert response.attempts == 3
    assert len(gateway.arrivals) == 3


async def test_post_is_not_retried_after_a_reset_but_is_after_a_refused_connection(
    make_client: ClientFactory,
) -> None:
    gateway = scripted(["reset"])
    client = make_client(transport=gateway.transport())
    with pytest.raises(ConnectionLostError):
        await client.request("POST", "activities", json={})
    assert len(gateway.arrivals) == 1

    gateway2 = scripted(["refused", "refused"])
    client2 = make_client(transport=gateway2.transport(), api_key="another-key-for-a-fresh-client")
    response = await client2.request("POST", "activities", json={})
    assert response.attempts == 3


async def test_post_is_retried_after_429_per_second(make_client: ClientFactory) -> None:
    gateway = StrictGateway(foreign=[0.0] * 25)
    client = make_client(transport=gateway.transport())
    gateway.foreign = [anyio.current_time()] * 25
    response = await client.request("POST", "activities", json={})
    assert response.attempts == 3  # the window stays full through the short first pause
    assert [a.status for a in gateway.arrivals] == [429, 429, 200]


async def test_server_errors_retry_get_but_not_post(make_client: ClientFactory) -> None:
    gateway = scripted(["500", "500"])
    client = make_client(transport=gateway.transport())
    assert (await client.request("GET", "researchers/test")).attempts == 3

    gateway2 = scripted(["500"])
    client2 = make_client(transport=gateway2.transport(), api_key="second-key-fresh-governance")
    with pytest.raises(ServerError) as raised:
        await client2.request("POST", "activities", json={})
    assert raised.value.error_code == "x"
    assert len(gateway2.arrivals) == 1


async def test_retry_after_beyond_the_cap_fails_at_once(make_client: ClientFactory) -> None:
    gateway = scripted(["503-long"])
    client = make_client(transport=gateway.transport())
    t0 = anyio.current_time()
    with pytest.raises(ServerError):
        await client.request("GET", "researchers/test")
    assert anyio.current_time() - t0 < 1
    assert len(gateway.arrivals) == 1


async def test_waiting_for_a_permit_never_counts_toward_the_timeout(
    make_client: ClientFactory,
) -> None:
    gateway = StrictGateway(latency=(0.1, 0.1))
    client = make_client(transport=gateway.transport(), timeout=0.5, retry=RetryPolicy.none())
    # 100 requests queue ~4.4 s for permits, each far beyond the 0.5 s timeout.
    await fan_out(client, tasks=100, per_task=1)
    assert len(gateway.arrivals) == 100


async def test_two_clients_of_one_institution_share_the_rate(
    gateway: StrictGateway, make_client: ClientFactory
) -> None:
    first = make_client(safety_margin=0.0)
    second = make_client(safety_margin=0.0)
    assert first.governance is second.governance
    async with anyio.create_task_group() as tg:
        tg.start_soon(fan_out, first, 10, 30)
        tg.start_soon(fan_out, second, 10, 30)
    assert gateway.max_in_window() <= 25


async def test_randomised_workloads_stay_within_the_threshold(make_client: ClientFactory) -> None:
    rng = random.Random(3)
    gateway = StrictGateway(latency=(0.0, 0.04), seed=3)
    client = make_client(transport=gateway.transport())

    async def bursty() -> None:
        for _ in range(15):
            await anyio.sleep(rng.choice([0, 0, 0.2, 1.5]))
            await client.request("GET", "researchers/test")

    async with anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(bursty)
    assert gateway.max_in_window() <= 25  # 40 ms of jitter may add one over 23, never 3
    assert all(a.status == 200 for a in gateway.arrivals)

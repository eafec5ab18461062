"""The governed client against the simulated gateway, in virtual time.

These are the guarantees users rely on: the per-second threshold is never
broken, 429s pause everyone, the daily reserve is never crossed, and nothing is
retried that could be applied twice.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import anyio
import attrs
import httpx
import pytest

from conftest import ClientFactory, fan_out, make_gateway
from esploro_async import (
    ConnectionLostError,
    DailyQuotaExhaustedError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
)
from esploro_async.governance import Governance, RatePolicy
from esploro_async.testing import Fault, FaultKind, Latency, SimulatedGateway

pytestmark = pytest.mark.looptime

NOON = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
"""A gateway start far from its midnight, for tests that count the quota down."""


async def test_2000_requests_from_50_tasks_never_exceed_25_per_second_at_margin_0(
    gateway: SimulatedGateway, make_client: ClientFactory
) -> None:
    client = make_client(safety_margin=0.0)
    await fan_out(client, tasks=50, per_task=40)
    assert len(gateway.client_log()) == 2000
    assert all(a.status == 200 for a in gateway.client_log())
    assert gateway.max_in_window() <= 25


async def test_a_fixed_margin_of_0_10_keeps_23_per_second(make_client: ClientFactory) -> None:
    # At noon: a run across the gateway's midnight would spend one round trip on the probe
    # of the new day's quota, and the rate over the whole run would be lower.
    gateway = make_gateway(start=datetime.now(timezone.utc).replace(hour=12))
    client = make_client(transport=gateway.transport(), safety_margin=0.10)
    await fan_out(client, tasks=50, per_task=40)
    assert gateway.max_in_window() <= 23
    log = gateway.client_log()
    elapsed = log[-1].arrival - log[0].arrival
    assert 1999 / elapsed == pytest.approx(25 / 1.1, rel=0.01)


async def test_the_default_margin_narrows_to_23_85_per_second_when_arrivals_keep_order(
    make_client: ClientFactory,
) -> None:
    # Round trips spread over 0.6 s, all of it after arrival: only the order tells.
    gateway = make_gateway(
        start=datetime.now(timezone.utc).replace(hour=12),
        latency=Latency.uniform(0.2, 0.8),
        up_fraction=0.0,
    )
    client = make_client(transport=gateway.transport())
    await fan_out(client, tasks=50, per_task=40)
    log = gateway.client_log()
    assert all(r.status == 200 for r in log)
    assert gateway.max_in_window() <= 25
    # Starts at 22.7 req/s (margin 0.10); once the order of arrivals shows no jitter the
    # margin is 1.15 x the finest gap it resolves (one interval): m = 1.15 (1 + m) / 25.
    margin = 0.046 / 0.954
    later = log[1000:]
    rate = (len(later) - 1) / (later[-1].arrival - later[0].arrival)
    assert rate == pytest.approx(25 / (1 + margin), rel=0.003)
    assert client.governance.snapshot().safety_margin == pytest.approx(margin, abs=0.001)


@pytest.mark.parametrize(
    "start",
    [NOON, datetime(2026, 11, 28, 23, 59, 30, tzinfo=timezone.utc)],
    ids=["noon", "30-s-before-midnight"],
)
async def test_no_429_when_jitter_stays_under_the_margin(
    make_client: ClientFactory, start: datetime
) -> None:
    # one-way (send to arrival) 15-65 ms: a spread of 50 ms < 100 ms. Across midnight GMT the
    # count starts again from the full quota: what the margin learnt of the jitter stays.
    gateway = make_gateway(start=start, latency=Latency.uniform(0.030, 0.130), seed=7)
    client = make_client(transport=gateway.transport())
    await fan_out(client, tasks=40, per_task=50)
    assert [a.status for a in gateway.client_log()].count(429) == 0
    assert gateway.max_in_window() <= 25


def assert_a_pause_after_each_429(
    gateway: SimulatedGateway, refused: list[float], pause: float
) -> None:
    """Nothing of ours arrives within ``pause`` seconds after any refused arrival."""
    for t in refused:
        later = [a.arrival for a in gateway.client_log() if t < a.arrival < t + pause - 1e-6]
        assert later == [], "nothing may be sent in the pause after a 429"


async def test_a_429_pauses_every_sender_and_cuts_the_rate(make_client: ClientFactory) -> None:
    # Another integration of the institution sends 5 req/s: 22.7 + 5 > 25, so 429s come
    # (room is not made for it here: this is the reaction to the 429s it causes).
    gateway = make_gateway()
    policy = RatePolicy(room_for_others=False)
    client = make_client(
        transport=gateway.transport(), governance=Governance.local(rate_policy=policy)
    )
    throttled: list[float] = []
    client.governance.on_throttled(lambda event: throttled.append(event.current_rate))  # type: ignore[attr-defined]
    start = anyio.current_time()
    gateway.add_foreign_arrivals(start + 0.01 + 0.2 * k for k in range(200))
    await fan_out(client, tasks=10, per_task=20)
    refused = [a.arrival for a in gateway.client_log() if a.status == 429]
    assert refused, "the foreign load must cause at least one 429"
    assert_a_pause_after_each_429(gateway, refused, pause=0.1)
    assert all(a.status == 200 for a in gateway.client_log() if a.arrival > refused[-1])
    assert len([a for a in gateway.client_log() if a.status == 200]) == 200
    assert throttled
    assert throttled[0] == pytest.approx(22.5)
    snapshot = client.governance.snapshot()
    assert snapshot.throttled == len(refused)
    assert snapshot.retries == len(refused)


async def test_a_429_right_after_a_pause_pauses_every_sender_for_1_1_s(
    make_client: ClientFactory,
) -> None:
    # Another integration filled the whole window: the short pause is not enough.
    gateway = make_gateway()
    client = make_client(transport=gateway.transport())
    start = anyio.current_time()
    gateway.add_foreign_arrivals([start] * 25)
    response = await client.request("GET", "researchers/test")
    arrivals = [(round(a.arrival - start, 3), a.status) for a in gateway.client_log()]
    assert arrivals == [(0.0, 429), (0.1, 429), (1.2, 200)]
    assert response.attempts == 3


async def test_rate_limit_error_when_429s_persist(make_client: ClientFactory) -> None:
    gateway = make_gateway(rate_limit=0)  # everything is refused
    client = make_client(transport=gateway.transport(), retry=RetryPolicy(max_attempts=3))
    with pytest.raises(RateLimitError) as raised:
        await client.request("GET", "researchers/test")
    assert raised.value.status_code == 429
    assert raised.value.error_code == "PER_SECOND_THRESHOLD"
    assert len(gateway.client_log()) == 3


async def test_reserve_floor_is_exact(make_client: ClientFactory) -> None:
    gateway = make_gateway(quota_remaining=100, start=NOON)
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
    assert len(gateway.client_log()) == 90
    assert gateway.quota_remaining == 10
    assert client.governance.snapshot().quota_remaining == 10


async def test_daily_threshold_is_not_retried(make_client: ClientFactory) -> None:
    # The gateway's day is not the host's: the reset time follows the gateway's Date.
    gateway = make_gateway(
        quota_remaining=0, start=datetime.now(timezone.utc) - timedelta(hours=30)
    )
    transport = Recording(gateway.transport())
    client = make_client(transport=transport)
    with pytest.raises(DailyQuotaExhaustedError) as raised:
        await client.request("GET", "researchers/test")
    assert raised.value.status_code == 429
    assert raised.value.tracking_id is not None
    assert f"<trackingId>{raised.value.tracking_id}</trackingId>" in transport.bodies[0]
    gateway_midnight = (gateway.start + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert raised.value.resets_at == gateway_midnight  # the gateway's day, not the host's
    assert len(gateway.client_log()) == 1
    with pytest.raises(DailyQuotaExhaustedError):  # now refused without sending
        await client.request("GET", "researchers/test")
    assert len(gateway.client_log()) == 1


async def test_wait_mode_sleeps_until_the_reset(make_client: ClientFactory) -> None:
    gateway = make_gateway(
        daily_quota=1000,  # what the gateway resets the quota to at its midnight
        quota_remaining=3,
        start=datetime(2026, 11, 28, 23, 59, 0, tzinfo=timezone.utc),
    )
    client = make_client(transport=gateway.transport(), on_quota_exhausted="wait")
    for _ in range(3):
        await client.request("GET", "researchers/test")

    t0 = anyio.current_time()
    await client.request("GET", "researchers/test")
    assert anyio.current_time() - t0 >= 60 - 1
    assert gateway.client_log()[-1].wall_time.day == 29
    assert len(gateway.client_log()) == 4


class Recording(httpx.AsyncBaseTransport):
    """Passes requests to ``inner`` and keeps the text of every response."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.bodies.append((await response.aread()).decode())
        return response


FAULTS = {
    "hang": Fault(FaultKind.HANG),  # never answers: the client's read timeout fires
    "reset": Fault(FaultKind.RESET, processed=True),  # connection lost after processing
    "refused": Fault(FaultKind.RESET, processed=False),  # connection refused: not processed
    "500": Fault(FaultKind.HTTP_500),
    "503-long": Fault(FaultKind.ROUTING_ERROR, retry_after=3600),  # come back in an hour
}


def scripted(faults: list[str]) -> SimulatedGateway:
    """A gateway whose successive requests fail as listed, then succeed."""
    return make_gateway(
        faults=[attrs.evolve(FAULTS[name], requests={n}) for n, name in enumerate(faults, 1)]
    )


async def test_post_is_not_retried_after_a_read_timeout(make_client: ClientFactory) -> None:
    gateway = scripted(["hang"])
    client = make_client(transport=gateway.transport(), timeout=5.0)
    with pytest.raises(RequestTimeoutError) as raised:
        await client.request("POST", "researchers/test", json={})
    assert "may have been processed" in (RequestTimeoutError.__doc__ or "")
    assert raised.value.method == "POST"
    assert len(gateway.client_log()) == 1


async def test_get_is_retried_after_a_read_timeout(make_client: ClientFactory) -> None:
    gateway = scripted(["hang", "reset"])
    client = make_client(transport=gateway.transport(), timeout=5.0)
    response = await client.request("GET", "researchers/test")
    assert response.attempts == 3
    assert len(gateway.client_log()) == 3


async def test_post_is_not_retried_after_a_reset_but_is_after_a_refused_connection(
    make_client: ClientFactory,
) -> None:
    gateway = scripted(["reset"])
    client = make_client(transport=gateway.transport())
    with pytest.raises(ConnectionLostError):
        await client.request("POST", "researchers/test", json={})
    assert len(gateway.client_log()) == 1

    gateway2 = scripted(["refused", "refused"])
    client2 = make_client(transport=gateway2.transport(), api_key="another-key-for-a-fresh-client")
    response = await client2.request("POST", "researchers/test", json={})
    assert response.attempts == 3


async def test_post_is_retried_after_429_per_second(make_client: ClientFactory) -> None:
    gateway = make_gateway()
    client = make_client(transport=gateway.transport())
    gateway.add_foreign_arrivals([anyio.current_time()] * 25)  # the window is full now
    response = await client.request("POST", "researchers/test", json={})
    assert response.attempts == 3  # the window stays full through the short first pause
    assert [a.status for a in gateway.client_log()] == [429, 429, 200]


async def test_server_errors_retry_get_but_not_post(make_client: ClientFactory) -> None:
    gateway = scripted(["500", "500"])
    client = make_client(transport=gateway.transport())
    assert (await client.request("GET", "researchers/test")).attempts == 3

    gateway2 = scripted(["500"])
    client2 = make_client(transport=gateway2.transport(), api_key="second-key-fresh-governance")
    with pytest.raises(ServerError) as raised:
        await client2.request("POST", "researchers/test", json={})
    assert raised.value.error_code == "INTERNAL_SERVER_ERROR"
    assert len(gateway2.client_log()) == 1


async def test_retry_after_beyond_the_cap_fails_at_once(make_client: ClientFactory) -> None:
    gateway = scripted(["503-long"])
    client = make_client(transport=gateway.transport())
    t0 = anyio.current_time()
    with pytest.raises(ServerError):
        await client.request("GET", "researchers/test")
    assert anyio.current_time() - t0 < 1
    assert len(gateway.client_log()) == 1


async def test_waiting_for_a_permit_never_counts_toward_the_timeout(
    make_client: ClientFactory,
) -> None:
    gateway = make_gateway(latency=Latency.fixed(0.2))  # 0.1 s each way
    client = make_client(transport=gateway.transport(), timeout=0.5, retry=RetryPolicy.none())
    # 100 requests queue ~4.4 s for permits, each far beyond the 0.5 s timeout.
    await fan_out(client, tasks=100, per_task=1)
    assert len(gateway.client_log()) == 100


async def test_two_clients_of_one_institution_share_the_rate(
    gateway: SimulatedGateway, make_client: ClientFactory
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
    gateway = make_gateway(latency=Latency.uniform(0.0, 0.08), seed=3)  # 0-40 ms each way
    client = make_client(transport=gateway.transport())

    async def bursty() -> None:
        for _ in range(15):
            await anyio.sleep(rng.choice([0, 0, 0.2, 1.5]))
            await client.request("GET", "researchers/test")

    async with anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(bursty)
    assert gateway.max_in_window() <= 25  # 40 ms of jitter may add one over 23, never 3
    assert all(a.status == 200 for a in gateway.client_log())

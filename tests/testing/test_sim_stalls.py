"""`Stalls`: rare but large delays on the way to the gateway, held in seeded bursts."""

from __future__ import annotations

import itertools

import anyio
import httpx
import pytest

from esploro_async.testing import (
    SIM_API_KEY,
    Latency,
    RequestRecord,
    SimulatedGateway,
    Stalls,
    SyntheticInstitution,
)

pytestmark = pytest.mark.looptime

HEADERS = {"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"}
SPACING = 0.05
# Latency 0.2-0.4 s, a quarter of it before arrival: the request leg takes 0.05-0.1 s.
LATENCY = Latency.uniform(0.2, 0.4)
UP_FRACTION = 0.25


async def send_paced(gateway: SimulatedGateway, requests: int) -> list[RequestRecord]:
    """``requests`` requests sent ``SPACING`` apart, each in its own task; the log by send."""
    async with (
        httpx.AsyncClient(
            transport=gateway.transport(), base_url="http://esploro.localhost", headers=HEADERS
        ) as client,
        anyio.create_task_group() as tg,
    ):
        for _ in range(requests):
            tg.start_soon(client.get, "/esploro/v1/researchers/test")
            await anyio.sleep(SPACING)
    return sorted(gateway.client_log(), key=lambda record: record.number)


def gateway(stalls: Stalls | None, seed: int = 3) -> SimulatedGateway:
    return SimulatedGateway(
        SyntheticInstitution(seed=seed, researchers=5, assets=5),
        latency=LATENCY,
        up_fraction=UP_FRACTION,
        stalls=stalls,
        rate_limit=10_000,
        seed=seed,
    )


def request_leg(record: RequestRecord) -> float:
    assert record.sent is not None
    return record.arrival - record.sent


async def test_a_stall_holds_a_burst_of_requests_sent_one_after_another() -> None:
    stalls = Stalls(0.02, 0.06, 0.2, burst=3)
    log = await send_paced(gateway(stalls), 1_500)
    # Without a stall the request leg is 0.05-0.1 s; a stall adds 0.06-0.2 s to it.
    held = [record.number for record in log if request_leg(record) > 0.1 + 1e-9]
    for record in log:
        assert 0.05 - 1e-9 <= request_leg(record) <= 0.1 + 0.2 + 1e-9
        if record.number in held:
            assert request_leg(record) >= 0.05 + 0.06 - 1e-9
    runs = [
        len(list(run))
        for _, run in itertools.groupby(enumerate(held), key=lambda pair: pair[1] - pair[0])
    ]
    # Every stall holds 3 requests in a row (two stalls may follow one another).
    assert runs
    assert all(length % 3 == 0 for length in runs), runs
    stall_count = len(held) // 3
    assert 15 <= stall_count <= 50, stall_count  # about 2% of 1,500 sends start one: ~28
    # Requests sent after a held one arrive before it: inversions of the arrival order.
    by_arrival = sorted(log, key=lambda record: record.arrival)
    assert [record.number for record in by_arrival] != sorted(record.number for record in log)


async def test_stalls_leave_the_other_requests_latencies_as_they_were() -> None:
    plain = await send_paced(gateway(None), 300)
    stalled = await send_paced(gateway(Stalls(0.05, 0.1, 0.1)), 300)
    extra = [request_leg(b) - request_leg(a) for a, b in zip(plain, stalled, strict=True)]
    held = [delay for delay in extra if delay > 0.05]
    assert 5 <= len(held) <= 30, len(held)  # 5% of 300: ~15
    # The arrival is taken to the nanosecond: a held request is 0.1 s later, no other moves.
    assert all(delay == pytest.approx(0.1, abs=2e-9) for delay in held)
    assert all(delay == pytest.approx(0.0, abs=2e-9) for delay in extra if delay <= 0.05)
    # The same seed holds the same requests.
    again = await send_paced(gateway(Stalls(0.05, 0.1, 0.1)), 300)
    assert [request_leg(r) for r in again] == pytest.approx(
        [request_leg(r) for r in stalled], abs=2e-9
    )


@pytest.mark.parametrize(
    ("fraction", "low", "high", "burst", "message"),
    [
        (-0.1, 0.1, 0.2, 1, "fraction"),
        (1.5, 0.1, 0.2, 1, "fraction"),
        (0.1, 0.3, 0.2, 1, "low <= high"),
        (0.1, -0.1, 0.2, 1, "0 <= low"),
        (0.1, 0.1, 0.2, 0, "burst"),
    ],
)
def test_stalls_refuse_what_cannot_be(
    fraction: float, low: float, high: float, burst: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Stalls(fraction, low, high, burst=burst)

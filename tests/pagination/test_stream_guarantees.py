"""Streams never lose a record silently, stop where they are told, and stop at the quota exactly.

Each test here reproduces a way a harvest went wrong: a quota stop that crashed, a short page
that lost records, requests that went on after the loop was left, an absurd total, a stream
that stopped short of the reserve. Where the gateway's behaviour matters, the gateway is a
plain `httpx.MockTransport` written here, not the project's simulator.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import anyio
import httpx
import pytest

from esploro_async import (
    DailyQuotaExhaustedError,
    EsploroClient,
    IncompletePageError,
    InsufficientQuotaError,
)
from esploro_async.governance import (
    Governance,
    GovernanceSettings,
    LocalQuotaLedger,
    ServerClock,
)
from esploro_async.governance.core import LocalRateGate
from esploro_async.pagination import Checkpoint
from esploro_async.resources._base import StreamOptions
from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    Latency,
    SimulatedGateway,
    SyntheticInstitution,
)

pytestmark = pytest.mark.looptime

BASE_URL = "http://esploro.localhost"


def gateway(researchers: int = 1000, **kwargs: object) -> SimulatedGateway:
    return SimulatedGateway(
        SyntheticInstitution(seed=5, researchers=researchers),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def clients() -> AsyncIterator[list[EsploroClient]]:
    made: list[EsploroClient] = []
    yield made
    for client in made:
        await client.aclose()


def client_for(
    made: list[EsploroClient], transport: httpx.AsyncBaseTransport, **kwargs: object
) -> EsploroClient:
    client = EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=transport, **kwargs)  # type: ignore[arg-type]
    made.append(client)
    return client


# -- the daily quota -------------------------------------------------------------------------


@pytest.mark.parametrize("ordered", [True, False])
@pytest.mark.parametrize("prefetch", [1, 3, None])
async def test_a_quota_stop_with_pages_in_flight_is_typed_and_resumes_exactly(
    clients: list[EsploroClient], ordered: bool, prefetch: int | None
) -> None:
    start = datetime.now(timezone.utc).replace(hour=23, minute=0, second=0, microsecond=0)
    gw = gateway(2000, quota_remaining=9, start=start, latency=Latency.uniform(0.1, 0.6))
    client = client_for(clients, gw.transport())
    await client.request("GET", "researchers", params={"limit": 1})  # the quota is known: 8
    options: StreamOptions = {"on_insufficient_quota": "run", "ordered": ordered}
    if prefetch is not None:
        options["prefetch"] = prefetch
    stream = client.researchers.list(**options)
    first_day: list[str] = []
    with pytest.raises(DailyQuotaExhaustedError):
        async for researcher in stream:
            first_day.append(researcher.primary_id or "")
    assert len(first_day) == 100 + 7 * 99  # 8 requests: every record they brought, once
    saved = stream.checkpoint.to_json()

    await anyio.sleep(3600)  # the gateway's quota resets at its midnight
    resumed = client.researchers.list(resume_from=Checkpoint.from_json(saved), ordered=ordered)
    second_day = [r.primary_id or "" async for r in resumed]
    assert sorted(first_day + second_day) == sorted(gw.institution.researchers.ids())
    assert len(first_day) + len(second_day) == 2000
    assert resumed.checkpoint.delivered == 2000


async def test_a_stream_spends_the_quota_down_to_the_reserve_not_short_of_it(
    clients: list[EsploroClient],
) -> None:
    # The remaining header already counts the requests in flight: a stream that subtracts
    # them again stops rate x latency requests early.
    noon = datetime.now(timezone.utc).replace(hour=12)  # no reset during the harvest
    gw = gateway(30_000, quota_remaining=150, latency=Latency.fixed(0.8), start=noon)
    client = client_for(clients, gw.transport(), daily_reserve=50)
    got = 0
    with pytest.raises(DailyQuotaExhaustedError):
        async for _ in client.researchers.list(on_insufficient_quota="run"):
            got += 1
    assert gw.quota_remaining in (50, 51)  # the reserve, ± 1
    assert got == 100 + (150 - gw.quota_remaining - 1) * 99
    assert gw.counts_by_error_code().get("DAILY_THRESHOLD", 0) == 0


@pytest.mark.parametrize("rollover", [False, True])
async def test_an_unknown_quota_is_probed_by_one_request(
    clients: list[EsploroClient], rollover: bool
) -> None:
    now = datetime.now(timezone.utc)
    start = now.replace(hour=23, minute=59, second=50) if rollover else now
    gw = gateway(100, start=start, daily_quota=40, quota_remaining=1000 if rollover else 40)
    client = client_for(clients, gw.transport())
    if rollover:
        await client.request("GET", "researchers", params={"limit": 1})
        await anyio.sleep(20)  # past the gateway's midnight: the quota is unknown again
        sent_before = len(gw.log)
    else:
        sent_before = 0
    refused = 0

    async def call() -> None:
        nonlocal refused
        try:
            await client.request("GET", "researchers", params={"limit": 1})
        except DailyQuotaExhaustedError:
            refused += 1

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(call)
    arrivals = gw.log[sent_before:]
    assert sum(1 for r in arrivals if r.status == 200) == 40
    assert sum(1 for r in arrivals if r.status == 429) <= 1
    assert refused == 60


# -- short pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["short_page", "no_list"])
async def test_a_short_page_is_read_again_and_nothing_is_lost(
    clients: list[EsploroClient], kind: str
) -> None:
    gw = gateway(10_000, faults=[Fault(kind, endpoint="researchers", requests={7, 40})])
    client = client_for(clients, gw.transport())
    got = [r.primary_id async for r in client.researchers.list()]
    assert got == gw.institution.researchers.ids()


@pytest.mark.parametrize("ordered", [True, False])
async def test_a_page_that_stays_short_is_an_error_with_an_exact_checkpoint(
    clients: list[EsploroClient], ordered: bool
) -> None:
    # From the fourth request on, every page comes back short.
    short = Fault("short_page", endpoint="researchers", requests=range(4, 10_000))
    gw = gateway(1000, latency=Latency.uniform(0.05, 0.3), faults=[short])
    client = client_for(clients, gw.transport())
    stream = client.researchers.list(ordered=ordered, prefetch=4)
    got: list[str] = []
    with pytest.raises(IncompletePageError) as raised:
        async for researcher in stream:
            got.append(researcher.primary_id or "")
    assert raised.value.received < raised.value.expected
    healthy = gateway(1000)
    resumed = EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=healthy.transport())
    clients.append(resumed)
    rest = [
        r.primary_id or "" async for r in resumed.researchers.list(resume_from=stream.checkpoint)
    ]
    assert sorted(got + rest) == sorted(gw.institution.researchers.ids())
    assert len(got) + len(rest) == 1000


# -- stopping ----------------------------------------------------------------------------------


async def test_leaving_async_with_stops_every_request_even_with_the_iterator_held(
    clients: list[EsploroClient],
) -> None:
    gw = gateway(5000, latency=Latency.fixed(0.5))
    client = client_for(clients, gw.transport())
    async with client.researchers.list() as stream:
        iterator = aiter(stream)
        async for _ in iterator:
            break
    sent = len(gw.log)
    await anyio.sleep(10)
    assert len(gw.log) == sent, "nothing is requested after the block was left"
    assert client.governance.snapshot().in_flight == 0
    assert iterator is not None


async def test_aclose_stops_a_stream_whose_iterator_is_still_referenced(
    clients: list[EsploroClient],
) -> None:
    gw = gateway(5000, latency=Latency.fixed(0.5))
    client = client_for(clients, gw.transport())
    stream = client.researchers.list()
    iterator = aiter(stream)
    async for _ in iterator:
        break
    await stream.aclose()
    sent = len(gw.log)
    await anyio.sleep(10)
    assert len(gw.log) == sent
    assert client.governance.snapshot().in_flight == 0


# -- absurd totals -------------------------------------------------------------------------------


def absurd_total_gateway(remaining: int | None) -> tuple[httpx.MockTransport, list[int]]:
    """Pages of 100 made-up researchers, each claiming a total of 10¹²."""
    offsets: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        offsets.append(offset)
        users = [{"primary_id": f"R{offset + i}"} for i in range(100)]
        headers = {"Date": "Sun, 29 Nov 2026 12:00:00 GMT"}
        if remaining is not None:
            headers["X-Exl-Api-Remaining"] = str(remaining - len(offsets))
        body = json.dumps({"user": users, "total_record_count": 10**12})
        return httpx.Response(200, headers=headers, content=body.encode())

    return httpx.MockTransport(handle), offsets


async def test_an_absurd_total_is_refused_up_front_when_the_quota_cannot_cover_it(
    clients: list[EsploroClient],
) -> None:
    transport, offsets = absurd_total_gateway(remaining=100_000)
    client = client_for(clients, transport)
    with pytest.raises(InsufficientQuotaError) as refused:
        async for _ in client.researchers.list():
            pass
    assert refused.value.needed == -(-(10**12 - 100) // 99)
    assert offsets == [0]


async def test_an_absurd_total_is_read_lazily(clients: list[EsploroClient]) -> None:
    transport, offsets = absurd_total_gateway(remaining=None)  # no quota header at all
    client = client_for(clients, transport)
    got = 0
    with anyio.fail_after(60):
        async with client.researchers.list(prefetch=4) as stream:
            async for _ in stream:
                got += 1
                if got == 1000:
                    break
    assert got == 1000
    assert len(offsets) <= 10 + 4
    assert stream.checkpoint.offset == 1000


async def test_a_host_ahead_of_the_gateway_across_midnight_keeps_the_reserve(
    clients: list[EsploroClient],
) -> None:
    # The gateway is five minutes before its midnight; the host is ten minutes ahead of it.
    gateway_now = datetime.now(timezone.utc).replace(hour=23, minute=55, second=0)
    gw = gateway(3000, start=gateway_now, quota_remaining=60)
    host_ahead = ServerClock(wall=lambda: gateway_now + timedelta(minutes=10))
    governance = Governance(
        rate=LocalRateGate(),
        quota=LocalQuotaLedger(50, clock=host_ahead),
        settings=GovernanceSettings(max_in_flight=50, daily_reserve=50),
    )
    client = client_for(clients, gw.transport(), governance=governance)
    with pytest.raises(DailyQuotaExhaustedError):
        async for _ in client.researchers.list(on_insufficient_quota="run"):
            pass
    assert gw.quota_remaining in (50, 51)

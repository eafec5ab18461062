"""The pages a stream starts while its first page is in flight, and what a small listing costs.

In virtual time against the simulated gateway; the judge is its log (what reached it) and the
moment each response reached the client (a transport that notes it). Seeded random listings:
their size, page size and latency are drawn, so every case is a different race between the
first page and the pages started beside it.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
import trio
import trio.testing

from esploro_async import EsploroClient
from esploro_async._clock import current_time
from esploro_async.models import Researcher
from esploro_async.pagination import OffsetStream
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

pytestmark = pytest.mark.looptime

SPECULATE = 8  # the default: pages started before any total is known


class Answered(httpx.AsyncBaseTransport):
    """The simulator's transport, noting when each response reached the client.

    ``first_page_back``: the first page's response takes this long more on its way back.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, first_page_back: float = 0.0) -> None:
        self.inner = inner
        self.first_page_back = first_page_back
        self.times: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.params.get("offset") == "0":
            await anyio.sleep(self.first_page_back)
        self.times.append(current_time())
        return response


def gateway(seed: int, researchers: int, latency: Latency) -> SimulatedGateway:
    return SimulatedGateway(
        SyntheticInstitution(seed=seed, researchers=researchers),
        latency=latency,
        up_fraction=0.0,
        seed=seed,
    )


def client_for(transport: httpx.AsyncBaseTransport, **kwargs: Any) -> EsploroClient:
    return EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=transport, **kwargs
    )


def offsets(gw: SimulatedGateway) -> list[int]:
    return [int(parse_qs(r.query)["offset"][0]) for r in gw.client_log()]


def pages_needed(total: int, page_size: int) -> int:
    """Pages of a harvest of ``total`` (they overlap by one record)."""
    stride = page_size - 1 if page_size > 1 else 1
    return 1 + max(0, math.ceil((total - page_size) / stride))


async def harvest(client: EsploroClient, page_size: int, scoped: bool = False) -> list[str | None]:
    stream = client.researchers.list(page_size=page_size)
    if not scoped:
        return [r.primary_id async for r in stream]
    async with stream:  # the pages are tasks of the stream's own task group
        return [r.primary_id async for r in stream]


async def small_listing(seed: int, scoped: bool) -> None:
    """List a small institution twice on one client; judge what each listing cost."""
    rng = random.Random(f"small-listing:{seed}")
    page_size = rng.choice((10, 50, 100))
    researchers = rng.randrange(1, 4 * page_size)
    low = rng.uniform(0.05, 0.6)
    gw = gateway(seed, researchers, Latency.uniform(low, low + rng.uniform(0.0, 1.0)))
    async with client_for(gw.transport()) as client:
        first = await harvest(client, page_size, scoped)
        spent_first = len(gw.client_log())
        gw.reset_log()
        second = await harvest(client, page_size, scoped)
        assert client.governance.snapshot().in_flight == 0  # nothing left behind
    assert len(first) == len(set(first)) == researchers
    assert sorted(map(str, second)) == sorted(map(str, first))
    needed = pages_needed(researchers, page_size)
    # Every page the listing needs once, and at most `speculate` pages past its end.
    assert needed <= spent_first <= needed + SPECULATE
    # Listed again, the total the client remembers bounds the speculation: no page is wasted.
    assert len(gw.client_log()) == needed
    assert len(set(offsets(gw))) == needed


@pytest.mark.parametrize("seed", range(12))
async def test_a_small_listing_costs_at_most_the_speculated_pages_and_once_known_nothing_more(
    seed: int,
) -> None:
    await small_listing(seed, scoped=seed % 2 == 1)


@pytest.mark.parametrize("seed", range(12, 18))
def test_on_trio_a_small_listing_costs_at_most_the_speculated_pages(seed: int) -> None:
    """In a stream's own task group on trio, the pages past the end are cancelled alike."""
    trio.run(small_listing, seed, True, clock=trio.testing.MockClock(autojump_threshold=0))


@pytest.mark.parametrize("seed", range(12))
async def test_no_page_past_the_total_is_sent_after_a_response_told_it(seed: int) -> None:
    """Pages past the end still waiting for a permit are cancelled the moment any response
    (not only the first page's) reports the total."""
    rng = random.Random(f"past-the-total:{seed}")
    page_size = rng.choice((10, 100))
    researchers = rng.randrange(1, 3 * page_size)
    low = rng.uniform(0.0, 0.3)
    gw = gateway(seed, researchers, Latency.uniform(low, low + rng.uniform(0.05, 1.2)))
    answered = Answered(gw.transport())
    async with client_for(answered) as client:
        await harvest(client, page_size)
    told = min(answered.times)
    stride = page_size - 1 if page_size > 1 else 1
    past = [
        r
        for r, offset in zip(gw.client_log(), offsets(gw), strict=True)
        if offset > 0 and offset + page_size - stride >= researchers
    ]
    assert all(r.arrival <= told for r in past), [(r.arrival, told) for r in past]


async def test_once_a_response_told_the_total_the_pages_before_it_keep_the_rate() -> None:
    """The first page is slow: the pages after it keep the limiter busy meanwhile, instead of
    stopping after `speculate` pages until it is back."""
    gw = gateway(1, 20_000, Latency.uniform(0.2, 0.3))
    answered = Answered(gw.transport(), first_page_back=1.5)
    async with client_for(answered) as client:
        async for _ in client.researchers.list():
            break
    first_back = next(t for t in answered.times if t >= 1.5)
    during = sorted(r.arrival for r in gw.client_log() if r.arrival < first_back)
    # At 22.7 requests per second, about 34 in the 1.7 s the first page took.
    assert len(during) >= 0.9 * 22.7 * first_back
    assert max(b - a for a, b in itertools.pairwise(during)) < 0.05  # never idle
    assert all(r.accepted for r in gw.client_log())
    assert gw.max_in_window() <= 25


async def test_speculate_bounds_the_pages_before_any_total_is_known() -> None:
    gw = gateway(2, 50, Latency.fixed(0.5))
    async with client_for(gw.transport()) as client:
        stream = OffsetStream(client, "researchers", list_key="user", wrap=Researcher, speculate=3)
        ids = [r.primary_id async for r in stream]
    assert len(ids) == 50
    assert len(gw.client_log()) == 1 + 3


async def test_leaving_while_the_first_page_is_in_flight_sends_nothing_more() -> None:
    gw = gateway(3, 20_000, Latency.uniform(0.3, 0.8))
    async with client_for(gw.transport()) as client:
        with anyio.move_on_after(0.25):
            async for _ in client.researchers.list():
                pass
        left = current_time()
        await anyio.sleep(2.0)
    assert gw.client_log()
    assert all(r.arrival <= left + 0.05 for r in gw.client_log())


@pytest.mark.parametrize("prefetch", [1, 4, 12])
async def test_prefetch_bounds_the_pages_started_while_the_first_is_in_flight(
    prefetch: int,
) -> None:
    """Nothing is handed out before the first page: every page started meanwhile waits in the
    buffer, which ``prefetch`` bounds, however long the first page takes."""
    gw = gateway(4, 20_000, Latency.uniform(0.1, 0.2))
    answered = Answered(gw.transport(), first_page_back=3.0)
    async with client_for(answered) as client:
        stream = client.researchers.list(prefetch=prefetch)
        async for _ in stream:
            break
    before_first = [r for r in gw.client_log() if r.arrival < 3.0]
    assert len(before_first) == prefetch

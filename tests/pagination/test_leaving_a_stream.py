"""Leaving a stream stops its requests: nothing reaches the gateway later than 50 ms after.

Every way out of ``async for record in stream`` is drawn from a seed: ``break``, a cancel
while the loop body awaits, an exception raised in the body, and ``aclose()`` (the iterator
still referenced), with and without ``async with stream:``, at a random record, page size,
latency and split of the latency around the gateway's arrival. The judge is the
simulator's arrival log: every arrival later than 50 ms after the moment the caller left
is a request spent on records nobody reads.

The local store runs in virtual time on asyncio (looptime) and trio (`MockClock`); the
Redis store runs on a real ``redis-server``, in real time, on asyncio.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, Literal

import anyio
import attrs
import looptime
import pytest
import trio
import trio.testing

from esploro_async import EsploroClient
from esploro_async.governance.redis import RedisGovernance
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.redis_server import RedisServer

BASE_URL = "http://esploro.localhost"
#: Arrivals this long after the caller left are at most the ones already on their way.
GRACE = 0.05

Way = Literal["break", "cancel", "exception", "aclose"]
WAYS: tuple[Way, ...] = ("break", "cancel", "exception", "aclose")


class LeftTheLoop(Exception):
    """Raised in a loop body to leave the stream."""


@attrs.frozen
class Draw:
    """One randomized way of leaving a stream."""

    seed: int
    way: Way
    scoped: bool  # inside ``async with stream:``
    researchers: int
    page_size: int
    read: int  # records taken before leaving
    low: float
    high: float
    up_fraction: float
    body_wait: float  # seconds the body awaits before the cancel (cancel) or aclose()
    ordered: bool
    bulk: bool  # ``client.bulk`` of single-record requests instead of a list stream

    @classmethod
    def of(cls, seed: int, way: Way) -> Draw:
        rng = random.Random(seed)
        researchers = rng.randrange(1500, 6000)
        page_size = rng.choice((10, 25, 50, 100))
        low = rng.uniform(0.02, 0.4)
        return cls(
            seed=seed,
            way=way,
            scoped=rng.random() < 0.4,
            researchers=researchers,
            page_size=page_size,
            read=rng.randrange(0, min(researchers, 30 * page_size) // 4),
            low=low,
            high=low + rng.uniform(0.0, 0.6),
            up_fraction=rng.choice((0.0, 0.0, 0.5, rng.random())),
            body_wait=rng.uniform(0.0, 0.6),
            ordered=rng.random() < 0.75,
            bulk=rng.random() < 0.25,
        )

    def gateway(self, **kwargs: Any) -> SimulatedGateway:
        kwargs.setdefault("latency", Latency.uniform(self.low, self.high))
        kwargs.setdefault("up_fraction", self.up_fraction)
        institution = SyntheticInstitution(seed=self.seed, researchers=self.researchers)
        return SimulatedGateway(institution, **kwargs)


async def leave(client: EsploroClient, draw: Draw) -> float:
    """Read ``draw.read`` records, then leave the stream as drawn; when the caller left."""
    stream: Any
    if draw.bulk:

        async def one(offset: int) -> object:
            params = {"limit": 1, "offset": offset}
            return await client.request("GET", "researchers", params=params)

        stream = client.bulk(range(draw.researchers), one, concurrency=draw.page_size // 4 + 2)
    else:
        stream = client.researchers.list(page_size=draw.page_size, ordered=draw.ordered)
    if draw.scoped:
        async with stream:
            left = await _leave(stream, draw)
            # The block goes on after the loop: the stream must already be quiet.
            await anyio.sleep(1)
        return left
    return await _leave(stream, draw)


async def _leave_by_break(stream: Any, draw: Draw) -> float:
    taken = 0
    async for _ in stream:
        if taken == draw.read:
            left = anyio.current_time()
            break
        taken += 1
    return left


async def _leave_by_exception(stream: Any, draw: Draw) -> float:
    taken = 0
    try:
        async for _ in stream:
            if taken == draw.read:
                left = anyio.current_time()
                raise LeftTheLoop
            taken += 1
    except LeftTheLoop:
        return left
    raise AssertionError("the stream ended before the exception")


async def _leave_by_cancel(stream: Any, draw: Draw) -> float:
    taken = 0
    with anyio.CancelScope() as scope:
        async for _ in stream:
            if taken == draw.read:
                scope.deadline = anyio.current_time() + draw.body_wait
                await anyio.sleep_forever()
            taken += 1
    assert scope.cancelled_caught
    return scope.deadline


async def _leave_by_aclose(stream: Any, draw: Draw) -> float:
    taken = 0
    iterator = aiter(stream)
    async for _ in iterator:
        if taken == draw.read:
            break
        taken += 1
    await anyio.sleep(draw.body_wait)  # the iterator is held: requests may go on until aclose
    left = anyio.current_time()
    await stream.aclose()
    assert iterator is not None
    return left


_LEAVE_BY: dict[Way, Callable[[Any, Draw], Awaitable[float]]] = {
    "break": _leave_by_break,
    "exception": _leave_by_exception,
    "cancel": _leave_by_cancel,
    "aclose": _leave_by_aclose,
}


async def _leave(stream: Any, draw: Draw) -> float:
    """Read ``draw.read`` records of ``stream``, then leave it ``draw.way``; when we left."""
    return await _LEAVE_BY[draw.way](stream, draw)


def late_arrivals(gw: SimulatedGateway, left: float) -> list[float]:
    """Arrival times of our requests later than `GRACE` after ``left``."""
    return [r.arrival for r in gw.client_log() if r.arrived and r.arrival > left + GRACE]


async def check_one(draw: Draw, *, settle: float = 5.0, **client_options: Any) -> None:
    """Leave a stream as ``draw`` says; then, ``settle`` seconds on, judge the arrival log."""
    gw = draw.gateway(**client_options.pop("gateway", {}))
    async with EsploroClient(
        SIM_API_KEY, base_url=BASE_URL, transport=gw.transport(), **client_options
    ) as client:
        left = await leave(client, draw)
        await anyio.sleep(settle)
        late = late_arrivals(gw, left)
        assert not late, (
            f"{draw}: {len(late)} requests reached the gateway after the caller left at "
            f"{left:.3f}: {[round(t - left, 3) for t in late]} s after"
        )
        assert client.governance.snapshot().in_flight == 0, f"{draw}: a request leaked"


def run(backend: str, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run ``scenario`` in virtual time under ``backend``."""
    if backend == "trio":
        trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
    else:
        options = {"loop_factory": lambda: looptime.new_event_loop(start=0)}
        anyio.run(scenario, backend="asyncio", backend_options=options)


SEEDS = range(16)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_no_request_reaches_the_gateway_after_the_caller_left(
    backend: str, way: Way, seed: int
) -> None:
    draw = Draw.of(seed, way)
    run(backend, lambda: check_one(draw))


# -- the Redis store -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("way", WAYS)
async def test_on_redis_no_request_reaches_the_gateway_after_the_caller_left(
    redis_server: RedisServer, way: Way, seed: int
) -> None:
    draw = Draw.of(100 + seed, way)
    draw = attrs.evolve(draw, read=min(draw.read, 8 * draw.page_size), body_wait=0.2)
    # Real time here (Redis schedules on its own clock): one second covers the ~0.35 s over
    # which the requests queued at the limiter would otherwise still be sent.
    governance = RedisGovernance(redis_server.url, institution=f"LEAVE_{way}_{seed}")
    try:
        await check_one(
            draw,
            settle=1.0,
            governance=governance,
            gateway={"start": datetime.now(timezone.utc)},
        )
    finally:
        await governance.aclose()

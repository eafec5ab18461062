"""Attempt deadlines and body limits hold on both backends (asyncio and trio), in virtual time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import looptime
import pytest
import trio
import trio.testing

from esploro_async import EsploroClient
from esploro_async.errors import RequestTimeoutError, ResponseFormatError
from esploro_async.retry import RetryPolicy
from esploro_async.testing import SIM_API_KEY, Fault, FaultKind, SimulatedGateway

BASE_URL = "http://esploro.localhost"


def run(backend: str, scenario: Callable[[], Awaitable[None]]) -> None:
    if backend == "trio":
        trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
    else:
        options = {"loop_factory": lambda: looptime.new_event_loop(start=0)}
        anyio.run(scenario, backend="asyncio", backend_options=options)


async def trickle_ends_at_the_deadline() -> None:
    gw = SimulatedGateway(faults=[Fault(FaultKind.TRICKLE, trickle_interval=0.5)])
    async with EsploroClient(
        SIM_API_KEY,
        base_url=BASE_URL,
        transport=gw.transport(),
        timeout=5.0,
        retry=RetryPolicy.none(),
    ) as client:
        started = anyio.current_time()
        with pytest.raises(RequestTimeoutError):
            await client.request("GET", "researchers")
        assert anyio.current_time() - started == pytest.approx(5.0, abs=0.01)


async def gzip_bomb_is_refused() -> None:
    gw = SimulatedGateway(faults=[Fault(FaultKind.GZIP_BOMB)])
    async with EsploroClient(
        SIM_API_KEY, base_url=BASE_URL, transport=gw.transport(), retry=RetryPolicy.none()
    ) as client:
        with pytest.raises(ResponseFormatError, match="max_response_bytes"):
            await client.request("GET", "researchers")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("scenario", [trickle_ends_at_the_deadline, gzip_bomb_is_refused])
def test_hostile_servers_on_both_backends(
    backend: str, scenario: Callable[[], Awaitable[None]]
) -> None:
    run(backend, scenario)

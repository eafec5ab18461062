"""Shared fixtures: a strict gateway stand-in and clients wired to it in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from esploro_async import EsploroClient
from strict_gateway import StrictGateway

API_KEY = "l7xx-SECRET-test-key-0123456789"
BASE_URL = "http://esploro.localhost"

ClientFactory = Callable[..., EsploroClient]


@pytest.fixture
def gateway() -> StrictGateway:
    """A strict gateway with no latency, no quota and no foreign load."""
    return StrictGateway()


@pytest.fixture
async def make_client(gateway: StrictGateway) -> AsyncIterator[ClientFactory]:
    """Build clients against ``gateway``; every client made is closed after the test."""
    clients: list[EsploroClient] = []

    def factory(**kwargs: Any) -> EsploroClient:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", BASE_URL)
        if "http_client" not in kwargs:
            kwargs.setdefault("transport", gateway.transport())
        client = EsploroClient(**kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


# -- shifted wall clocks ---------------------------------------------------------------------

#: ``--wall-clock`` scenarios: (seconds from the gateway's next midnight GMT to its clock,
#: seconds the host's clock is ahead of the gateway's).
WALL_CLOCKS = {
    "before-midnight": (-5.0, 0.0),
    "host-ahead": (-60.0, 600.0),
    "host-behind": (-30.0, -3 * 3600.0),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--wall-clock",
        choices=sorted(WALL_CLOCKS),
        default=None,
        help="run with the host's wall clock moved (time-machine) and the simulated gateway's "
        "clock apart from it: seconds before midnight GMT, the host ahead or behind",
    )


@pytest.fixture(autouse=True)
def shifted_wall_clock(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Move the host's clock (and the simulator's default start) as ``--wall-clock`` says."""
    scenario = request.config.getoption("--wall-clock")
    if scenario is None:
        yield
        return
    import time_machine

    from esploro_async.testing import gateway as simulated

    to_midnight, host_ahead = WALL_CLOCKS[scenario]
    now = datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    gateway_now = midnight + timedelta(seconds=to_midnight)
    lag = timedelta(seconds=host_ahead)
    monkeypatch.setattr(simulated, "_wall_now", lambda: datetime.now(timezone.utc) - lag)
    with time_machine.travel(gateway_now + lag, tick=True):
        yield

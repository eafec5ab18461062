"""Shared fixtures: the simulated gateway and clients wired to it in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from esploro_async import EsploroClient
from esploro_async.testing import SimulatedGateway

API_KEY = "l7xx-SECRET-test-key-0123456789"
OTHER_KEYS = (
    "a-different-institution",
    "another-key-for-a-fresh-client",
    "second-key-fresh-governance",
)
"""Keys of other institutions (each gets its own governance); the gateways accept them."""
BASE_URL = "http://esploro.localhost"

ClientFactory = Callable[..., EsploroClient]


def make_gateway(**options: Any) -> SimulatedGateway:
    """A simulated gateway that accepts the tests' keys; ``options`` as for `SimulatedGateway`.

    By default: no latency, no foreign load, a quota far beyond any test.
    """
    options.setdefault("api_keys", dict.fromkeys((API_KEY, *OTHER_KEYS), "rw"))
    return SimulatedGateway(**options)


@pytest.fixture
def gateway() -> SimulatedGateway:
    """A simulated gateway with no latency and no foreign load (see `make_gateway`)."""
    return make_gateway()


@pytest.fixture
async def make_client(gateway: SimulatedGateway) -> AsyncIterator[ClientFactory]:
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


@pytest.fixture(autouse=True)
def _no_gateway_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clients read ``ESPLORO_REGION``/``ESPLORO_BASE_URL``: the shell's must not leak in."""
    monkeypatch.delenv("ESPLORO_REGION", raising=False)
    monkeypatch.delenv("ESPLORO_BASE_URL", raising=False)


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

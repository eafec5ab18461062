"""Fixtures of the resource tests: a simulated gateway, clients on it, a request recorder.

Test modules load them with ``pytest_plugins = ["resource_fixtures"]``: a second
``conftest.py`` would shadow ``tests/conftest.py``, which other tests import as ``conftest``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from resource_sim import BASE_URL, Recorder

from esploro_async import EsploroClient
from esploro_async.testing import (
    SIM_API_KEY,
    SIM_READ_ONLY_KEY,
    SimulatedGateway,
    SyntheticInstitution,
)


@pytest.fixture
def gw() -> SimulatedGateway:
    return SimulatedGateway(SyntheticInstitution(seed=5, researchers=60, assets=300))


@pytest.fixture
def recorder(gw: SimulatedGateway) -> Recorder:
    return Recorder(gw.transport())


ClientFactory = Callable[..., EsploroClient]


@pytest.fixture
async def sim_client_factory(gw: SimulatedGateway) -> AsyncIterator[ClientFactory]:
    made: list[EsploroClient] = []

    def factory(
        key: str = SIM_API_KEY, transport: httpx.AsyncBaseTransport | None = None
    ) -> EsploroClient:
        client = EsploroClient(key, base_url=BASE_URL, transport=transport or gw.transport())
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()


@pytest.fixture
def client(sim_client_factory: ClientFactory, recorder: Recorder) -> EsploroClient:
    return sim_client_factory(transport=recorder)


@pytest.fixture
def ro_client(sim_client_factory: ClientFactory) -> EsploroClient:
    return sim_client_factory(SIM_READ_ONLY_KEY)

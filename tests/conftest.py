"""Shared fixtures: the simulated gateway and clients wired to it in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
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

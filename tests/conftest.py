"""Shared fixtures: a strict gateway stand-in and clients wired to it in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
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

"""Helpers for the resource tests: a request recorder, request-log queries, store reads.

The fixtures are in ``resource_fixtures`` (loaded with ``pytest_plugins``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx

from esploro_async.testing import (
    RequestRecord,
    SimulatedGateway,
)

BASE_URL = "http://esploro.localhost"


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the simulator and keeps them (with their bodies) for inspection."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> Any:
        return json.loads(self.last().content)


def query(record: RequestRecord) -> dict[str, str]:
    """The logged query string as a dict (last value wins)."""
    return {k: v[-1] for k, v in parse_qs(record.query, keep_blank_values=True).items()}


def calls(gw: SimulatedGateway, method: str | None = None) -> list[RequestRecord]:
    """The client's logged requests, optionally of one method."""
    return [r for r in gw.client_log() if method is None or r.method == method]


def stored_asset(gw: SimulatedGateway, asset_id: str) -> dict[str, Any]:
    """The simulator's stored asset (a copy); fails if absent."""
    record = gw.institution.assets.get(asset_id)
    assert record is not None, asset_id
    return record


def stored_researcher(gw: SimulatedGateway, primary_id: str) -> dict[str, Any]:
    """The simulator's stored researcher (a copy); fails if absent."""
    record = gw.institution.researchers.get(primary_id)
    assert record is not None, primary_id
    return record

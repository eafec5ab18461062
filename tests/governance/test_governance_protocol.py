"""Any object with the members of `GovernanceProtocol` governs a client, and nothing more is
read from it: the session, the streams and ``bulk`` use only what the protocol declares."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import pytest

from conftest import ClientFactory
from esploro_async import ConfigurationError, Governance, GovernanceSnapshot
from esploro_async.governance import Attempt, Lane, OnQuotaExhausted
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime


class OnlyTheProtocol:
    """Exactly the protocol's members, delegating to a `Governance` (which it is not)."""

    def __init__(self, inner: Governance) -> None:
        self._inner = inner
        self.attempts = 0

    @property
    def max_in_flight(self) -> int:
        return self._inner.max_in_flight

    @property
    def on_quota_exhausted(self) -> OnQuotaExhausted:
        return self._inner.on_quota_exhausted

    def attempt(
        self, *, retry: bool = False, lane: Lane = "batch"
    ) -> AbstractAsyncContextManager[Attempt]:
        self.attempts += 1
        return self._inner.attempt(retry=retry, lane=lane)

    def snapshot(self) -> GovernanceSnapshot:
        return self._inner.snapshot()

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_an_object_with_only_the_protocol_governs_requests_streams_and_bulk(
    gateway: SimulatedGateway, make_client: ClientFactory
) -> None:
    governance = OnlyTheProtocol(Governance.local(max_in_flight=4))
    client = make_client(governance=governance)
    await client.request("GET", "researchers/test")
    ids = [r.primary_id async for r in client.researchers.list(page_size=50)]
    assert len(ids) == len(gateway.institution.researchers.ids())

    async def read(primary_id: str | None) -> str | None:
        return (await client.researchers.get(str(primary_id))).primary_id

    results = [r async for r in client.bulk(ids[:5], read, concurrency=3)]
    assert sorted(str(r.value) for r in results) == sorted(str(i) for i in ids[:5])
    # Every request went through it (pages requested before the total was known and past
    # it may be cancelled before they are sent: attempts, not requests).
    assert governance.attempts >= len(gateway.client_log())
    assert gateway.max_in_window() <= 25


class MissingMaxInFlight:
    """A governance written before `max_in_flight` was part of the protocol."""

    on_quota_exhausted = "raise"

    def attempt(self, *, retry: bool = False, lane: Lane = "batch") -> object:
        raise AssertionError("never called")

    def snapshot(self) -> object:
        raise AssertionError("never called")

    async def aclose(self) -> None:
        return None


def test_an_incomplete_governance_is_refused_at_once() -> None:
    from esploro_async import EsploroClient

    with pytest.raises(ConfigurationError, match=r"GovernanceProtocol.*MissingMaxInFlight"):
        EsploroClient(
            "key",
            base_url="http://esploro.localhost",
            governance=MissingMaxInFlight(),  # type: ignore[arg-type]
        )

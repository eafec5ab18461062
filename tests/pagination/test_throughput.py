"""How fast a stream harvests: the in-flight requests the latency needs, the first round trip.

In virtual time against the simulated gateway; rates come from its arrival log.
"""

from __future__ import annotations

from typing import Any

import pytest

from esploro_async import ConfigurationError, EsploroClient
from esploro_async.models import Researcher
from esploro_async.pagination import OffsetStream
from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    Latency,
    SimulatedGateway,
    SyntheticInstitution,
)

pytestmark = pytest.mark.looptime

EFFECTIVE = 25 / 1.1


def gateway(researchers: int, **kwargs: Any) -> SimulatedGateway:
    return SimulatedGateway(
        SyntheticInstitution(seed=5, researchers=researchers), up_fraction=0.02, **kwargs
    )


def client_for(gw: SimulatedGateway, **kwargs: Any) -> EsploroClient:
    return EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport(), **kwargs
    )


def assert_each_page_once(gw: SimulatedGateway) -> None:
    offsets = [r.query for r in gw.client_log()]
    assert len(offsets) == len(set(offsets))


def steady_rate(gw: SimulatedGateway) -> float:
    """Accepted arrivals per second after the first page and the 8 sent with it."""
    times = sorted(r.arrival for r in gw.client_log() if r.accepted)[9:]
    return (len(times) - 1) / (times[-1] - times[0])


async def test_slow_responses_keep_the_rate() -> None:
    """At 1-3 s per response about 45 requests must be in flight to keep 22.7 req/s."""
    gw = gateway(6000, latency=Latency.uniform(1.0, 3.0))
    async with client_for(gw) as client:
        ids = [r.primary_id async for r in client.researchers.list()]
    assert len(set(ids)) == len(ids) == 6000
    assert steady_rate(gw) >= 0.95 * EFFECTIVE
    assert gw.max_in_window() <= 25


async def test_pages_after_the_first_go_with_it_once_the_quota_is_known() -> None:
    gw = gateway(3000, latency=Latency.fixed(0.5))
    async with client_for(gw) as client:
        await client.request("GET", "researchers", params={"limit": 1})  # the quota is known
        gw.reset_log()
        ids = [r.primary_id async for r in client.researchers.list()]
    assert len(set(ids)) == 3000
    first = gw.client_log()[0]
    assert "offset=0" in first.query
    during = [r for r in gw.client_log() if first.arrival < r.arrival < first.arrival + 0.5]
    assert len(during) == 8  # the first round trip is not idle
    assert_each_page_once(gw)


async def test_pages_past_a_small_total_cost_one_request_each_and_are_ignored() -> None:
    gw = gateway(250, latency=Latency.fixed(0.5))
    async with client_for(gw) as client:
        await client.request("GET", "researchers", params={"limit": 1})
        gw.reset_log()
        ids = [r.primary_id async for r in client.researchers.list()]
        assert len(set(ids)) == len(ids) == 250
        assert len(gw.client_log()) == 1 + 8  # 6 of the 8 speculative pages past the end
        gw.reset_log()
        stream = OffsetStream(client, "researchers", list_key="user", wrap=Researcher, speculate=0)
        quiet = [r.primary_id async for r in stream]
        assert len(gw.client_log()) == 3
    assert quiet == ids


async def test_no_page_goes_before_the_first_while_an_unknown_quota_guards_a_reserve() -> None:
    gw = gateway(3000, latency=Latency.fixed(0.5))
    async with client_for(gw, daily_reserve=10) as client:
        async for _ in client.researchers.list():
            pass
    first, second = gw.client_log()[:2]
    assert second.arrival >= first.arrival + 0.5
    assert_each_page_once(gw)


async def test_without_a_reserve_the_first_round_trip_is_not_spent_alone() -> None:
    gw = gateway(3000, latency=Latency.fixed(0.5))
    async with client_for(gw) as client:
        ids = [r.primary_id async for r in client.researchers.list()]
    assert len(set(ids)) == 3000
    first = gw.client_log()[0]
    assert "offset=0" in first.query
    during = [r for r in gw.client_log() if first.arrival < r.arrival < first.arrival + 0.5]
    assert len(during) == 8  # no probe: the pages after the first go with it
    assert_each_page_once(gw)


async def test_speculate_must_not_be_negative() -> None:
    gw = gateway(10)
    async with client_for(gw) as client:
        with pytest.raises(ConfigurationError, match="speculate"):
            OffsetStream(client, "researchers", list_key="user", wrap=Researcher, speculate=-1)


async def test_finished_pages_waiting_for_a_slow_one_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page after the first hangs until its timeout: the pages after it finish and wait,
    and once the buffer is full nothing more is requested until it comes back."""
    from esploro_async.pagination import fetched

    monkeypatch.setattr(fetched, "MIN_WAITING", 10)
    monkeypatch.setattr(fetched, "MAX_WAITING", 10)
    hang = Fault(kind="hang", endpoint="/esploro/v1/researchers", requests={2}, max_count=1)
    gw = gateway(6000, latency=Latency.fixed(0.1), faults=[hang])
    async with client_for(gw, timeout=5.0) as client:
        ids = [r.primary_id async for r in client.researchers.list()]
    assert len(set(ids)) == len(ids) == 6000
    log = gw.client_log()
    stuck = log[1]  # the request that hung
    retried = next(r for r in log[2:] if r.query == stuck.query)
    meanwhile = [r for r in log if stuck.arrival < r.arrival < retried.arrival]
    # 10 finished pages waiting, and what was in flight when the buffer filled (at most the
    # in-flight target: rate x latency + 2 = 5 here, the hung one included).
    assert 10 <= len(meanwhile) <= 10 + 5

"""Room for another integration, read from the gateway's arrival log in virtual time.

Seeded harvests share the simulated gateway with another integration's Poisson arrivals
(5 and 10 req/s); the library knows nothing of them but the fall of X-Exl-Api-Remaining.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import pytest

from esploro_async import EsploroClient
from esploro_async.governance import Governance, core
from esploro_async.governance.foreign import ForeignLoad
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

pytestmark = pytest.mark.looptime


@pytest.fixture(autouse=True)
def quiet(caplog: pytest.LogCaptureFixture) -> None:
    """The 429 warnings of thousands of requests, silenced for these tests only."""
    caplog.set_level(logging.ERROR, logger="esploro_async")  # restored after each test


async def harvest(seed: int, foreign_rate: float, *, room: bool = True) -> SimulatedGateway:
    gw = SimulatedGateway(
        SyntheticInstitution(seed, researchers=6_000),
        latency=Latency.uniform(0.2, 0.8),
        up_fraction=0.02,
        foreign_rate=foreign_rate,
        seed=seed,
    )
    governance = Governance.local(room_for_others=room)
    async with EsploroClient(
        SIM_API_KEY,
        base_url="http://esploro.localhost",
        transport=gw.transport(),
        governance=governance,
    ) as esploro:
        assert len([r async for r in esploro.researchers.list()]) == 6_000
    return gw


def counts(gw: SimulatedGateway) -> tuple[int, int, int, int, float]:
    """Our requests and 429s, the other's requests and 429s, our requests per second."""
    ours = [r for r in gw.log if r.lane == "client" and r.arrived]
    theirs = [r for r in gw.log if r.lane == "foreign"]
    span = ours[-1].arrival - ours[0].arrival
    return (
        len(ours),
        sum(not r.accepted for r in ours),
        len(theirs),
        sum(not r.accepted for r in theirs),
        len(ours) / span,
    )


SEEDS = range(8)


def share(runs: Sequence[Sequence[float]], *, of: int, refused: int) -> float:
    """Over all ``runs`` of `counts`: the sum of field ``refused`` over the sum of field ``of``."""
    return sum(c[refused] for c in runs) / sum(c[of] for c in runs)


@pytest.mark.parametrize("foreign_rate", [5.0, 10.0])
async def test_the_neighbour_keeps_its_share_where_ignoring_it_would_not(
    foreign_rate: float,
) -> None:
    # Per seed, a short harvest varies too much to bound; over eight seeds, the same
    # arrivals of theirs meet our requests with and without the room made for them.
    made = [counts(await harvest(seed, foreign_rate)) for seed in SEEDS]
    ignored = [counts(await harvest(seed, foreign_rate, room=False)) for seed in SEEDS]
    refused_made = share(made, of=2, refused=3)
    refused_ignored = share(ignored, of=2, refused=3)
    own_made = share(made, of=0, refused=1)
    assert refused_made <= 0.5 * refused_ignored
    assert refused_made <= 0.05
    assert own_made <= 0.03
    # ... and it is not bought by idling: most of what they leave on average is used.
    assert min(c[4] for c in made) >= (25 - foreign_rate) * 0.5


class WatchedLoad(ForeignLoad):
    """`ForeignLoad` that records, at each grant, how full it expected the window to be."""

    known_at_grants: ClassVar[list[float]] = []

    def granted(self, now: float) -> None:
        WatchedLoad.known_at_grants.append(self.expected(now))
        super().granted(now)


@pytest.mark.parametrize("seed", range(4))
async def test_no_request_goes_into_a_window_known_to_be_full(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core, "ForeignLoad", WatchedLoad)
    WatchedLoad.known_at_grants = []
    gw = await harvest(seed, 12.0)
    known = WatchedLoad.known_at_grants
    assert len(known) == sum(1 for r in gw.log if r.lane == "client")
    # At each grant, what it knew (ours granted, theirs seen) and their unseen arrivals at
    # their rate left room for this request. (Blind to them, seed 0 grants into an expected 32.)
    assert max(known) <= 24

"""Room for another integration, read from the gateway's arrival log in virtual time.

Seeded harvests share the simulated gateway with another integration's Poisson arrivals
(5 and 10 req/s); the library knows nothing of them but the fall of X-Exl-Api-Remaining.
"""

from __future__ import annotations

import logging

import pytest

from esploro_async import EsploroClient
from esploro_async.governance import Governance
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

pytestmark = pytest.mark.looptime


async def harvest(seed: int, foreign_rate: float, *, room: bool = True) -> SimulatedGateway:
    gw = SimulatedGateway(
        SyntheticInstitution(seed, researchers=6_000),
        latency=Latency.uniform(0.2, 0.8),
        up_fraction=0.02,
        foreign_rate=foreign_rate,
        seed=seed,
    )
    logging.getLogger("esploro_async").setLevel(logging.ERROR)
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


@pytest.mark.parametrize("foreign_rate", [5.0, 10.0])
async def test_the_neighbour_keeps_its_share_where_ignoring_it_would_not(
    foreign_rate: float,
) -> None:
    # Per seed, a short harvest varies too much to bound; over eight seeds, the same
    # arrivals of theirs meet our requests with and without the room made for them.
    made = [counts(await harvest(seed, foreign_rate)) for seed in SEEDS]
    ignored = [counts(await harvest(seed, foreign_rate, room=False)) for seed in SEEDS]
    refused_made = sum(c[3] for c in made) / sum(c[2] for c in made)
    refused_ignored = sum(c[3] for c in ignored) / sum(c[2] for c in ignored)
    own_made = sum(c[1] for c in made) / sum(c[0] for c in made)
    assert refused_made <= 0.5 * refused_ignored
    assert refused_made <= 0.05
    assert own_made <= 0.03
    # ... and it is not bought by idling: most of what they leave on average is used.
    assert min(c[4] for c in made) >= (25 - foreign_rate) * 0.5

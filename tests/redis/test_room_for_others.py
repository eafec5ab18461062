"""`room_for_others` on Redis: other integrations are read from the daily counter.

The counter falls by every request of the institution. On Redis every grant of every
process is numbered, so a process knows how many of the institution's requests went between
two of its own: the rest of the fall is another integration's. The processes of one
institution never count as foreign to each other, and a foreign load slows the shared pace.
Judged by the simulator's arrival log and by the estimate, never by wall time.
"""

from __future__ import annotations

import asyncio

from redis_support import gateway, harvest, processes, redis_process, redis_url

from esploro_async.testing import SimulatedGateway

__all__ = ["redis_process", "redis_url"]  # fixtures


def _our_rate(gw: SimulatedGateway, skip: float) -> float:
    """Our accepted requests per second after the first ``skip`` seconds of the log."""
    times = sorted(r.arrival for r in gw.client_log() if r.accepted)
    steady = [t for t in times if t >= times[0] + skip]
    return (len(steady) - 1) / (steady[-1] - steady[0])


async def test_processes_of_one_institution_are_not_foreign_to_each_other(
    redis_url: str,
) -> None:
    gw = gateway()
    async with processes(redis_url, gw, 3) as procs:
        await asyncio.gather(
            *(harvest(c, range(p * 600, (p + 1) * 600, 10)) for p, (c, _) in enumerate(procs))
        )
        for _, g in procs:
            others = g.rate.others_rate()
            assert others is not None, "the counter was read"
            assert others < 1.0, f"the institution's own processes counted as foreign: {others}"
            # Each process's own requests still show a count taken at arrival (the 429
            # warning relies on it): the others' grants in between do not look like departures.
            assert g.rate.counter_timing() == "arrival"
        assert gw.counts_by_error_code().get("PER_SECOND_THRESHOLD", 0) == 0


async def test_a_foreign_load_is_seen_and_slows_the_shared_pace(redis_url: str) -> None:
    gw = gateway(foreign_rate=10.0, seed=3)
    async with processes(redis_url, gw, 2) as procs:
        await asyncio.gather(
            *(harvest(c, range(p * 1000, (p + 1) * 1000, 10)) for p, (c, _) in enumerate(procs))
        )
        seen = [g.rate.others_rate() for _, g in procs]
        assert all(s is not None and 5.0 <= s <= 15.0 for s in seen), seen
        # Without room for others the two would take the effective 22.7 req/s between them.
        assert _our_rate(gw, skip=3.0) < 25 - 10 + 1.5

"""The shared rate survives ``kill -9`` and a restart of redis-server (all state lost)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs

import redis.asyncio as aioredis
from redis_support import (
    admin,
    finish,
    gateway,
    governance,
    max_in_window,
    redis_process,
    redis_url,
    start_worker,
)

from esploro_async.governance.lanes import priority
from esploro_async.testing import Latency, SimulatedGateway
from esploro_async.testing.redis_server import RedisServer

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures


async def test_a_lost_schedule_starts_after_the_horizon(
    redis_url: str, admin: aioredis.Redis
) -> None:
    """Slots of the lost schedule may be held up to one horizon ahead: start after them."""
    gov = governance(redis_url)
    batch = priority("batch", retry=False)
    await gov.rate.acquire(batch)  # the first use of the institution waits one horizon too
    await admin.delete(gov.key_prefix + "rate")  # expired, evicted or lost in a restart
    started = time.monotonic()
    await gov.rate.acquire(batch)
    assert time.monotonic() - started >= gov.gate.horizon - 0.01
    await gov.aclose()


# The workers' margin: the restarts are the subject here (every request done, none over the
# threshold, through three kills), not the automatic margin (held in virtual time). Five
# processes on a loaded host (this test's gateway among them) wake late and stamp arrivals
# late in bunches that keep their order, so the arrival order shows no jitter; the automatic
# margin, narrowed to about one interval after a few quiet seconds, then left a 26th arrival
# in a second (2 x 429 once in a full run beside the benchmarks). 0.25 s covers such stalls.
MARGIN = 0.25
WORKERS = 4
PAGES = 500  # offsets per worker: worker p harvests [p * PAGES, (p + 1) * PAGES)


async def every_worker_harvesting(gw: SimulatedGateway, timeout: float = 60.0) -> None:
    """Until each worker's harvest reached the gateway: its start-up and Redis ping are done.

    A worker warms up and pings Redis before it harvests, outside the governance's fallback: a
    kill during a slow start-up (a loaded host took more than the 1.5 s given) made it exit.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = {
            int(parse_qs(r.query)["offset"][0]) // PAGES
            for r in gw.client_log()
            if "offset=" in r.query
        }
        if len(started) == WORKERS:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only workers {sorted(started)} began within {timeout} s")


async def test_kill_and_restart_mid_run(redis_process: RedisServer, redis_url: str) -> None:
    """4 worker processes; redis-server killed with SIGKILL and restarted three times."""
    gw = gateway(latency=Latency.uniform(0.05, 0.3))
    async with gw.serve() as server:
        start_at = time.time() + 1.5
        procs = [
            start_worker(
                server.url,
                redis_url,
                range(p * PAGES, (p + 1) * PAGES, 10),
                fallback="local",
                start_at=start_at,
                governance={"safety_margin": MARGIN},
            )
            for p in range(WORKERS)
        ]
        try:
            await every_worker_harvesting(gw)
            for _ in range(3):
                await asyncio.sleep(2.0)
                await asyncio.to_thread(redis_process.kill)
                await asyncio.to_thread(redis_process.start)
        finally:
            results = await asyncio.to_thread(finish, procs)  # ends any worker left
    assert [r["requests"] for r in results] == [50] * WORKERS, results
    assert gw.counts_by_error_code()["PER_SECOND_THRESHOLD"] == 0
    arrivals = [r.arrival for r in gw.client_log() if r.error_code != "UNAUTHORIZED"]
    assert max_in_window(arrivals) <= 25  # every arrival (not the warm-ups with a bad key)

"""`RedisGovernance` on a local 3-node Redis Cluster (``redis+cluster://`` URL).

Every key of an institution shares one hash tag, so each script runs on one node.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis
from redis_support import INST, finish, gateway, max_in_window, start_worker

from esploro_async.governance.redis.status import InstitutionStatus, read_status
from esploro_async.testing.redis_server import RedisClusterServers


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    with RedisClusterServers(3) as servers:
        yield servers


async def status_once_running(url: str, processes: int, within: float) -> InstitutionStatus:
    """The shared status once ``processes`` processes show in it (or ``within`` s passed)."""
    deadline = time.monotonic() + within
    state = await read_status(url, INST)
    while state.processes < processes and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        state = await read_status(url, INST)
    return state


def ports_holding_keys(cluster: RedisClusterServers) -> list[int]:
    """The ports of the cluster's nodes that hold any key."""
    held: list[int] = []
    for port in (node.port for node in cluster.servers):
        with redis.Redis(host="127.0.0.1", port=port) as plain:
            if plain.keys("*"):
                held.append(port)
    return held


async def test_three_processes_on_a_cluster(cluster: RedisClusterServers) -> None:
    gw = gateway(quota_remaining=260)
    async with gw.serve() as server:
        start_at = time.time() + 1.5
        procs = [
            start_worker(
                server.url,
                cluster.url,
                range(p * 1000, p * 1000 + 1000, 10),
                # Three worker processes, three Redis nodes and the gateway share two cores:
                # scheduling delays the request leg by more than the default margin absorbs
                # (a 429 once in CI). This test is about one slot on a cluster, not the margin.
                governance={"daily_reserve": 100, "safety_margin": 0.3},
                stop_on_error=True,
                start_at=start_at,
            )
            for p in range(3)
        ]
        state = await status_once_running(cluster.url, 3, within=20)  # imports are slow
        results = await asyncio.to_thread(finish, procs)
    log = [r for r in gw.client_log() if r.error_code != "UNAUTHORIZED"]
    assert sum(r["requests"] for r in results) == 160
    assert gw.quota_remaining == 100
    assert not [r for r in log if r.status == 429]
    assert max_in_window([r.arrival for r in log]) <= 25
    assert state.processes == 3
    assert state.quota_remaining is not None
    # Every key of the institution lives in one slot, on one node.
    held = ports_holding_keys(cluster)
    assert len(held) == 1
    assert held[0] == cluster.node_of(f"esploro:{{{INST}}}:rate")

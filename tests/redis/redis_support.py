"""Fixtures and helpers shared by the Redis tests: a real redis-server, worker processes.

Test modules import the fixtures they use (``from redis_support import redis_url``). The
workers are real OS processes running ``python -m benchmarks.redis_workers worker``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from esploro_async import EsploroClient
from esploro_async.governance.redis import RedisGovernance
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.gateway import max_in_window as max_in_window
from esploro_async.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
INST = "01TEST_INST"


@pytest.fixture(scope="module")
def redis_process(redis_server: RedisServer) -> RedisServer:
    """The module's redis-server (a real one: no fake Redis for the guarantees)."""
    return redis_server


@pytest.fixture
async def redis_url(redis_process: RedisServer) -> AsyncIterator[str]:
    """The URL of a running, empty server with reset statistics."""
    if not redis_process.running:
        redis_process.start()
    client = aioredis.Redis.from_url(redis_process.url)
    await client.flushall()
    await client.config_resetstat()
    await client.aclose()
    yield redis_process.url
    if not redis_process.running:  # a test stopped it: leave a running server behind
        redis_process.start()


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client for inspecting the server."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


def governance(url: str, **kwargs: Any) -> RedisGovernance:
    """A `RedisGovernance` of the test institution."""
    return RedisGovernance(url, institution=kwargs.pop("institution", INST), **kwargs)


def gateway(**kwargs: Any) -> SimulatedGateway:
    """A simulated gateway whose clock starts now."""
    kwargs.setdefault("latency", Latency.uniform(0.02, 0.1))
    kwargs.setdefault("up_fraction", 0.05)
    kwargs.setdefault("start", datetime.now(timezone.utc))
    return SimulatedGateway(SyntheticInstitution(seed=1, researchers=2000, assets=10), **kwargs)


@asynccontextmanager
async def processes(
    redis_url: str, gw: SimulatedGateway, count: int
) -> AsyncIterator[list[tuple[EsploroClient, RedisGovernance]]]:
    """``count`` clients of one institution at the defaults, each with a `RedisGovernance`
    of its own (to Redis, one process each)."""
    govs = [governance(redis_url) for _ in range(count)]
    clients = [
        EsploroClient(
            SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport(), governance=g
        )
        for g in govs
    ]
    try:
        yield list(zip(clients, govs, strict=True))
    finally:
        for c in clients:
            await c.aclose()
        for g in govs:
            await g.aclose()


async def harvest(client: EsploroClient, offsets: Sequence[int]) -> None:
    """Request one page of ``/researchers`` per offset, 8 at a time (batch lane)."""
    queue = list(offsets)

    async def run() -> None:
        while queue:
            offset = queue.pop()
            await client.request(
                "GET", "researchers", params={"offset": offset, "limit": 10}, lane="batch"
            )

    await asyncio.gather(*(run() for _ in range(8)))


def start_worker(base_url: str, redis_url: str, offsets: Sequence[int], **cfg: Any) -> Any:
    """Start one harvesting worker process; ``cfg`` adds to its JSON configuration."""
    payload = {
        "base_url": base_url,
        "offsets": list(offsets),
        "limit": 10,
        "concurrency": 8,
        "redis_url": redis_url,
        "institution": INST,
        "quiet": True,
        **cfg,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.redis_workers", "worker", json.dumps(payload)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def finish(procs: Sequence[Any], timeout: float = 90) -> list[dict[str, Any]]:
    """Wait for the workers (killing any still running after ``timeout``); their results."""
    deadline = time.monotonic() + timeout
    results = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            assert proc.returncode == 0, f"worker exited with {proc.returncode}"
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results

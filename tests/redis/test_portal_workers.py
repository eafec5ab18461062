"""examples/portal_workers.py: a portal of 3 uvicorn workers beside a harvest process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import httpx
from redis_support import (
    INST,
    ROOT,
    admin,
    gateway,
    max_in_window,
    redis_process,
    redis_url,
)

from esploro_async.testing import SIM_API_KEY, Latency
from esploro_async.testing.redis_server import free_loopback_port

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures


def spawn(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """A Python child process in the repository (stdout kept)."""
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


async def wait_until_serving(http: httpx.AsyncClient, within: float) -> None:
    """Wait until the portal answers ``/status`` (its workers start), at most ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        try:
            if (await http.get("/status")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the portal did not start"
        await asyncio.sleep(0.2)


async def view_pages(http: httpx.AsyncClient, ids: list[str]) -> list[httpx.Response]:
    """One page view per researcher, 20 page views per second."""

    async def visit(n: int, primary_id: str) -> httpx.Response:
        await asyncio.sleep(0.05 * n)
        return await http.get(f"/researchers/{primary_id}", timeout=30)

    return await asyncio.gather(*(visit(n, i) for n, i in enumerate(ids)))


async def stop_all(*procs: subprocess.Popen[str]) -> None:
    """Terminate those of ``procs`` still running, and wait for them."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 20)


async def test_portal_workers_beside_a_harvest(redis_url: str) -> None:
    gw = gateway(latency=Latency.uniform(0.1, 0.3))
    port = free_loopback_port()
    ids = gw.institution.researchers.ids()[:40]
    async with gw.serve() as server:
        env = {
            **os.environ,
            "ESPLORO_REDIS_URL": redis_url,
            "ESPLORO_INSTITUTION": INST,
            "ESPLORO_API_KEY": SIM_API_KEY,
            "ESPLORO_BASE_URL": server.url,
            "ESPLORO_DAILY_RESERVE": "0",
            "ESPLORO_BATCH_RESERVE": "0",
        }
        portal = spawn(
            *("-m", "uvicorn", "examples.portal_workers:app", "--workers", "3"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            env=env,
        )
        harvest = spawn("examples/portal_workers.py", "harvest", "--limit", "1500", env=env)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                await wait_until_serving(http, within=30)
                pages = await view_pages(http, ids)
            out, _ = await asyncio.to_thread(harvest.communicate, timeout=120)
        finally:
            await stop_all(harvest, portal)
    assert [p.status_code for p in pages] == [200] * 40
    assert [p.json()["id"] for p in pages] == ids
    assert len({p.json()["pid"] for p in pages}) > 1  # served by several workers
    assert "harvested 1500 researchers" in out
    log = [r for r in gw.client_log() if r.error_code != "UNAUTHORIZED"]
    assert not [r for r in log if r.status == 429]
    assert max_in_window([r.arrival for r in log]) <= 25

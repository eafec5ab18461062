"""The worker process: one slice of ``/researchers`` harvested, its result as one JSON line.

``python -m benchmarks.redis_workers worker '{"base_url": ..., "offsets": [...], ...}'`` runs
`worker_main` (the scenarios and ``tests/redis`` start workers that way). A worker harvests
its offsets with ``concurrency`` tasks, or sends them as a portal's Poisson arrivals
(``interactive``), on one Redis (``redis_url``) or with an in-process limiter only; with
``shift`` its clocks run ahead of (or behind) the others'.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from typing import Any

import httpx

from benchmarks.redis_workers.common import INSTITUTION
from benchmarks.redis_workers.hand_split import hand_split_harvest


def shift_clocks(seconds: float) -> None:
    """Shift this process's wall and monotonic clocks (and so asyncio's loop clock)."""
    real_time, real_time_ns = time.time, time.time_ns
    real_mono, real_mono_ns = time.monotonic, time.monotonic_ns
    offset_ns = round(seconds * 1e9)
    time.time = lambda: real_time() + seconds
    time.time_ns = lambda: real_time_ns() + offset_ns
    time.monotonic = lambda: real_mono() + seconds
    time.monotonic_ns = lambda: real_mono_ns() + offset_ns


async def _open(cfg: dict[str, Any]) -> tuple[Any, httpx.AsyncClient, Any]:
    """The worker's governance (if on Redis), warmed-up connection pool and client."""
    from esploro_async import EsploroClient
    from esploro_async.governance.redis import RedisGovernance
    from esploro_async.testing import SIM_API_KEY, SIM_READ_ONLY_KEY

    governance = None
    if cfg.get("redis_url"):
        governance = RedisGovernance(
            cfg["redis_url"],
            institution=cfg.get("institution", INSTITUTION),
            fallback=cfg.get("fallback", "error"),
            **cfg.get("governance", {}),
        )
    concurrency = cfg.get("concurrency", 16)
    http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=60,
    )
    # Warm up outside the measurement: open the keep-alive connections (a wrong key is
    # neither counted in the window nor the quota) and connect to Redis, so that the
    # TCP set-up of a cold start does not delay the first granted requests.
    await asyncio.gather(
        *(
            http.get(cfg["base_url"] + "/esploro/v1/conf/general", headers={"Authorization": "x"})
            for _ in range(concurrency)
        )
    )
    if governance is not None:
        await governance.redis.ping()
    client = EsploroClient(
        api_key=SIM_READ_ONLY_KEY if cfg.get("read_only_key") else SIM_API_KEY,
        base_url=cfg["base_url"],
        institution=cfg.get("institution", INSTITUTION),
        governance=governance,
        http_client=http,
    )
    return governance, http, client


class _Worker:
    """One worker's requests: a harvest (``concurrency`` tasks) or a portal (Poisson)."""

    def __init__(self, cfg: dict[str, Any], client: Any, real_time: Any) -> None:
        self.cfg = cfg
        self.client = client
        self.real_time = real_time
        self.done = 0
        self.errors: dict[str, int] = {}
        self.messages: dict[str, str] = {}
        self.waits: list[float] = []
        self.interactive: dict[str, Any] = cfg.get("interactive") or {}
        if self.interactive:
            _time_governance(client, self.waits)

    async def one(self, offset: int, lane: str = "interactive") -> bool:
        """One page request; False if it failed."""
        try:
            await self.client.request(
                "GET",
                "researchers",
                params={"offset": offset, "limit": self.cfg["limit"]},
                lane=lane,
            )
        except Exception as exc:
            name = type(exc).__name__
            self.errors[name] = self.errors.get(name, 0) + 1
            self.messages.setdefault(name, str(exc)[:100])
            return False
        self.done += 1
        return True

    async def harvest(self, queue: asyncio.Queue[int]) -> None:
        """Take offsets until none is left (or, with ``stop_on_error``, one fails)."""
        while not queue.empty():
            ok = await self.one(queue.get_nowait(), self.cfg.get("lane", "batch"))
            if not ok and self.cfg.get("stop_on_error"):
                return

    async def portal(self) -> None:
        """Independent users: Poisson arrivals at ``rate`` per second, concurrent requests.

        With ``warm_up`` (seconds), one unmeasured request that long before them opens the
        busy period; with 0 every request is measured, from the process's first.
        """
        warm_up = self.interactive.get("warm_up", 1.5)
        if warm_up:
            await self.client.request("GET", "researchers", params={"limit": 1})
            await asyncio.sleep(warm_up)
            self.waits.clear()
        rng = random.Random(self.interactive.get("seed", 0))
        tasks = []
        for offset in self.cfg["offsets"][: self.interactive["count"]]:
            await asyncio.sleep(rng.expovariate(self.interactive["rate"]))
            tasks.append(asyncio.ensure_future(self.one(offset)))
        await asyncio.gather(*tasks)

    async def run(self) -> None:
        """The portal, or the harvest by ``concurrency`` tasks."""
        if self.interactive:
            await self.portal()
            return
        queue: asyncio.Queue[int] = asyncio.Queue()
        for offset in self.cfg["offsets"]:
            queue.put_nowait(offset)
        await asyncio.gather(*(self.harvest(queue) for _ in range(self.cfg.get("concurrency", 16))))


async def _harvest(cfg: dict[str, Any], real_time: Any) -> dict[str, Any]:
    governance, http, client = await _open(cfg)
    worker = _Worker(cfg, client, real_time)
    delay = cfg.get("start_at", 0.0) - real_time()
    if delay > 0:
        await asyncio.sleep(delay)
    started = real_time()
    try:
        await worker.run()
    finally:
        elapsed = real_time() - started
        snapshot = client.governance.snapshot()
        stats = governance.stats() if governance is not None else {}
        await client.aclose()
        await http.aclose()
        if governance is not None:
            await governance.aclose()
    return {
        "requests": worker.done,
        "waits": worker.waits,
        "errors": worker.errors,
        "messages": worker.messages,
        "elapsed": elapsed,
        "throttled": snapshot.throttled,
        "margin": snapshot.safety_margin,
        "stats": stats,
    }


def _time_governance(client: Any, waits: list[float]) -> None:
    """Record how long each attempt waits for governance (slot, quota and rate permit)."""
    governance = client.governance
    enter = governance._enter

    async def timed(lane: Any, retry: bool) -> None:
        started = time.monotonic()
        await enter(lane, retry)
        waits.append(time.monotonic() - started)

    governance._enter = timed


def worker_main(cfg: dict[str, Any]) -> None:
    """Run one worker; prints its result as one JSON line.

    ``"quiet": true`` silences the library's warnings (one per 429, on stderr);
    ``"hand_split": {"rate": ...}`` runs the baseline without the library (`hand_split`).
    """
    if cfg.get("quiet"):
        logging.getLogger("esploro_async").setLevel(logging.ERROR)
    real_time = time.time
    if cfg.get("shift"):
        shift_clocks(float(cfg["shift"]))
    run = hand_split_harvest if cfg.get("hand_split") else _harvest
    result = asyncio.run(run(cfg, real_time))
    print(json.dumps(result), flush=True)

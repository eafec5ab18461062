"""The baseline without shared Redis: the budget split by hand, a 429 retried after Retry-After.

What a competent user writes when the processes cannot talk to each other: each of the 4
processes keeps to its share of the 25 requests per second, rounded down to whole requests
(`HAND_SPLIT_RATE`: ``AsyncLimiter(1, 1 / 6)``, one request every 1/6 s, 24 together), with
plain httpx and ``concurrency`` requests in flight; a 429 is retried after its
``Retry-After`` (1 s when absent), up to ``attempts`` times in all. It is the hand-written
client (h) of ``benchmarks.harvest`` split 4 ways. Nothing tells a process what the others
send: their limiters are in phase or not by chance.

Why 6/s: measured side by side with the library on one Redis (150 requests a process),
25 / 4 / 1.02 (6.13/s, the margin of (h)) drew 33 x 429 in 633 requests and 6/s drew 2 in
602 at a higher rate of accepted requests, 25 / 4 / 1.07 (5.84/s) none at a lower one
(``--hand-split-rate``). A process at 6/s sends at most 6 requests in any second (7 when
its spacing lands exactly on both ends), so the four together stay at 24 unless their
phases and the network's jitter line up.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import httpx

from esploro_async.testing import SIM_API_KEY

#: Requests per second of each baseline process: 25 / 4 rounded down to whole requests.
HAND_SPLIT_RATE = 6.0
PATH = "/esploro/v1/researchers"
HEADERS = {"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"}


def hand_split_label(rate: float = HAND_SPLIT_RATE) -> str:
    """The baseline's row label, e.g. ``hand-split 6/s``."""
    return f"hand-split {rate:g}/s"


class HandSplitWorker:
    """One process of the baseline: its offsets behind its own spacing limiter."""

    def __init__(self, cfg: dict[str, Any], http: httpx.AsyncClient) -> None:
        # Imported here: the library's workers (tests/redis) run without the bench extra.
        from aiolimiter import AsyncLimiter

        self.cfg = cfg
        self.http = http
        self.limiter = AsyncLimiter(1, 1 / cfg["hand_split"]["rate"])
        self.attempts: int = cfg["hand_split"].get("attempts", 10)
        self.done = 0
        self.throttled = 0
        self.errors: dict[str, int] = {}
        self.messages: dict[str, str] = {}

    def _failed(self, name: str, message: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        self.messages.setdefault(name, message[:100])

    async def one(self, offset: int) -> None:
        """One page, sent again after each 429's Retry-After (``attempts`` in all)."""
        params = {"offset": offset, "limit": self.cfg["limit"]}
        for _ in range(self.attempts):
            async with self.limiter:
                response = await self.http.get(PATH, params=params)
            if response.status_code != 429:
                if response.is_success:
                    self.done += 1
                else:
                    self._failed(f"HTTP {response.status_code}", response.text)
                return
            self.throttled += 1
            await asyncio.sleep(float(response.headers.get("Retry-After") or 1.0))
        self._failed("GaveUp", f"offset {offset}: 429 at each of {self.attempts} attempts")

    async def harvest(self, queue: asyncio.Queue[int]) -> None:
        """Take offsets until none is left."""
        while not queue.empty():
            await self.one(queue.get_nowait())

    async def run(self) -> None:
        """Every offset of the slice, ``concurrency`` at a time."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        for offset in self.cfg["offsets"]:
            queue.put_nowait(offset)
        await asyncio.gather(*(self.harvest(queue) for _ in range(self.cfg.get("concurrency", 16))))


async def hand_split_harvest(cfg: dict[str, Any], real_time: Callable[[], float]) -> dict[str, Any]:
    """Run one baseline worker from ``start_at``; its result in the workers' shape."""
    concurrency = cfg.get("concurrency", 16)
    async with httpx.AsyncClient(
        base_url=cfg["base_url"],
        headers=HEADERS,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=60,
    ) as http:
        # Warm up outside the measurement, as the library's workers do (a wrong key is
        # neither counted in the window nor the quota).
        await asyncio.gather(
            *(
                http.get("/esploro/v1/conf/general", headers={"Authorization": "x"})
                for _ in range(concurrency)
            )
        )
        worker = HandSplitWorker(cfg, http)
        delay = cfg.get("start_at", 0.0) - real_time()
        if delay > 0:
            await asyncio.sleep(delay)
        started = real_time()
        await worker.run()
        elapsed = real_time() - started
    return {
        "requests": worker.done,
        "waits": [],
        "errors": worker.errors,
        "messages": worker.messages,
        "elapsed": elapsed,
        "throttled": worker.throttled,
        "margin": cfg["hand_split"].get("margin", math.nan),
        "stats": {},
    }

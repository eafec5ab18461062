"""Processes holding different API keys of one institution share its threshold."""

from __future__ import annotations

import asyncio
import time

from redis_support import (
    admin,
    finish,
    gateway,
    max_in_window,
    redis_process,
    redis_url,
    start_worker,
)

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures


async def test_read_only_and_read_write_keys_share_one_budget(redis_url: str) -> None:
    gw = gateway()
    async with gw.serve() as server:
        start_at = time.time() + 1.5
        procs = [
            start_worker(
                server.url,
                redis_url,
                range(p * 400, p * 400 + 400, 10),
                read_only_key=p % 2 == 0,
                start_at=start_at,
            )
            for p in range(4)
        ]
        results = await asyncio.to_thread(finish, procs)
    assert [r["requests"] for r in results] == [40] * 4, results
    log = [r for r in gw.client_log() if r.error_code != "UNAUTHORIZED"]
    assert len({r.key_fingerprint for r in log}) == 2
    assert sum(1 for r in log if r.error_code == "PER_SECOND_THRESHOLD") == 0
    assert max_in_window([r.arrival for r in log]) <= 25

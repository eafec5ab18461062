"""A process joining a known quota, and what others may have written into the keys."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import anyio
import pytest
import redis.asyncio as aioredis
from redis_support import admin, governance, max_in_window, redis_process, redis_url

from esploro_async.governance import ResponseInfo
from esploro_async.governance.lanes import priority
from esploro_async.governance.redis import RedisGovernance

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures

BATCH = priority("batch", retry=False)


async def _report(gov: RedisGovernance, remaining: int) -> None:
    async with gov.attempt(lane="interactive") as attempt:
        await attempt.record(
            ResponseInfo(200, remaining=remaining, server_date=datetime.now(timezone.utc))
        )


def _day_key(gov: RedisGovernance) -> str:
    day = datetime.now(timezone.utc).date().isoformat()
    return f"{gov.key_prefix}quota:{day}"


async def _entered_together(gov: RedisGovernance, count: int, within: float) -> int:
    """How many of ``count`` concurrent attempts are in flight together within ``within`` s."""
    entered = 0
    release = anyio.Event()

    async def hold() -> None:
        nonlocal entered
        async with gov.attempt(lane="batch") as attempt:
            entered += 1
            await release.wait()
            await attempt.record(ResponseInfo(200, remaining=9_000))

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(hold)
        await anyio.sleep(within)
        together = entered
        release.set()
    return together


async def test_a_process_joining_a_known_quota_sends_at_once(redis_url: str) -> None:
    first = governance(redis_url, daily_reserve=100)
    await _report(first, 10_000)
    joining = governance(redis_url, daily_reserve=100)
    assert await _entered_together(joining, 5, within=1.5) == 5  # no lone probe first
    for gov in (first, joining):
        await gov.aclose()


async def test_a_count_reported_long_ago_is_probed_when_it_may_not_clear_the_reserve(
    redis_url: str, admin: aioredis.Redis
) -> None:
    first = governance(redis_url, daily_reserve=100)
    await _report(first, 10_000)
    await first.aclose()
    # An hour ago: the institution may have spent 25 × 3600 since, more than is left.
    key = _day_key(first) + ":at"
    await admin.set(key, str(round((time.time() - 3600) * 1e6)))
    joining = governance(redis_url, daily_reserve=100)
    assert await _entered_together(joining, 5, within=1.5) == 1  # the probe, alone
    await joining.aclose()


async def test_a_count_reported_moments_ago_needs_no_probe(
    redis_url: str, admin: aioredis.Redis
) -> None:
    first = governance(redis_url, daily_reserve=100)
    await _report(first, 10_000)
    await first.aclose()
    # Ten seconds ago: at most 250 spent since, and 9,750 clear the reserve of 100.
    await admin.set(_day_key(first) + ":at", str(round((time.time() - 10) * 1e6)))
    joining = governance(redis_url, daily_reserve=100)
    assert await _entered_together(joining, 5, within=1.5) == 5
    await joining.aclose()


@pytest.mark.parametrize(
    "vandalize",
    [
        lambda prefix, admin: admin.set(prefix + "rate", "not a hash"),
        lambda prefix, admin: admin.hset(prefix + "rate", mapping={"tat": "x", "rate": "y"}),
        lambda prefix, admin: admin.hset(prefix + "inflight", "someone", "many"),
        lambda prefix, admin: admin.set(prefix + "margins", "x"),
        lambda prefix, admin: admin.set(prefix + "arrivals", "x"),
        lambda prefix, admin: admin.rpush(prefix + "arrivals", "9 x y", "garbage"),
        lambda prefix, admin: admin.hset(prefix + "grants", "1", "x"),
    ],
)
async def test_garbage_in_the_keys_is_dropped_and_the_rate_still_holds(
    redis_url: str, admin: aioredis.Redis, vandalize: object
) -> None:
    gov = governance(redis_url)
    await _report(gov, 10_000)
    await gov.rate.acquire(BATCH)
    await vandalize(gov.key_prefix, admin)  # type: ignore[operator]
    grants = []
    with anyio.fail_after(10):
        for _ in range(40):
            await gov.rate.acquire(BATCH)
            grants.append(time.monotonic())
        await _report(gov, 9_000)  # the quota script still runs too
    assert max_in_window(grants) <= 25
    await gov.aclose()


async def test_garbage_in_the_quota_is_probed_again(redis_url: str, admin: aioredis.Redis) -> None:
    gov = governance(redis_url, daily_reserve=100)
    await _report(gov, 10_000)
    await admin.set(_day_key(gov), "lots")
    joining = governance(redis_url, daily_reserve=100)
    assert await _entered_together(joining, 3, within=1.5) == 1  # unknown: one probe
    for each in (gov, joining):
        await each.aclose()

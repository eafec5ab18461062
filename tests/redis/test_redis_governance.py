"""`RedisGovernance` against a real redis-server (real time: Redis TIME is real time).

The module starts its own ``redis-server`` on a free loopback port (no persistence) and
flushes it before each test (fixtures in ``redis_support``). If ``redis-server`` is not
installed the tests fail, saying how to install it: the guarantees are only worth testing
against a real server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis_support import (  # the fixtures are used as test parameters
    INST,
    admin,  # noqa: F401
    governance,
    max_in_window,
    redis_process,  # noqa: F401
    redis_url,  # noqa: F401
)

from esploro_async import EsploroClient
from esploro_async.errors import DailyQuotaExhaustedError, EsploroError
from esploro_async.governance.lanes import priority
from esploro_async.governance.protocol import QuotaRefusal, ResponseInfo
from esploro_async.governance.redis import RedisGovernance, RedisUnavailableError
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 1.1 / 25


def gateway(**kwargs: Any) -> SimulatedGateway:
    kwargs.setdefault("latency", Latency.uniform(0.02, 0.1))
    kwargs.setdefault("up_fraction", 0.05)
    kwargs.setdefault("start", datetime.now(timezone.utc))
    return SimulatedGateway(SyntheticInstitution(seed=1, researchers=1000, assets=10), **kwargs)


async def harvest(client: EsploroClient, offsets: Sequence[int], concurrency: int = 8) -> int:
    queue = list(offsets)
    done = 0

    async def run() -> None:
        nonlocal done
        while queue:
            offset = queue.pop()
            await client.request("GET", "researchers", params={"offset": offset, "limit": 10})
            done += 1

    await asyncio.gather(*(run() for _ in range(concurrency)))
    return done


async def script_calls(admin: aioredis.Redis) -> int:
    stats = await admin.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{n}", {}).get("calls", 0)) for n in ("evalsha", "eval"))


# -- the per-second threshold -------------------------------------------------------------


async def test_two_clients_share_the_threshold(redis_url: str, admin: aioredis.Redis) -> None:
    gw = gateway()
    govs = [governance(redis_url) for _ in range(2)]
    async with gw.serve() as server:
        clients = [
            EsploroClient(api_key=SIM_API_KEY, base_url=server.url, governance=g) for g in govs
        ]
        started = time.monotonic()
        done = await asyncio.gather(
            harvest(clients[0], range(0, 400, 10)), harvest(clients[1], range(400, 800, 10))
        )
        elapsed = time.monotonic() - started
        for client in clients:
            await client.aclose()
    calls = await script_calls(admin)
    for g in govs:
        await g.aclose()
    assert list(done) == [40, 40]
    assert gw.counts_by_error_code()["PER_SECOND_THRESHOLD"] == 0
    assert gw.max_in_window(1.0) <= 25
    assert 80 / elapsed < 25 / 1.1 * 1.02  # never faster than the effective rate
    assert calls / 80 < 4  # about 2 per grant, more with the short batch_horizon (0.1 s)


def _worker(base_url: str, offsets: Sequence[int], redis_url: str, shift: float, at: float) -> Any:
    cfg = {
        "base_url": base_url,
        "offsets": list(offsets),
        "limit": 10,
        "concurrency": 8,
        "shift": shift,
        "redis_url": redis_url,
        "institution": INST,
        "start_at": at,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.redis_workers", "worker", json.dumps(cfg)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("shift", [0.0, 0.25, -0.25])
async def test_four_processes_one_redis(
    redis_url: str, admin: aioredis.Redis, shift: float
) -> None:
    """4 OS processes share one Redis; the first one's clocks are shifted by ``shift``."""
    gw = gateway()
    async with gw.serve() as server:
        start_at = time.time() + 1.2
        procs = [
            _worker(server.url, range(p * 150, (p + 1) * 150, 10), redis_url, p and shift, start_at)
            for p in range(4)
        ]
        outputs = [await asyncio.to_thread(p.communicate, timeout=60) for p in procs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [r["requests"] for r in results] == [15] * 4, results
    log = [r for r in gw.client_log() if r.error_code != "UNAUTHORIZED"]  # not warm-ups
    assert sum(1 for r in log if r.error_code == "PER_SECOND_THRESHOLD") == 0
    assert gw.max_in_window(1.0) <= 25
    assert await script_calls(admin) / len(log) < 4  # see above


async def test_late_wakeups_do_not_bunch(redis_url: str) -> None:
    """Event-loop stalls: stale slots are re-reserved, never sent late in a burst."""
    gov = governance(redis_url)
    grants: list[float] = []

    async def acquire(n: int) -> None:
        for _ in range(n):
            await gov.rate.acquire()
            grants.append(time.monotonic())

    async def stall() -> None:
        for _ in range(3):
            await asyncio.sleep(0.4)
            time.sleep(0.15)  # noqa: ASYNC251 - a blocking call stalls the event loop

    await asyncio.gather(stall(), *(acquire(7) for _ in range(8)))
    await gov.aclose()
    assert gov.gate.stats["stale"] > 0
    assert max_in_window(grants) <= 24  # 23 on time; late_tolerance may add one
    spans = [b - a for a, b in zip(grants, grants[25:], strict=False)]
    assert min(spans) >= 25 * INTERVAL - 0.025


async def test_penalize_pauses_every_process(redis_url: str) -> None:
    first, second = governance(redis_url), governance(redis_url)
    grants: list[float] = []

    async def send(n: int) -> None:
        for _ in range(n):
            await second.rate.acquire(priority("batch", retry=False))
            grants.append(time.monotonic())

    senders = asyncio.gather(*(send(10) for _ in range(5)))
    # The schedule starts one horizon ahead; then the second process holds reservations
    # up to 1 s ahead.
    await asyncio.sleep(1.5)
    throttled_at = time.monotonic()
    await first.rate.throttled(None)
    await first.rate.throttled(None)  # a cluster of 429s: one decrease per cooldown
    await senders
    assert first.rate.current_rate() == pytest.approx(22.5)
    # shared: the other process runs at the decreased rate (+0.5 per second since)
    recovered = (second.rate.current_rate() - 22.5) / 0.5
    assert 0 <= recovered < 5
    assert recovered == pytest.approx(round(recovered))
    during = [t for t in grants if throttled_at + 0.01 < t < throttled_at + 1.09]
    assert during == []
    assert second.gate.stats["dropped"] > 0
    for g in (first, second):
        await g.aclose()


async def test_recovery_follows_rate_policy(redis_url: str, admin: aioredis.Redis) -> None:
    gov = governance(redis_url)
    key = gov.key_prefix + "rate"
    seconds, micros = await admin.time()
    now_us = seconds * 1_000_000 + micros
    # 10 req/s, last 429 4.1 s ago: four steps of +0.5 req/s are due.
    await admin.hset(key, mapping={"rate": "10", "anchor": str(now_us - 4_100_000)})
    await gov.rate.acquire()
    assert gov.rate.current_rate() == pytest.approx(12.0)
    await admin.hset(key, mapping={"rate": "24.9", "anchor": str(now_us - 60_000_000)})
    await gov.rate.acquire()
    assert gov.rate.current_rate() == 25.0  # never above the ceiling
    await gov.aclose()


async def test_keys_carry_ttls_under_one_hash_tag(redis_url: str, admin: aioredis.Redis) -> None:
    gov = governance(redis_url)
    await gov.rate.acquire()
    await gov.quota.reserve()
    day = datetime.now(timezone.utc)
    await gov.quota.settle(ResponseInfo(status_code=200, remaining=5000, server_date=day))
    await gov.quota.reserve()  # leaves one request in flight: inflight/leases exist
    await gov.rate.throttled(None)
    keys = [k async for k in admin.scan_iter(match="*")]
    assert keys
    assert all(k.startswith(f"esploro:{{{INST}}}:") for k in keys)
    quota_key = f"esploro:{{{INST}}}:quota:{gov.quota.status().resets_at.date() - timedelta(1)}"
    assert quota_key in keys
    for key in keys:
        ttl = await admin.pttl(key)
        assert 0 < ttl <= 48 * 3600 * 1000, key
    assert await admin.pttl(quota_key) > 47 * 3600 * 1000
    await gov.aclose()


async def test_aclose_is_prompt_after_a_client_used_it(redis_url: str) -> None:
    """The pause listener stops even though redis-py may swallow its cancellation."""
    gov = governance(redis_url)
    gw = gateway()
    async with gw.serve() as server:
        client = EsploroClient(api_key=SIM_API_KEY, base_url=server.url, governance=gov)
        await client.request("GET", "researchers", params={"limit": 1})
        await client.aclose()
    await asyncio.sleep(0.2)  # the listener is subscribed and waiting for a message
    started = time.monotonic()
    await asyncio.wait_for(gov.aclose(), 5)
    assert time.monotonic() - started < 1.5


# -- the daily quota ------------------------------------------------------------------------


async def test_reserve_is_respected_across_clients(redis_url: str) -> None:
    gw = gateway(quota_remaining=120, latency=Latency.uniform(0.05, 0.2))
    govs = [governance(redis_url, daily_reserve=40) for _ in range(2)]
    refused = 0

    async def drain(client: EsploroClient, base: int) -> None:
        nonlocal refused
        try:
            await harvest(client, range(base, base + 1000, 10), concurrency=6)
        except DailyQuotaExhaustedError:
            refused += 1

    async with gw.serve() as server:
        clients = [
            EsploroClient(api_key=SIM_API_KEY, base_url=server.url, governance=g) for g in govs
        ]
        await asyncio.gather(drain(clients[0], 0), drain(clients[1], 1000))
        for client in clients:
            await client.aclose()
    for g in govs:
        await g.aclose()
    assert refused == 2
    assert gw.counts_by_error_code()["DAILY_THRESHOLD"] == 0
    assert gw.quota_remaining >= 40  # never below the reserve, institution-wide
    assert gw.quota_remaining <= 40 + 2 * govs[0].ledger.slack + 12  # and not far above


async def test_daily_threshold_stops_every_process(redis_url: str) -> None:
    first, second = governance(redis_url), governance(redis_url)
    day = datetime.now(timezone.utc)
    await second.quota.reserve()
    await second.quota.settle(ResponseInfo(status_code=200, remaining=900, server_date=day))
    await first.quota.reserve()
    await first.quota.settle(
        ResponseInfo(status_code=429, error_code="DAILY_THRESHOLD", remaining=0, server_date=day)
    )
    await asyncio.sleep(second.ledger.sync_interval)
    with pytest.raises(QuotaRefusal) as refusal:
        await second.quota.reserve()
    assert refusal.value.from_gateway
    assert second.quota.status().remaining == 0
    for g in (first, second):
        await g.aclose()


async def test_crashed_process_stops_counting(redis_url: str) -> None:
    day = datetime.now(timezone.utc)
    crashed = governance(redis_url, inflight_lease=0.3)
    await crashed.quota.reserve()
    await crashed.quota.settle(ResponseInfo(status_code=200, remaining=1000, server_date=day))
    for _ in range(5):
        await crashed.ledger._sync(want=1)  # 5 requests in flight, then the process dies
    other = governance(redis_url)
    await other.ledger._sync(want=0)
    assert other.quota.status().in_flight == 5
    await asyncio.sleep(0.35)
    await other.ledger._sync(want=0)
    assert other.quota.status().in_flight == 0
    for g in (crashed, other):
        await g.aclose()


# -- Redis unavailable ------------------------------------------------------------------------


async def test_unreachable_redis_raises_a_clear_error() -> None:
    gov = governance("redis://127.0.0.1:1/0")
    with pytest.raises(RedisUnavailableError, match="fallback='local'") as error:
        async with gov.attempt():
            pass
    assert isinstance(error.value, EsploroError)
    await gov.aclose()


async def test_redis_stopped_then_restarted_error_mode(
    redis_process: RedisServer, redis_url: str
) -> None:
    gov = governance(redis_url)
    await gov.rate.acquire()
    redis_process.stop()
    with pytest.raises(RedisUnavailableError):
        await gov.rate.acquire()
    redis_process.start()
    await gov.rate.acquire()  # back on Redis without a new governance
    await gov.aclose()


async def test_redis_stopped_mid_run_falls_back_then_returns(
    redis_process: RedisServer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "esploro_async.governance.redis")
    gw = gateway()
    govs = [governance(redis_url, fallback="local", fallback_rate=5.0) for _ in range(2)]

    async def outage() -> None:
        await asyncio.sleep(1.5)
        redis_process.stop()
        await asyncio.sleep(2.5)
        redis_process.start()

    async with gw.serve() as server:
        clients = [
            EsploroClient(api_key=SIM_API_KEY, base_url=server.url, governance=g) for g in govs
        ]
        task = asyncio.ensure_future(outage())
        await asyncio.gather(
            harvest(clients[0], range(0, 700, 10)), harvest(clients[1], range(700, 1400, 10))
        )
        await task
        for client in clients:
            await client.aclose()
    stats = [g.stats() for g in govs]
    for g in govs:
        await g.aclose()
    assert gw.counts_by_error_code()["PER_SECOND_THRESHOLD"] == 0
    assert gw.max_in_window(1.0) <= 25
    assert all(s["fallback"] > 0 for s in stats), stats
    messages = caplog.text
    assert "falling back" in messages
    assert "reachable again" in messages
    # after the restart the processes went back to Redis grants
    assert not any(g.gate.in_fallback for g in govs)


# -- configuration ----------------------------------------------------------------------------


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESPLORO_REDIS_URL", raising=False)
    monkeypatch.delenv("ESPLORO_INSTITUTION", raising=False)
    from esploro_async.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="ESPLORO_REDIS_URL"):
        RedisGovernance.from_env()
    monkeypatch.setenv("ESPLORO_REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(ConfigurationError, match="ESPLORO_INSTITUTION"):
        RedisGovernance.from_env()
    monkeypatch.setenv("ESPLORO_INSTITUTION", "01ENV_INST")
    gov = RedisGovernance.from_env(daily_reserve=10)
    assert gov.key_prefix == "esploro:{01ENV_INST}:"
    assert gov.ledger.reserve_floor == 10
    with pytest.raises(ConfigurationError):
        RedisGovernance("redis://x", institution="bad{tag}")
    with pytest.raises(ConfigurationError, match="fallback_rate"):
        RedisGovernance("redis://x", institution=INST, fallback_rate=25.0)


def test_works_without_redis_installed() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import esploro_async.governance.redis as m\n"
        "try:\n    m.RedisGovernance('redis://x', institution='I')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "pip install 'esploro-async[redis]'" in out


@pytest.mark.parametrize("retry_after", [float("inf"), float("nan"), -1.0])
async def test_a_broken_retry_after_never_stalls_the_other_processes(
    redis_url: str, retry_after: float
) -> None:
    first, second = governance(redis_url), governance(redis_url)
    try:
        async with first.attempt() as slot:  # inf raised OverflowError
            await slot.record(
                ResponseInfo(
                    status_code=429, error_code="PER_SECOND_THRESHOLD", retry_after=retry_after
                )
            )
        paused_until = first.rate.paused_until()
        assert paused_until is not None
        assert paused_until - asyncio.get_running_loop().time() <= first.gate.policy.pause
        # the ordinary pause, then the other process sends
        await asyncio.wait_for(second.rate.acquire(), timeout=5.0)
    finally:
        await first.aclose()
        await second.aclose()

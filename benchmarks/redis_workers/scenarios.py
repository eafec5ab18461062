"""The scenarios beyond the comparison, each on one Redis.

- `quota_scenario`: 4 processes end at a shared daily reserve;
- `restart_scenario`: ``redis-server`` killed (SIGKILL) and restarted mid-run;
- `priority_scenario`: 4 harvests and a 5th process of interactive requests.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.redis_workers.common import EFFECTIVE_RATE
from benchmarks.redis_workers.gateway import gateway_stats, start_gateway
from benchmarks.redis_workers.processes import run_workers, slices
from benchmarks.redis_workers.redis_server import (
    RedisServer,
    commands_per_request,
    commandstats,
    redis_command,
)
from esploro_async.testing import GatewayProcess


def _worker_cfg(gateway: GatewayProcess, redis: Any, offsets: list[int], **cfg: Any) -> Any:
    return {
        "base_url": gateway.url,
        "offsets": offsets,
        "limit": 10,
        "concurrency": 16,
        "redis_url": redis.url,
        "quiet": True,
        **cfg,
    }


def quota_scenario(runs: int, *, quota: int = 80, reserve: int = 50) -> list[dict[str, Any]]:
    """4 processes, ``quota`` left, a shared reserve of ``reserve``: where the gateway ends."""
    redis = RedisServer()
    rows = []
    try:
        for _ in range(runs):
            with start_gateway(quota_remaining=quota) as gateway:
                redis_command(redis.port, "FLUSHALL")
                configs = [
                    _worker_cfg(
                        gateway,
                        redis,
                        offsets,
                        governance={"daily_reserve": reserve},
                        stop_on_error=True,
                    )
                    for offsets in slices(4, 50, 10)
                ]
                results = run_workers(configs)
                stats = gateway_stats(gateway.fetch_log())
            rows.append(
                {
                    "sent": stats["requests"],
                    "quota_left": stats["quota_remaining"],
                    "daily_429": stats["daily_threshold"],
                    "refused": sum(r["errors"].get("DailyQuotaExhaustedError", 0) for r in results),
                }
            )
            print(f"  quota run: {rows[-1]}", flush=True)
    finally:
        redis.stop()
    return rows


def restart_scenario(runs: int, *, kills: int = 3, every: float = 2.0) -> list[dict[str, Any]]:
    """4 processes at full rate; ``redis-server`` killed (SIGKILL) and restarted ``kills`` times."""
    redis = RedisServer()
    rows = []
    try:
        with start_gateway() as gateway:
            for _ in range(runs):
                gateway.reset_log()
                redis_command(redis.port, "FLUSHALL")

                def outages(start_at: float) -> None:
                    for k in range(kills):
                        time.sleep(max(0.0, start_at + (k + 1) * every - time.time()))
                        redis.kill()
                        redis.start()

                per_process = round((kills + 1) * every * EFFECTIVE_RATE / 4) + 10
                configs = [
                    _worker_cfg(gateway, redis, offsets, fallback="local")
                    for offsets in slices(4, per_process, 10)
                ]
                results = run_workers(configs, during=outages)
                stats = gateway_stats(gateway.fetch_log())
                rows.append(
                    {
                        "sent": stats["requests"],
                        "throttled": stats["throttled"],
                        "max_arrivals": stats["max_arrivals"],
                        "errors": sum(sum(r["errors"].values()) for r in results),
                        "fallback_grants": sum(r["stats"].get("fallback", 0) for r in results),
                    }
                )
                print(f"  restart run: {rows[-1]}", flush=True)
    finally:
        redis.stop()
    return rows


def priority_scenario(
    *,
    interactive: int = 50,
    rate: float = 2.0,
    warm_up: float = 0.0,
    batch_horizon: float | None = None,
) -> dict[str, Any]:
    """4 processes harvesting (batch) + a 5th sending ``interactive`` requests (Poisson).

    ``warm_up``: seconds between one unmeasured request of the 5th process and its measured
    ones (0: measured from its very first request, the case of a web backend just started).
    ``batch_horizon``: passed to every process's `RedisGovernance` (default: its default).
    """
    tuning = {} if batch_horizon is None else {"batch_horizon": batch_horizon}
    redis = RedisServer()
    try:
        with start_gateway(researchers=20_000) as gateway:
            redis_command(redis.port, "FLUSHALL")
            redis_command(redis.port, "CONFIG", "RESETSTAT")
            span = 3.0 + interactive / rate + 3.0  # batch at full rate before and after
            per_process = round(span * EFFECTIVE_RATE / 4)
            configs = [
                _worker_cfg(gateway, redis, offsets, lane="batch", governance=tuning)
                for offsets in slices(4, per_process, 10)
            ]
            configs.append(
                _worker_cfg(
                    gateway,
                    redis,
                    [100_000 + 10 * i for i in range(interactive)],
                    interactive={"count": interactive, "rate": rate, "warm_up": warm_up},
                    delay=3.0,
                    governance=tuning,
                )
            )
            results = run_workers(configs, lead=6.0)  # every worker ready before any starts
            stats = gateway_stats(gateway.fetch_log())
            calls = commandstats(redis.port)
    finally:
        redis.stop()
    in_order: list[float] = results[-1]["waits"]
    waits = sorted(in_order)
    scripts, commands = commands_per_request(calls, stats["requests"])

    def pct(q: float) -> float:
        return waits[min(len(waits) - 1, round(q * (len(waits) - 1)))] * 1000

    return {
        "warm_up": warm_up,
        "batch_horizon": batch_horizon,
        "interactive": len(waits),
        "slow_at": [i for i, w in enumerate(in_order) if w > 0.1],
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "max_ms": waits[-1] * 1000,
        "over_100ms": sum(1 for w in waits if w > 0.1),
        "throttled": stats["throttled"],
        "max_arrivals": stats["max_arrivals"],
        "throughput": stats["throughput"],
        "scripts_per_request": scripts,
        "commands_per_request": commands,
        "errors": sum(sum(r["errors"].values()) for r in results),
    }

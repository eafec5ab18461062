"""The comparison: 4 processes on one Redis against 4 processes without it, side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchmarks.redis_workers.common import EFFECTIVE_RATE, RATE_LIMIT
from benchmarks.redis_workers.gateway import gateway_stats, start_gateway, steady_rate
from benchmarks.redis_workers.hand_split import HAND_SPLIT_RATE, hand_split_label
from benchmarks.redis_workers.processes import run_workers, slices
from benchmarks.redis_workers.redis_server import (
    ExternalRedis,
    RedisServer,
    commands_per_request,
    commandstats,
    redis_command,
)
from esploro_async.testing import GatewayProcess


def scenario(
    gateway: GatewayProcess,
    redis: RedisServer | ExternalRedis | None,
    *,
    processes: int,
    per_process: int,
    shift: float,
    limit: int = 10,
    concurrency: int = 16,
    quiet: bool = False,
    hand_split_rate: float = HAND_SPLIT_RATE,
    weights: Sequence[float] | None = None,
) -> dict[str, Any]:
    """One run: ``processes`` workers, the first with its clocks shifted by ``shift``.

    On ``redis``, the library's defaults; without, the hand-split baseline (`hand_split`):
    each worker at ``hand_split_rate`` requests per second, a 429 retried after Retry-After.
    ``weights`` shares the ``processes x per_process`` pages unevenly (`slices`).
    """
    gateway.reset_log()
    if redis is not None:
        redis_command(redis.port, "FLUSHALL")
        redis_command(redis.port, "CONFIG", "RESETSTAT")
    configs = []
    for i, offsets in enumerate(slices(processes, per_process, limit, weights)):
        cfg: dict[str, Any] = {
            "base_url": gateway.url,
            "offsets": offsets,
            "limit": limit,
            "concurrency": concurrency,
            "shift": shift if i == 0 else 0.0,
            "quiet": quiet,
        }
        if redis is not None:
            cfg["redis_url"] = redis.url
        else:
            # The margin as the library states it: the gateway's rate / (1 + margin).
            margin = RATE_LIMIT / (processes * hand_split_rate) - 1
            cfg["hand_split"] = {"rate": hand_split_rate, "margin": margin}
        configs.append(cfg)
    results = run_workers(configs)
    stats = gateway_stats(gateway.fetch_log())
    accepted = stats["accepted_times"]
    steady = steady_rate(accepted)
    scripts = commands = float("nan")
    if redis is not None:
        scripts, commands = commands_per_request(commandstats(redis.port), stats["requests"])
    return {
        "mode": "one Redis" if redis is not None else hand_split_label(hand_split_rate),
        "shift": shift,
        "requests": stats["requests"],
        "throttled": stats["throttled"],
        "max_in_window": stats["max_in_window"],
        "throughput": stats["throughput"],
        "sent_rate": stats["sent_rate"],
        "efficiency": stats["throughput"] / EFFECTIVE_RATE,
        "steady": steady,
        "steady_share": steady / RATE_LIMIT,
        "margin": max(r.get("margin", math.nan) for r in results),
        "scripts": scripts,
        "commands": commands,
        "per_process": [r["requests"] for r in results],
        "errors": sum(sum(r["errors"].values()) for r in results),
        "error_kinds": sorted({k for r in results for k in r["errors"]}),
        "accepted_times": accepted,
    }


def targets(row: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """The one-Redis targets for ``row``: (label, PASS?, measured value)."""
    return [
        ("0 x 429", row["throttled"] == 0, f"{row['throttled']}"),
        ("max/1s <= 25", row["max_in_window"] <= 25, f"{row['max_in_window']}"),
        (
            f"steady >= 94% of {RATE_LIMIT:.0f} req/s ({0.94 * RATE_LIMIT:.1f})",
            row["steady_share"] >= 0.94,
            "no steady window (run too short)"
            if math.isnan(row["steady"])
            else f"{row['steady']:.1f} req/s ({row['steady_share']:.1%})",
        ),
        ("< 4 Redis commands per request", row["commands"] < 4, f"{row['commands']:.2f}"),
    ]


def bench(
    *,
    per_process: int,
    plan: Sequence[tuple[bool, float]] = ((True, 0.0), (False, 0.0)),
    redis_url: str | None = None,
    latency: str = "0.2:0.8",
    up_fraction: float = 0.02,
    researchers: int = 2000,
    progress: bool = True,
    quiet: bool = True,
    hand_split_rate: float = HAND_SPLIT_RATE,
    weights: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    """Run each ``(use_redis, skew)`` of ``plan`` with 4 processes; one row per run.

    Starts (and always stops) a ``redis-server`` unless ``redis_url`` is given, and a
    gateway process shared by the runs (its log is reset between them). ``quiet``
    silences the workers' per-429 warnings; ``weights`` (4 of them) shares the pages
    unevenly among the processes.
    """
    redis: RedisServer | ExternalRedis
    redis = ExternalRedis(redis_url) if redis_url else RedisServer()
    rows = []
    try:
        with start_gateway(
            latency=latency,
            researchers=max(researchers, 4 * per_process * 10),
            up_fraction=up_fraction,
        ) as gateway:
            for use_redis, shift in plan:
                row = scenario(
                    gateway,
                    redis if use_redis else None,
                    processes=4,
                    per_process=per_process,
                    shift=shift,
                    quiet=quiet,
                    hand_split_rate=hand_split_rate,
                    weights=weights,
                )
                rows.append(row)
                if progress:
                    print(
                        f"  {row['mode']}, skew {shift * 1000:+.0f} ms: "
                        f"{row['throttled']} x 429, max {row['max_in_window']}/s, "
                        f"{row['throughput']:.1f} req/s",
                        flush=True,
                    )
    finally:
        if not redis_url:
            redis.stop()
    return rows


def vs_baseline(row: dict[str, Any], rows: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """``row``'s accepted and steady req/s over those of the hand-split row without skew
    among ``rows`` (NaN without one)."""
    base = next((r for r in rows if r["mode"] != "one Redis" and r["shift"] == 0), None)
    if base is None or not base["throughput"]:
        return math.nan, math.nan
    return row["throughput"] / base["throughput"], row["steady"] / base["steady"]


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    """The side-by-side table, then each one-Redis row against the hand-split baseline."""
    head = (
        f"{'4 processes':<16} {'skew':>6} {'reqs':>5} {'429s':>5} {'max/1s':>6} "
        f"{'sent/s':>6} {'ok/s':>6} {'vs 22.7':>7} {'steady':>6} {'of 25':>6} {'margin':>6} "
        f"{'scripts/req':>11} {'cmds/req':>8} {'errors':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['mode']:<16} {r['shift'] * 1000:>+5.0f}ms {r['requests']:>5} "
            f"{r['throttled']:>5} {r['max_in_window']:>6} {r['sent_rate']:>6.1f} "
            f"{r['throughput']:>6.1f} "
            f"{r['efficiency']:>7.0%} {r['steady']:>6.1f} {r['steady_share']:>6.1%} "
            f"{r['margin']:>6.3f} {r['scripts']:>11.2f} {r['commands']:>8.2f} "
            f"{r['errors']:>6}"
        )
    for r in rows:
        if r["mode"] == "one Redis":
            whole, steady = vs_baseline(r, rows)
            if not math.isnan(whole):
                print(
                    f"one Redis, skew {r['shift'] * 1000:+.0f} ms, against the hand-split "
                    f"baseline: accepted req/s x{whole:.3f}, steady x{steady:.3f}"
                )

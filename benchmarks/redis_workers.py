"""Many OS processes, one institution: `RedisGovernance` against in-process limiters.

Starts a ``redis-server`` on a free loopback port (or uses ``--redis-url``), serves the
simulated gateway in a separate process on loopback, then runs 4 worker processes that
each harvest a disjoint slice of ``/researchers`` (``offset``/``limit`` pages), all
starting at the same instant. For every scenario it reports, from the *gateway's* log:
429s, the most accepted arrivals in any sliding second, aggregate throughput against the
configured effective rate, and Redis commands per request (``INFO commandstats`` after
``CONFIG RESETSTAT``). Scenarios: 4 processes on one Redis; 4 processes with in-process
limiters only; and both again with one process's clocks (``time.time``, ``time.monotonic``
and so the event loop's clock) shifted by +250 ms and -250 ms.

    .venv/bin/python -m benchmarks.redis_workers            # full (~3 min)
    .venv/bin/python -m benchmarks.redis_workers --quick    # under 1 min
    .venv/bin/python -m benchmarks.redis_workers --no-skew --per-process 300  # longer, 2 rows

Throughput is given twice: over the whole run (first to last accepted arrival), and in the
steady window (`steady_rate`: the run less its first 5 s, while the processes start and the
automatic margin narrows, and its last 2 s, while they finish one by one).

Targets (printed as PASS/MISS for the one-Redis rows, never asserted): 0 x 429, at most
25 accepted arrivals in any sliding second, a steady aggregate >= 94 % of the gateway's 25
requests per second, fewer than 4 Redis commands per request (about 2 per grant, more with
the 0.1 s batch_horizon).

``bench()`` is what ``python -m benchmarks`` calls. Every child (``redis-server``, the
gateway, the workers) is stopped on the way out, Ctrl-C included, and asked by the
kernel to exit should this process die without cleaning up.

The same module is the worker entry point used by ``tests/redis``::

    python -m benchmarks.redis_workers worker '{"base_url": ..., "offsets": [...], ...}'

The gateway is `esploro_async.testing.GatewayProcess`: the simulator in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import math
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from esploro_async.testing import GatewayLog, GatewayProcess, Latency, max_in_window
from esploro_async.testing.process import die_with_parent
from esploro_async.testing.redis_server import RedisServer as SharedRedisServer

ROOT = Path(__file__).resolve().parent.parent
EFFECTIVE_RATE = 25.0 / 1.10
RATE_LIMIT = 25.0
# The steady window: the run less its first seconds (the processes start together and the
# automatic margin narrows from 0.10 once the institution's arrival order is read) and its
# last ones (the workers finish one by one).
STEADY_SKIP = (5.0, 2.0)
INSTITUTION = "01BENCH_INST"


# -- clock shifting (worker side) ------------------------------------------------------------


def shift_clocks(seconds: float) -> None:
    """Shift this process's wall and monotonic clocks (and so asyncio's loop clock)."""
    real_time, real_time_ns = time.time, time.time_ns
    real_mono, real_mono_ns = time.monotonic, time.monotonic_ns
    offset_ns = round(seconds * 1e9)
    time.time = lambda: real_time() + seconds
    time.time_ns = lambda: real_time_ns() + offset_ns
    time.monotonic = lambda: real_mono() + seconds
    time.monotonic_ns = lambda: real_mono_ns() + offset_ns


# -- worker -----------------------------------------------------------------------------------


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

    ``"quiet": true`` silences the library's warnings (one per 429, on stderr).
    """
    if cfg.get("quiet"):
        logging.getLogger("esploro_async").setLevel(logging.ERROR)
    real_time = time.time
    if cfg.get("shift"):
        shift_clocks(float(cfg["shift"]))
    result = asyncio.run(_harvest(cfg, real_time))
    print(json.dumps(result), flush=True)


# -- gateway process ----------------------------------------------------------------------------


def gateway_stats(gateway_log: GatewayLog) -> dict[str, Any]:
    """What the gateway saw: 429s, max accepted per sliding second, throughput."""
    log = [r for r in gateway_log.arrivals if r.error_code != "UNAUTHORIZED"]  # not warm-ups
    accepted = sorted(r.arrival for r in log if r.accepted)  # accepted ones all arrived
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    arrivals = sorted(r.arrival for r in log)
    sent_span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    sent = [r.arrival for r in log if r.arrived]
    return {
        "requests": len(log),
        "accepted": len(accepted),
        "max_arrivals": max_in_window(sent),
        "daily_threshold": sum(1 for r in log if r.error_code == "DAILY_THRESHOLD"),
        "throttled": sum(1 for r in log if r.error_code == "PER_SECOND_THRESHOLD"),
        "max_in_window": max_in_window(accepted, 1.0),
        "accepted_times": accepted,
        "throughput": (len(accepted) - 1) / span if span > 0 else 0.0,
        "sent_rate": (len(arrivals) - 1) / sent_span if sent_span > 0 else 0.0,
        "quota_remaining": gateway_log.quota_remaining,
    }


def start_gateway(
    *,
    latency: str = "0.2:0.8",
    researchers: int = 2000,
    up_fraction: float = 0.02,
    quota_remaining: int | None = None,
) -> GatewayProcess:
    """The simulated gateway of the scenarios, in a child process (enter it to start it)."""
    low, _, high = latency.partition(":")
    return GatewayProcess(
        researchers=researchers,
        assets=10,
        latency=Latency.uniform(float(low), float(high or low)),
        up_fraction=up_fraction,
        quota_remaining=quota_remaining,
        start=dt.datetime.now(dt.timezone.utc),
    )


# -- redis-server -----------------------------------------------------------------------------


class RedisServer(SharedRedisServer):
    """A throw-away ``redis-server``, started at once, that dies with this process."""

    def __init__(self) -> None:
        super().__init__(preexec_fn=die_with_parent)
        self.start()


class ExternalRedis:
    """A Redis the caller runs (``--redis-url``): used as it is, never stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        """Nothing to stop."""


def redis_command(port: int, *args: str) -> str:
    """Run one command with a short-lived connection (RESP, minimal parser)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        s.sendall(payload.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            data += chunk
            if data.startswith((b"+", b"-", b":")) and data.endswith(b"\r\n"):
                return data[1:-2].decode()
            if data.startswith(b"$"):
                head, _, rest = data.partition(b"\r\n")
                size = int(head[1:])
                if size < 0:
                    return ""
                if len(rest) >= size + 2:
                    return rest[:size].decode()
            if not chunk:
                return data.decode()


def commandstats(port: int) -> dict[str, int]:
    """Calls per command since the last ``CONFIG RESETSTAT``."""
    calls: dict[str, int] = {}
    for line in redis_command(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, fields = line.partition(":")
            calls[name[8:]] = int(fields.split(",")[0].split("=")[1])
    return calls


# Commands the Lua scripts run: commandstats counts them too, but they are no round trips.
_IN_SCRIPTS = {"time", "hmget", "hset", "pexpire", "publish", "zrangebyscore", "hdel"}
_IN_SCRIPTS |= {"zremrangebyscore", "get", "set", "hgetall", "zadd", "zrem"}
_IN_SCRIPTS |= {"hincrby", "exists", "zcard", "incr", "del", "lrange", "rpush", "ltrim"}


def steady_rate(accepted: Sequence[float], skip: tuple[float, float] = STEADY_SKIP) -> float:
    """Accepted arrivals per second from ``skip[0]`` s after the first to ``skip[1]`` s
    before the last (NaN when the run is too short to have such a window)."""
    if len(accepted) < 2:
        return math.nan
    low, high = accepted[0] + skip[0], accepted[-1] - skip[1]
    inside = [t for t in accepted if low <= t <= high]
    if high - low < 5.0 or len(inside) < 2:
        return math.nan
    return (len(inside) - 1) / (inside[-1] - inside[0])


def commands_per_request(calls: dict[str, int], requests: int) -> tuple[float, float]:
    """(script calls, all client commands but INFO/CONFIG/PING/FLUSHALL) per request."""
    scripts = calls.get("evalsha", 0) + calls.get("eval", 0)
    other = sum(
        v
        for k, v in calls.items()
        if k not in _IN_SCRIPTS and not k.startswith(("info", "config", "ping", "flushall"))
    )
    return scripts / max(1, requests), other / max(1, requests)


# -- scenarios --------------------------------------------------------------------------------


def run_workers(
    configs: Sequence[dict[str, Any]],
    timeout: float = 600,
    during: Callable[[float], object] | None = None,
    lead: float = 2.0,
) -> list[dict[str, Any]]:
    """Start one worker process per config at the same instant; return their results.

    ``during(start_at)`` runs while they work (e.g. to kill Redis), ``start_at`` being
    the ``time.time()`` they start at; a config's ``delay`` starts that worker later.
    """
    start_at = time.time() + lead  # time to import and connect
    procs: list[subprocess.Popen[str]] = []
    try:
        for cfg in configs:
            payload = json.dumps({**cfg, "start_at": start_at + cfg.get("delay", 0.0)})
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.redis_workers", "worker", payload],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                    preexec_fn=die_with_parent,
                )
            )
        if during is not None:
            during(start_at)
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"worker failed with exit code {proc.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:  # an error, a timeout or Ctrl-C: no worker outlives the run
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def slices(processes: int, per_process: int, limit: int) -> Iterator[list[int]]:
    """Disjoint offset ranges, one per process."""
    for p in range(processes):
        yield [(p * per_process + i) * limit for i in range(per_process)]


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
) -> dict[str, Any]:
    """One run: ``processes`` workers, the first with its clocks shifted by ``shift``."""
    gateway.reset_log()
    if redis is not None:
        redis_command(redis.port, "FLUSHALL")
        redis_command(redis.port, "CONFIG", "RESETSTAT")
    configs = []
    for i, offsets in enumerate(slices(processes, per_process, limit)):
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
        configs.append(cfg)
    results = run_workers(configs)
    stats = gateway_stats(gateway.fetch_log())
    accepted = stats["accepted_times"]
    steady = steady_rate(accepted)
    scripts = commands = float("nan")
    if redis is not None:
        scripts, commands = commands_per_request(commandstats(redis.port), stats["requests"])
    return {
        "mode": "one Redis" if redis is not None else "in-process only",
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
) -> list[dict[str, Any]]:
    """Run each ``(use_redis, skew)`` of ``plan`` with 4 processes; one row per run.

    Starts (and always stops) a ``redis-server`` unless ``redis_url`` is given, and a
    gateway process shared by the runs (its log is reset between them). ``quiet``
    silences the workers' per-429 warnings.
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


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    """The side-by-side table."""
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


def _scenario(args: argparse.Namespace) -> int:
    runs = args.runs or (3 if args.quick else 10)
    if args.scenario == "quota":
        rows = quota_scenario(runs)
        exact = sum(1 for r in rows if abs(r["quota_left"] - 50) <= 1 and r["daily_429"] == 0)
        print(f"quota: {exact}/{len(rows)} runs ended at the reserve of 50 (+-1) with no 429")
    elif args.scenario == "restart":
        rows = restart_scenario(runs)
        ok = sum(1 for r in rows if r["throttled"] == 0 and r["max_arrivals"] <= 25)
        print(f"restart: {ok}/{len(rows)} runs with 0 x 429 and <= 25 arrivals in any second")
    else:
        # From the interactive process's first request and after a warm-up request, at the
        # default batch_horizon (0.1 s) and at 1.0 s (the earlier default), side by side:
        # the goal is p95 <= 100 ms from the first request.
        for warm_up, batch_horizon in ((0.0, None), (0.0, 1.0), (1.5, None)):
            row = priority_scenario(
                interactive=50, rate=2.0, warm_up=warm_up, batch_horizon=batch_horizon
            )
            print(json.dumps(row), flush=True)
    return 0


def _plan(*, quick: bool, skew: bool) -> list[tuple[bool, float]]:
    """The (use Redis, clock skew) rows of a comparison."""
    plan: list[tuple[bool, float]] = [(True, 0.0), (False, 0.0)]
    if skew:
        plan += [(True, 0.25), (True, -0.25)]
        if not quick:
            plan += [(False, 0.25), (False, -0.25)]
    return plan


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``[--quick]``, or the ``worker``/``gateway`` sub-commands."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        worker_main(json.loads(argv[1]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_workers")
    parser.add_argument("command", nargs="?", default="bench", choices=["bench"])
    parser.add_argument("--quick", action="store_true", help="smaller runs, under 1 minute")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one (FLUSHALL!)")
    parser.add_argument("--latency", default="0.2:0.8", help="uniform LOW:HIGH seconds")
    parser.add_argument("--up-fraction", type=float, default=0.02)
    parser.add_argument("--researchers", type=int, default=2000)
    parser.add_argument(
        "--scenario",
        choices=["compare", "quota", "restart", "priority"],
        default="compare",
        help="compare: Redis vs in-process (default); quota: 4 processes end at a shared "
        "reserve; restart: kill -9 + restart of redis-server mid-run; priority: 4 harvests "
        "and a 5th process of interactive requests",
    )
    parser.add_argument("--runs", type=int, help="repetitions (quota, restart)")
    parser.add_argument("--per-process", type=int, help="requests per process (compare)")
    parser.add_argument(
        "--no-skew", action="store_true", help="compare without the clock-skew rows"
    )
    args = parser.parse_args(argv)
    if args.scenario != "compare":
        return _scenario(args)
    per_process = args.per_process or (40 if args.quick else 150)
    print(
        f"4 processes x {per_process} requests, latency U({args.latency}) s "
        f"({args.up_fraction:.0%} of it before arrival), effective rate {EFFECTIVE_RATE:.1f}/s",
        flush=True,
    )
    plan = _plan(quick=args.quick, skew=not args.no_skew)
    try:
        rows = bench(
            per_process=per_process,
            plan=plan,
            redis_url=args.redis_url,
            latency=args.latency,
            up_fraction=args.up_fraction,
            researchers=args.researchers,
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print()
    print_table(rows)
    for row in rows:
        if row["mode"] == "one Redis":
            for label, ok, value in targets(row):
                verdict = "PASS" if ok else "MISS"
                print(f"(one Redis, {row['shift'] * 1000:+.0f} ms) {verdict}  {label}: {value}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())

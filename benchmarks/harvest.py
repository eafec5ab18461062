"""Harvest every researcher from a simulated gateway over loopback HTTP, several ways.

The simulated gateway (25 requests per sliding second, 0.2-0.8 s uniform latency) runs
in its own process, a fresh one for each strategy (fresh log, window and port); the
per-second figures come from the gateway's own arrival log. Each strategy's client runs
in a fresh process too, so that its peak RSS (``VmHWM``) is its own. Strategies, run one
after the other in the same invocation so that machine noise hits them alike:

  a  esploro-async, a fixed safety_margin=0.10 (22.7 req/s; the default before "auto")
  b  esploro-async, safety_margin=0.02 (24.5 req/s)
  c  plain httpx, one page after the other (what most Esploro scripts do)
  d  plain httpx, asyncio.gather over all pages behind aiolimiter.AsyncLimiter(25, 1);
     a 429 fails the page, which is retried once after 1 s; pages failing twice are lost
  e  (optional) esploro-async, safety_margin=0.30 (19.2 req/s): a margin that covers a
     0.3 s spread of send-to-arrival delay (``--up-fraction 0.5``)
  f  plain httpx, asyncio.gather over all pages with no limiter (httpx's default pool of
     100 connections is the only bound); the same retry-once rule as d
  g  esploro-async with its defaults: safety_margin="auto" (starts at 0.10, follows the
     order in which the gateway counted the requests)
  h  the competent hand-written client: plain httpx, asyncio.gather over all pages behind
     aiolimiter.AsyncLimiter(1, 1/24.5) (one request every 40.8 ms); a 429 is retried
     after its Retry-After (default 1 s), up to 10 times

``--foreign-rate 5`` adds another integration sending 5 req/s (Poisson) into the same
per-second window: the library adapts (pause, then a lower rate), the others do not.

The latency is mostly the gateway's own processing time: by default 2 % of it (4-16 ms)
passes before a request reaches the gateway, as on a short network path. ``--up-fraction
0.5`` puts half of it before arrival (a 0.3 s spread of send-to-arrival delay), which a
client can only absorb with ``safety_margin`` >= 0.3: the margin must cover that spread.

    python -m benchmarks.harvest [--quick] [--researchers 20000] [--strategies abcdfgh]
                                 [--up-fraction 0.02] [--foreign-rate 0] [--markdown PATH]
                                 [--latency 0.2:0.8] [--virtual]

``--virtual`` runs the same gateway in process through its httpx transport on a virtual
clock (``looptime``): deterministic rates in seconds of CPU, no CPU or memory figures.

``--quick`` harvests 4,000 researchers (40 pages; about 40 s, most of it strategy c).

Nothing is asserted: the targets for the library (0 429s, at most 25 accepted arrivals
in any second, every record exactly once, steady rate >= 95 % of the configured
effective rate) are printed as PASS/MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from aiolimiter import AsyncLimiter

from benchmarks._process import (
    GatewayLog,
    GatewaySpec,
    max_in_window,
    read_peak_rss,
    read_rss,
    run_in_child,
)
from esploro_async import EsploroClient
from esploro_async.testing import SIM_API_KEY

PATH = "/esploro/v1/researchers"
PAGE = 100
RATE_LIMIT = 25
Transport = httpx.AsyncBaseTransport | None
COMPETENT_RATE = 24.5
#: Records per second at the gateway's ceiling: 25 requests of 100 records.
PHYSICAL = RATE_LIMIT * PAGE
#: The library's rows (the targets apply to them).
LIBRARY = ("a", "b", "e", "g")
HEADERS = {"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"}


@dataclass
class Outcome:
    """What one strategy got, client-side."""

    ids: list[str | None] = field(default_factory=list)
    failed_pages: int = 0  # pages that got a 429 at least once (naive strategies)
    lost_pages: int = 0  # pages given up on
    ref_rate: float = float(RATE_LIMIT)  # the rate the strategy is configured for
    in_flight: list[int] = field(default_factory=list)  # library: sampled every 0.1 s
    waiting: list[int] = field(default_factory=list)


@dataclass
class Result:
    """One strategy's row: client outcome, gateway log, timings."""

    key: str
    name: str
    outcome: Outcome
    log: GatewayLog
    wall: float
    client_cpu: float
    expected: int
    start_rss: int = 0  # client process RSS before the strategy started, bytes
    peak_rss: int = 0  # client process peak RSS (VmHWM) at the end, bytes

    @property
    def library(self) -> bool:
        """Whether this row is esploro-async (the targets apply)."""
        return self.key in LIBRARY

    @property
    def accepted(self) -> int:
        """Requests the gateway accepted."""
        return len(self.log.accepted_times)

    @property
    def rate(self) -> float:
        """Accepted requests per second of wall time."""
        return self.accepted / self.wall if self.wall > 0 else 0.0

    @property
    def steady(self) -> float:
        """Accepted rate from the second accepted arrival to the last one."""
        times = self.log.accepted_times[1:]
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    @property
    def throttled(self) -> int:
        """HTTP 429 responses in the gateway's log."""
        return self.log.count_status(429)

    @property
    def max_1s(self) -> int:
        """Most arrivals in any sliding second, the ones refused with a 429 included."""
        return max_in_window(self.log.counted_times, 1.0)

    @property
    def records(self) -> int:
        """Records handed to the caller."""
        return len(self.outcome.ids)

    @property
    def unique(self) -> int:
        """Distinct record ids handed to the caller."""
        return len(set(self.outcome.ids))

    @property
    def goodput(self) -> float:
        """Distinct records handed to the caller per second of wall time (the whole run)."""
        return self.unique / self.wall if self.wall > 0 else 0.0

    @property
    def lost(self) -> int:
        """Records expected but never handed out."""
        return max(0, self.expected - self.unique)

    def targets(self) -> list[tuple[str, bool]]:
        """The library's targets, with PASS (True) or MISS."""
        ref = self.outcome.ref_rate
        return [
            ("0 x 429", self.throttled == 0),
            (f"max/1s <= {RATE_LIMIT}", self.max_1s <= RATE_LIMIT),
            (
                f"records = unique = {self.expected}",
                self.records == self.unique == self.expected,
            ),
            (
                f"steady >= 95% of {ref:.1f} ({0.95 * ref:.1f})",
                self.steady >= 0.95 * ref,
            ),
        ]


# -- strategies ---------------------------------------------------------------------------


async def library(
    url: str, margin: float | Literal["auto"] | None, transport: Transport = None
) -> Outcome:
    """esploro-async: ``client.researchers.list()`` with the given safety margin (None: default)."""
    out = Outcome()
    # The gateway's log counts every 429; one warning per 429 on stderr would only repeat it.
    logging.getLogger("esploro_async.governance").setLevel(logging.ERROR)
    options: dict[str, Any] = {} if margin is None else {"safety_margin": margin}
    async with EsploroClient(SIM_API_KEY, base_url=url, transport=transport, **options) as client:
        out.ref_rate = client.governance.snapshot().effective_rate

        async def watch() -> None:
            while True:
                snap = client.governance.snapshot()
                out.in_flight.append(snap.in_flight)
                out.waiting.append(snap.waiting)
                await asyncio.sleep(0.1)

        watcher = asyncio.ensure_future(watch())
        try:
            async for researcher in client.researchers.list():
                out.ids.append(researcher.primary_id)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        if margin in ("auto", None):  # the rate it settled at, not the one it started from
            out.ref_rate = client.governance.snapshot().effective_rate
    return out


def _page_ids(response: httpx.Response) -> tuple[list[str | None], int]:
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    users = data.get("user") or []
    if isinstance(users, dict):
        users = [users]
    return [u.get("primary_id") for u in users], int(data.get("total_record_count") or 0)


async def sequential(url: str, transport: Transport = None) -> Outcome:
    """Plain httpx: one request per round trip, offset after offset."""
    out = Outcome()
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, timeout=30.0, transport=transport
    ) as http:
        offset, total = 0, 1
        while offset < total:
            response = await http.get(PATH, params={"limit": PAGE, "offset": offset})
            if response.status_code == 429:  # never expected at one request per round trip
                out.failed_pages += 1
                await asyncio.sleep(1.0)
                continue
            ids, total = _page_ids(response)
            out.ids += ids
            offset += PAGE
    return out


async def gathered(url: str, limited: bool = True, transport: Transport = None) -> Outcome:
    """Plain httpx: first page, then ``asyncio.gather`` over the rest.

    With ``limited`` every request goes through ``aiolimiter.AsyncLimiter(25, 1)``;
    without, nothing but httpx's connection pool (100 connections) bounds the burst.
    """
    out = Outcome()
    limiter = AsyncLimiter(RATE_LIMIT, 1) if limited else None
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, timeout=60.0, transport=transport
    ) as http:

        async def get(offset: int) -> httpx.Response:
            if limiter is None:
                return await http.get(PATH, params={"limit": PAGE, "offset": offset})
            async with limiter:
                return await http.get(PATH, params={"limit": PAGE, "offset": offset})

        async def page(offset: int) -> list[str | None]:
            response = await get(offset)
            if response.status_code == 429:
                out.failed_pages += 1
                await asyncio.sleep(1.0)
                response = await get(offset)
                if response.status_code == 429:
                    out.lost_pages += 1
                    return []
            return _page_ids(response)[0]

        first, total = _page_ids(await get(0))
        out.ids += first
        for ids in await asyncio.gather(*(page(o) for o in range(PAGE, total, PAGE))):
            out.ids += ids
    return out


async def competent(
    url: str, transport: Transport = None, rate: float = COMPETENT_RATE, attempts: int = 10
) -> Outcome:
    """Plain httpx done well: first page, then ``asyncio.gather`` behind a spacing limiter.

    ``AsyncLimiter(1, 1 / rate)`` sends one request every ``1 / rate`` seconds; a 429 is
    retried after its ``Retry-After`` (1 s when absent), up to ``attempts`` times in all.
    """
    out = Outcome(ref_rate=rate)
    limiter = AsyncLimiter(1, 1 / rate)
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, timeout=60.0, transport=transport
    ) as http:

        async def page(offset: int) -> tuple[list[str | None], int]:
            for attempt in range(attempts):
                async with limiter:
                    response = await http.get(PATH, params={"limit": PAGE, "offset": offset})
                if response.status_code != 429:
                    return _page_ids(response)
                out.failed_pages += attempt == 0
                await asyncio.sleep(float(response.headers.get("Retry-After") or 1.0))
            out.lost_pages += 1
            return [], 0

        first, total = await page(0)
        out.ids += first
        for ids, _ in await asyncio.gather(*(page(o) for o in range(PAGE, total, PAGE))):
            out.ids += ids
    return out


Strategy = Callable[[str, Transport], Coroutine[Any, Any, Outcome]]

STRATEGIES: dict[str, tuple[str, Strategy]] = {
    "a": ("esploro-async fixed margin 0.10", lambda url, t: library(url, 0.10, t)),
    "b": ("esploro-async margin 0.02", lambda url, t: library(url, 0.02, t)),
    "c": ("httpx sequential", sequential),
    "d": ("httpx gather+aiolimiter", lambda url, t: gathered(url, True, t)),
    "e": ("esploro-async margin 0.30", lambda url, t: library(url, 0.30, t)),
    "f": ("httpx gather, no limiter", lambda url, t: gathered(url, False, t)),
    "g": ('esploro-async defaults (margin "auto")', lambda url, t: library(url, None, t)),
    "h": ("httpx gather+AsyncLimiter(1, 1/24.5), retry 429", competent),
    # The fixed margins the throughput targets need (`benchmarks.margin_need`).
    "i": ("esploro-async margin 0.035", lambda url, t: library(url, 0.035, t)),
    "j": ("esploro-async margin 0.042", lambda url, t: library(url, 0.042, t)),
}


def client_run(key: str, url: str) -> tuple[Outcome, float, float, int, int]:
    """Run strategy ``key`` against ``url`` in this process.

    Returns the outcome, wall seconds, CPU seconds, RSS before and peak RSS after.
    """
    strategy = STRATEGIES[key][1]
    start_rss = read_rss()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    outcome = asyncio.run(strategy(url, None))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return outcome, wall, cpu, start_rss, read_peak_rss()


def run_strategy(key: str, spec: GatewaySpec, *, isolate: bool = True) -> Result:
    """Run one strategy against a fresh gateway process and collect its row.

    With ``isolate`` (the default) the client runs in a fresh process of its own, so
    that the peak RSS is this strategy's alone; otherwise in this process.
    """
    name = STRATEGIES[key][0]
    with spec.process() as gateway:
        if isolate:
            run = run_in_child(client_run, key, gateway.url)
        else:
            run = client_run(key, gateway.url)
        log = gateway.stop()
    outcome, wall, cpu, start_rss, peak_rss = run
    return Result(key, name, outcome, log, wall, cpu, spec.researchers, start_rss, peak_rss)


def virtual_run(key: str, spec: GatewaySpec) -> Result:
    """Run strategy ``key`` in virtual time against an in-process simulated gateway.

    The same gateway as `run_strategy`'s, reached through its httpx transport (no sockets)
    on a ``looptime`` event loop: a run of seconds takes a fraction of the CPU, and the
    same seed gives the same numbers on any machine. Wall time is virtual; CPU and memory
    are not measured (the simulator shares the process); httpx applies no pool limit to a
    custom transport, so (f) is not bounded by 100 connections here.
    """
    try:
        import looptime
    except ImportError:  # pragma: no cover - a test dependency
        raise SystemExit("--virtual needs looptime: pip install 'looptime>=0.9'") from None
    from esploro_async.testing import Latency, SimulatedGateway, SyntheticInstitution

    gw = SimulatedGateway(
        SyntheticInstitution(spec.seed, researchers=spec.researchers),
        latency=Latency.parse(spec.latency),
        rate_limit=spec.rate_limit,
        up_fraction=spec.up_fraction,
        foreign_rate=spec.foreign_rate,
        remaining_header=spec.remaining_header,  # type: ignore[arg-type]
        seed=spec.seed,
    )
    name, strategy = STRATEGIES[key]

    async def timed() -> tuple[Outcome, float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        outcome = await strategy("http://esploro.localhost", gw.transport())
        return outcome, loop.time() - t0

    loop = looptime.new_event_loop(start=0)
    try:
        outcome, wall = loop.run_until_complete(timed())
    finally:
        loop.close()
    log = GatewayLog(list(gw.log), 0.0, gw.quota_remaining)
    return Result(key, name, outcome, log, wall, 0.0, spec.researchers)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen strategies and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="4,000 researchers (40 pages)")
    parser.add_argument("--researchers", type=int, default=None, help="default 20000")
    parser.add_argument("--latency", default="0.2:0.8", help="gateway latency (CLI syntax)")
    parser.add_argument(
        "--up-fraction",
        type=float,
        default=0.02,
        help="part of the latency before the request reaches the gateway (0.02: arrivals lag "
        "sends by 4-16 ms; 0.5: by 0.1-0.4 s, a 0.3 s jitter spread)",
    )
    parser.add_argument(
        "--foreign-rate", type=float, default=0.0, help="another integration's req/s"
    )
    parser.add_argument(
        "--remaining-header",
        choices=("arrival", "departure", "none"),
        default="arrival",
        help="when the gateway writes X-Exl-Api-Remaining: as it counts a request, as the "
        "response leaves, or never",
    )
    parser.add_argument("--strategies", default="abcdfgh", help="any of a to h")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--virtual",
        action="store_true",
        help="in process, in virtual time (looptime): deterministic rates, no CPU or memory",
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    args = parser.parse_args(argv)
    n = args.researchers or (4_000 if args.quick else 20_000)
    spec = GatewaySpec(
        researchers=n,
        latency=args.latency,
        rate_limit=RATE_LIMIT,
        seed=args.seed,
        up_fraction=args.up_fraction,
        foreign_rate=args.foreign_rate,
        remaining_header=args.remaining_header,
    )
    keys = [k for k in args.strategies if k in STRATEGIES]
    if args.virtual and "d" in keys:
        # AsyncLimiter(25, 1) with ~200 waiters never finishes on looptime's clock.
        print("(d) does not run in virtual time; run it over loopback", file=sys.stderr)
        keys.remove("d")
    results = []
    try:
        for key in keys:
            print(f"running ({key}) {STRATEGIES[key][0]} ...", file=sys.stderr, flush=True)
            results.append(virtual_run(key, spec) if args.virtual else run_strategy(key, spec))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    from benchmarks.harvest_report import report  # it imports this module

    print(report(results, args, spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())

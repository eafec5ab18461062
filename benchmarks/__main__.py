"""Run every benchmark scenario side by side in one run and write the report.

    python -m benchmarks                 # full run (about 15 min): writes benchmarks/RESULTS.md,
                                         # benchmarks/throughput.png, benchmarks/memory.png
    python -m benchmarks --quick         # smoke run (about 3 min), into a temporary directory
    python -m benchmarks --quick --out DIR
    python -m benchmarks --scenarios harvest,overhead

Scenarios, in this order (all against the simulated gateway served on loopback by a process
of its own, except the overhead one which uses an in-process transport, and margin and
frontier, which run in virtual time):

  margin    the defaults, the fixed margin 0.10 and the hand-written client under zero, 50 ms
            and 0.3 s of jitter, over 20,000 and 200,000 records, with X-Exl-Api-Remaining
            written at arrival, at departure or not at all (``benchmarks.margin``)
  harvest   20,000 researchers, 0.2-0.8 s latency, 2 % of it before arrival (a 12 ms spread
            of send-to-arrival delay): esploro-async (margins 0.10, 0.02 and "auto"), the
            competent hand-written client (asyncio.gather behind AsyncLimiter(1, 1/24.5),
            429s retried), a sequential httpx page loop, asyncio.gather behind
            AsyncLimiter(25, 1), asyncio.gather with no limiter (see ``benchmarks.harvest``)
  spread    the same with half the latency before arrival: a 0.3 s spread
  steady    steady round trips, 0.30-0.32 s (half before arrival): where "auto" narrows
  slow      1-3 s latency (2 % before arrival): the in-flight requests the rate needs
  foreign   the first one while another integration sends 5 req/s into the same window
  redis     4 processes on one Redis vs 4 processes without it, the budget split by hand
            (6 req/s each, 429s retried) (``benchmarks.redis_workers``; needs
            ``redis-server``, else skipped)
  overhead  added cost per request over raw httpx (``benchmarks.overhead``)
  memory    RSS while streaming 1,000,000 records (``benchmarks.memory``)
  frontier  goodput against 429s beside another integration, the library and fixed rates
            (``benchmarks.foreign``, 3 seeds, rates 8/10/12/14)
  mirror-nightly     requests of nightly mirror syncs of 1,000,000 assets, 0.5 % changed
                     (quick: 20,000) (``benchmarks.mirror``)
  mirror-throughput  a full mirror sync of 20,000 assets beside a stream into JSON Lines
                     (quick: 2,000)

Nothing is asserted. The exit status is 0 when every scenario ran (a skipped Redis
scenario included), 1 when one failed, 130 on Ctrl-C; the Markdown is written in every
case. matplotlib is optional: without it the figures are skipped with a message.
Every child process (gateways, clients, workers, ``redis-server``) is stopped on the way
out, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from benchmarks import foreign, harvest, margin, memory, mirror, overhead, redis_workers
from benchmarks._process import GatewaySpec, run_in_child
from benchmarks.report import (
    SLOW_LATENCY,
    STEADY_LATENCY,
    Suite,
    machine_note,
    write_markdown,
    write_plots,
)

HERE = Path(__file__).resolve().parent
# The foreign-load rows judged on a mean over this many seeds (the first is the table's).
FOREIGN_SEEDS = 5
FOREIGN_SEEDED = "agh"

SCENARIOS = (
    "margin",
    "harvest",
    "spread",
    "steady",
    "slow",
    "foreign",
    "redis",
    "overhead",
    "memory",
    "frontier",
    "mirror-nightly",
    "mirror-throughput",
)
FRONTIER_SEEDS = 3
FRONTIER_RATES = (8.0, 10.0, 12.0, 14.0)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same clean-up path as Ctrl-C


def _harvest_rows(
    suite: Suite,
    rows: list[harvest.Result],
    keys: str,
    *,
    latency: str | None = None,
    up_fraction: float | None = None,
    foreign_rate: float = 0.0,
    seed: int = 0,
) -> None:
    """Run strategies ``keys`` one after the other, appending each row as it completes."""
    spec = GatewaySpec(
        researchers=suite.researchers,
        latency=latency or suite.latency,
        up_fraction=suite.up_fraction if up_fraction is None else up_fraction,
        foreign_rate=foreign_rate,
        seed=seed,
    )
    for key in keys:
        _log(f"  ({key}) {harvest.STRATEGIES[key][0]} ...")
        r = harvest.run_strategy(key, spec)
        _log(
            f"      {r.wall:.1f} s, {r.goodput:,.0f} records/s, {r.throttled} x 429, "
            f"max {r.max_1s}/s, {r.unique:,} unique records, peak RSS {r.peak_rss / 2**20:.0f} MB"
        )
        rows.append(r)


def scenario_harvest(suite: Suite) -> None:
    """1. The harvest, every strategy (the sequential loop only in the full run)."""
    _harvest_rows(suite, suite.harvest, "abghdf" if suite.quick else "abghcdf")


def scenario_spread(suite: Suite) -> None:
    """1b. The harvest with a 0.3 s spread of send-to-arrival delay."""
    rows = suite.variants.setdefault("spread", [])
    _harvest_rows(suite, rows, "agh" if suite.quick else "abegh", up_fraction=0.5)


def scenario_steady(suite: Suite) -> None:
    """1c. Steady round trips (0.30-0.32 s): the automatic margin narrows."""
    rows = suite.variants.setdefault("steady", [])
    _harvest_rows(suite, rows, "agh", latency=STEADY_LATENCY, up_fraction=0.5)


def scenario_slow(suite: Suite) -> None:
    """1d. 1-3 s latency: about 45 requests must be in flight."""
    rows = suite.variants.setdefault("slow", [])
    _harvest_rows(suite, rows, "agh", latency=SLOW_LATENCY)


def scenario_foreign(suite: Suite) -> None:
    """2. The harvest while another integration uses part of the budget."""
    keys = "aghdf" if suite.quick else "abghdf"
    _harvest_rows(suite, suite.foreign, keys, foreign_rate=suite.foreign_rate)
    if suite.quick:
        return
    suite.foreign_seeds += [r for r in suite.foreign if r.key in FOREIGN_SEEDED]
    for seed in range(1, FOREIGN_SEEDS):
        _log(f"  seed {seed}:")
        _harvest_rows(
            suite, suite.foreign_seeds, FOREIGN_SEEDED, foreign_rate=suite.foreign_rate, seed=seed
        )


def scenario_redis(suite: Suite) -> None:
    """3. Four processes on one Redis vs four without it, the budget split by hand."""
    if shutil.which("redis-server") is None:
        suite.skipped["redis"] = (
            "`redis-server` is not installed (apt-get install redis-server); "
            "run `python -m benchmarks.redis_workers --redis-url URL` against another one"
        )
        _log(f"  skipped: {suite.skipped['redis']}")
        return
    plan: list[tuple[bool, float]] = [(True, 0.0), (False, 0.0)]
    if not suite.quick:
        plan += [(True, 0.25), (True, -0.25)]
    suite.redis_per_process = 40 if suite.quick else 150
    suite.redis = redis_workers.bench(per_process=suite.redis_per_process, plan=plan)


def scenario_overhead(suite: Suite) -> None:
    """4. Client overhead per request over raw httpx, in a fresh process."""
    suite.overhead_requests = 2_000 if suite.quick else 10_000
    rounds = 10 if suite.quick else 20
    suite.overhead = run_in_child(overhead.run, suite.overhead_requests, rounds)
    o = suite.overhead
    _log(
        f"  added {o.added_medians_us:.1f} µs (difference of medians), {o.added_us:.1f} µs "
        f"(median of differences), {o.ratio:.2f}x raw httpx"
    )


def scenario_memory(suite: Suite) -> None:
    """5. RSS while streaming many records, in a fresh process."""
    suite.memory_records = 20_000 if suite.quick else 1_000_000
    suite.memory = run_in_child(memory.measure, suite.memory_records)
    _log(f"  {suite.memory.records:,} records, RSS growth {suite.memory.growth / 2**20:.1f} MB")


def scenario_margin(suite: Suite) -> None:
    """0. The defaults under every jitter and header timing, in virtual time."""
    suite.margin = margin.run(quick=suite.quick, log=_log)


def scenario_frontier(suite: Suite) -> None:
    """7. Goodput against 429s beside another integration, in virtual time."""
    import logging

    from esploro_async import EsploroClient

    logging.disable(logging.WARNING)
    try:
        strategies = [("library (defaults)", foreign.library_run(EsploroClient))]
        strategies += [(f"fixed {r:g}/s", foreign.fixed_run(r)) for r in FRONTIER_RATES]
        seeds = 1 if suite.quick else FRONTIER_SEEDS
        suite.frontier_seeds = seeds
        researchers = 4_000 if suite.quick else 20_000
        for load in foreign.LOADS:
            rows = []
            for name, run in strategies:
                figures = tuple(foreign.measure(run, load, s, researchers) for s in range(seeds))
                rows.append(foreign.Row(name, figures))
            suite.frontier[load] = rows
            lib = rows[0]
            _log(
                f"  {load}: library {lib.mean('goodput'):.2f} req/s, "
                f"{100 * lib.mean('own_429'):.1f}% / {100 * lib.mean('foreign_429'):.1f}% 429s"
            )
    finally:
        logging.disable(logging.NOTSET)


def scenario_mirror_nightly(suite: Suite) -> None:
    """6a. Requests of nightly mirror syncs, in a fresh process."""
    mirror.suite_nightly(suite.mirror, suite.quick)


def scenario_mirror_throughput(suite: Suite) -> None:
    """6b. A full mirror sync beside the competent reference, each in a fresh process."""
    mirror.suite_throughput(suite.mirror, suite.quick)


RUNNERS: dict[str, Callable[[Suite], None]] = {
    "margin": scenario_margin,
    "harvest": scenario_harvest,
    "spread": scenario_spread,
    "steady": scenario_steady,
    "slow": scenario_slow,
    "foreign": scenario_foreign,
    "redis": scenario_redis,
    "overhead": scenario_overhead,
    "memory": scenario_memory,
    "frontier": scenario_frontier,
    "mirror-nightly": scenario_mirror_nightly,
    "mirror-throughput": scenario_mirror_throughput,
}


def _scenarios(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scenario(s): {', '.join(unknown)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the scenarios, write the report; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run every benchmark side by side and write RESULTS.md and the figures.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: small sizes, about 3 minutes"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output directory (default: benchmarks/ for a full run, a new temporary "
        "directory for --quick)",
    )
    parser.add_argument(
        "--scenarios",
        type=_scenarios,
        default=list(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument("--researchers", type=int, help="harvest size (default 20000; quick 4000)")
    parser.add_argument("--foreign-rate", type=float, default=5.0, help="scenario 2, req/s")
    args = parser.parse_args(argv)

    if args.out is not None:
        outdir = args.out
        outdir.mkdir(parents=True, exist_ok=True)
    elif args.quick:
        outdir = Path(tempfile.mkdtemp(prefix="esploro-bench-"))
    else:
        outdir = HERE
    shown = ["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]
    suite = Suite(
        quick=args.quick,
        command=" ".join([shown[0], shlex.join(shown[1:])]).strip(),
        started=dt.datetime.now(dt.timezone.utc),
        machine=machine_note(),
        researchers=args.researchers or (4_000 if args.quick else 20_000),
        foreign_rate=args.foreign_rate,
    )
    signal.signal(signal.SIGTERM, _sigterm)
    status = 0
    try:
        for name in args.scenarios:
            _log(f"[{name}]")
            t0 = time.perf_counter()
            try:
                RUNNERS[name](suite)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                suite.errors[name] = "".join(traceback.format_exception(exc)).rstrip()
                _log(f"  FAILED: {suite.errors[name]}")
                status = 1
            finally:
                suite.seconds[name] = time.perf_counter() - t0
    except KeyboardInterrupt:
        _log("interrupted: the report covers the scenarios that finished")
        status = 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            suite.figures = write_plots(suite, outdir)
        except Exception as exc:  # a figure is not worth losing the tables for
            suite.plot_note = f"plotting failed: {exc!r}"
            _log(f"  {suite.plot_note}")
        write_markdown(suite, outdir / "RESULTS.md")
        total = sum(suite.seconds.values())
        _log(f"wrote {outdir / 'RESULTS.md'} and {suite.figures or 'no figure'} in {total:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())

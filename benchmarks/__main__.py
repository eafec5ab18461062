"""Run every benchmark scenario side by side in one run and write the report.

    python -m benchmarks                 # full run (about 10 min): writes benchmarks/RESULTS.md,
                                         # benchmarks/throughput.png, benchmarks/memory.png
    python -m benchmarks --quick         # smoke run (under 2 min), into a temporary directory
    python -m benchmarks --quick --out DIR
    python -m benchmarks --scenarios harvest,overhead

Scenarios, in this order (all against the simulated gateway served on loopback by a process
of its own, except the overhead one which uses an in-process transport):

  harvest   20,000 researchers, 0.2-0.8 s latency: esploro-async (margins 0.10 and 0.02),
            a sequential httpx page loop, asyncio.gather behind aiolimiter, asyncio.gather
            with no limiter (see ``benchmarks.harvest``)
  foreign   the same while another integration sends 5 req/s into the same window
  redis     4 processes on one Redis vs 4 processes with in-process limiters only
            (``benchmarks.redis_workers``; needs ``redis-server``, else skipped)
  overhead  added cost per request over raw httpx (``benchmarks.overhead``)
  memory    RSS while streaming 200,000 records (``benchmarks.memory``)

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

from benchmarks import harvest, memory, overhead, redis_workers
from benchmarks._process import GatewaySpec, run_in_child
from benchmarks.report import Suite, machine_note, write_markdown, write_plots

HERE = Path(__file__).resolve().parent
SCENARIOS = ("harvest", "foreign", "redis", "overhead", "memory")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same clean-up path as Ctrl-C


def _harvest_rows(suite: Suite, rows: list[harvest.Result], keys: str, foreign_rate: float) -> None:
    """Run strategies ``keys`` one after the other, appending each row as it completes."""
    spec = GatewaySpec(
        researchers=suite.researchers,
        latency=suite.latency,
        up_fraction=suite.up_fraction,
        foreign_rate=foreign_rate,
    )
    for key in keys:
        _log(f"  ({key}) {harvest.STRATEGIES[key][0]} ...")
        r = harvest.run_strategy(key, spec)
        _log(
            f"      {r.wall:.1f} s, {r.throttled} x 429, max {r.max_1s}/s, "
            f"{r.unique:,} unique records, peak RSS {r.peak_rss / 2**20:.0f} MB"
        )
        rows.append(r)


def scenario_harvest(suite: Suite) -> None:
    """1. The harvest, every strategy (the sequential loop only in the full run)."""
    _harvest_rows(suite, suite.harvest, "abdf" if suite.quick else "abcdf", 0.0)


def scenario_foreign(suite: Suite) -> None:
    """2. The harvest while another integration uses part of the budget."""
    _harvest_rows(suite, suite.foreign, "adf" if suite.quick else "abdf", suite.foreign_rate)


def scenario_redis(suite: Suite) -> None:
    """3. Four processes on one Redis vs four with in-process limiters only."""
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
    _log(f"  median added {o.added_us:.1f} µs ({o.ratio:.2f}x raw httpx)")


def scenario_memory(suite: Suite) -> None:
    """5. RSS while streaming many records, in a fresh process."""
    suite.memory_records = 20_000 if suite.quick else 200_000
    suite.memory = run_in_child(memory.measure, suite.memory_records)
    _log(f"  {suite.memory.records:,} records, RSS growth {suite.memory.growth / 2**20:.1f} MB")


RUNNERS: dict[str, Callable[[Suite], None]] = {
    "harvest": scenario_harvest,
    "foreign": scenario_foreign,
    "redis": scenario_redis,
    "overhead": scenario_overhead,
    "memory": scenario_memory,
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
        "--quick", action="store_true", help="smoke run: small sizes, under 2 minutes"
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

"""``python -m benchmarks.redis_workers``: the comparison, another scenario, or a worker."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from benchmarks.redis_workers.common import EFFECTIVE_RATE
from benchmarks.redis_workers.compare import bench, print_table, targets
from benchmarks.redis_workers.hand_split import HAND_SPLIT_RATE, hand_split_label
from benchmarks.redis_workers.scenarios import (
    priority_scenario,
    quota_scenario,
    restart_scenario,
)
from benchmarks.redis_workers.worker import worker_main


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


def _weights(text: str) -> list[float]:
    weights = [float(w) for w in text.split(",")]
    if len(weights) != 4 or min(weights) <= 0:
        raise argparse.ArgumentTypeError("four positive weights, e.g. 1,1,1,3")
    return weights


def _shared(weights: list[float] | None) -> str:
    return "" if weights is None else f" (shared {':'.join(f'{w:g}' for w in weights)})"


def _parser() -> argparse.ArgumentParser:
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
        help="compare: one Redis vs the hand-split baseline (default); quota: 4 processes end "
        "at a shared reserve; restart: kill -9 + restart of redis-server mid-run; priority: "
        "4 harvests and a 5th process of interactive requests",
    )
    parser.add_argument("--runs", type=int, help="repetitions (quota, restart)")
    parser.add_argument("--per-process", type=int, help="requests per process (compare)")
    parser.add_argument(
        "--no-skew", action="store_true", help="compare without the clock-skew rows"
    )
    parser.add_argument(
        "--hand-split-rate",
        type=float,
        default=HAND_SPLIT_RATE,
        help=f"requests per second of each baseline process (default {HAND_SPLIT_RATE:g})",
    )
    parser.add_argument(
        "--weights",
        type=_weights,
        help="share the 4 x per-process requests unevenly, e.g. 1,1,1,3 (default: evenly)",
    )
    return parser


def _compare(args: argparse.Namespace) -> int:
    """The side-by-side comparison, its table and the one-Redis targets."""
    per_process = args.per_process or (40 if args.quick else 150)
    each = args.hand_split_rate
    print(
        f"4 processes x {per_process} requests{_shared(args.weights)}, "
        f"latency U({args.latency}) s "
        f"({args.up_fraction:.0%} of it before arrival), effective rate {EFFECTIVE_RATE:.1f}/s\n"
        f"baseline ({hand_split_label(each)}): no Redis; each process plain httpx behind "
        f"AsyncLimiter(1, 1/{each:g}) ({4 * each:g} req/s together), a 429 retried after "
        "its Retry-After",
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
            hand_split_rate=args.hand_split_rate,
            weights=args.weights,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the comparison (``[--quick]``), ``--scenario``, or the ``worker`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        worker_main(json.loads(argv[1]))
        return 0
    args = _parser().parse_args(argv)
    if args.scenario != "compare":
        return _scenario(args)
    return _compare(args)

"""Soak the guarantees: many seeded random schedules, checked by the invariants.

    python -m benchmarks.soak --seeds 5000            # seeds 0..4999, on every core
    python -m benchmarks.soak --seeds 1000 --start 7000
    python -m benchmarks.soak --seed 267 --verbose     # one seed: its schedule and violations

Each seed draws a `Schedule` (quota and reserve, foreign load, latency, faults, drift,
cancellation, clocks near midnight) and runs it in virtual time against the simulated
gateway; see `esploro_async.testing.invariants`. Every tenth seed runs on trio. A failing
seed is printed with the command that reproduces it. Exit status: 0 when no seed broke a
guarantee, 1 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import sys
import time

from esploro_async.testing.invariants import run_seed


def backend_of(seed: int) -> str:
    """The event loop a seed runs on (every tenth on trio)."""
    return "trio" if seed % 10 == 9 else "asyncio"


def check(seed: int) -> tuple[int, list[str], str]:
    """Run one seed: its violations, and its schedule in words."""
    logging.disable(logging.WARNING)
    try:
        schedule, found = run_seed(seed, backend=backend_of(seed))
    except BaseException as exc:  # a crash is a violation too, with its seed
        return seed, [f"the run itself failed: {exc!r}"], ""
    return seed, found, repr(schedule)


def main(argv: list[str] | None = None) -> int:
    """Run the seeds asked for; print failures with their reproduction and a summary."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--seeds", type=int, default=1000, help="how many seeds (default 1000)")
    parser.add_argument("--start", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--seed", type=int, help="run this one seed only")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--verbose", action="store_true", help="print every schedule")
    args = parser.parse_args(argv)
    seeds = (
        [args.seed] if args.seed is not None else list(range(args.start, args.start + args.seeds))
    )
    started = time.perf_counter()
    failed = 0
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for seed, found, schedule in pool.map(check, seeds, chunksize=8):
            if args.verbose:
                print(f"seed {seed}: {schedule}")
            if found:
                failed += 1
                print(f"seed {seed} ({backend_of(seed)}): " + "; ".join(found))
                print(f"  reproduce: python -m benchmarks.soak --seed {seed} --verbose")
    elapsed = time.perf_counter() - started
    print(
        f"{len(seeds)} seeds, {failed} with a violation, {elapsed:.0f} s "
        f"({len(seeds) / max(elapsed, 1e-9):.1f} seeds/s on {args.jobs} processes)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

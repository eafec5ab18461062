"""What the rates of the margin targets need, under jitters the arrival order cannot show.

The automatic margin settles at 1.15 x the spacing of its own requests, because a jitter
below one spacing never inverts two of them: the arrival order cannot tell it from none.
The targets of ``python -m benchmarks.margin`` (88 % of the physical 2,500 records/s over
20,000 records, 94 % over 200,000, with 0 x 429 at 50 ms of jitter) need a narrower margin
than that. This puts fixed margins that would meet the rate targets beside the defaults,
under zero jitter and under jitters of 40-50 ms (about one spacing), several seeds each, in
virtual time (deterministic; the same simulated gateway as ``benchmarks.margin``):

  i  a fixed 0.035: what 88 % over 20,000 records needs from the first request
  j  a fixed 0.042: what 94 % over 200,000 needs in steady state (24.0 requests/s)
  g  the defaults (``safety_margin="auto"``)

A margin that meets the rates draws 429s under a jitter the order shows too rarely, or
not at all, before they come; the defaults draw none.

    python -m benchmarks.margin_need [--seeds 6] [--jitters 0,0.04,0.045,0.05]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from benchmarks import harvest
from benchmarks.margin import Condition, share

KEYS = "ijg"  # strategies of `benchmarks.harvest`


@dataclasses.dataclass(frozen=True)
class Row:
    """One strategy under one jitter, over every seed."""

    key: str
    jitter: float
    share: float  # mean share of the physical 2,500 records/s
    throttled: int
    requests: int
    runs_with_429: int
    seeds: int


def measure(key: str, jitter: float, seeds: int) -> Row:
    """Harvest 20,000 records ``seeds`` times with strategy ``key``."""
    condition = Condition("need", "", 20_000, jitter)
    results = [
        harvest.virtual_run(key, dataclasses.replace(condition.spec(False), seed=seed))
        for seed in range(seeds)
    ]
    return Row(
        key=key,
        jitter=jitter,
        share=sum(share(r) for r in results) / seeds,
        throttled=sum(r.throttled for r in results),
        requests=sum(r.accepted + r.throttled for r in results),
        runs_with_429=sum(1 for r in results if r.throttled),
        seeds=seeds,
    )


def table(rows: list[Row]) -> list[str]:
    """The rows as a Markdown table."""
    lines = [
        "| strategy | jitter | of 2,500 records/s | 429s | runs with a 429 |",
        "|---|--:|--:|--:|--:|",
    ]
    for r in rows:
        name = harvest.STRATEGIES[r.key][0]
        lines.append(
            f"| ({r.key}) {name} | {1000 * r.jitter:.0f} ms | {r.share:.1%} | "
            f"{r.throttled} in {r.requests:,} | {r.runs_with_429} of {r.seeds} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Measure every strategy under every jitter and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=6, help="runs per strategy and jitter")
    parser.add_argument("--jitters", default="0,0.04,0.045,0.05", help="comma-separated seconds")
    args = parser.parse_args(argv)
    jitters = [float(j) for j in args.jitters.split(",")]
    rows = []
    for key in KEYS:
        for jitter in jitters:
            rows.append(measure(key, jitter, args.seeds))
            print(table(rows)[-1], flush=True)
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What reading the other integration's arrivals can buy at best: an idealised model.

The gateway's rule (25 accepted arrivals per sliding second, refused ones not counted) with
another integration's Poisson arrivals, and a client with none of the library's costs: no
round trip before the first request, no end of harvest, its own requests arriving the moment
they are sent, and every arrival of the other integration known exactly ``delay`` seconds
after it happened (with the library, the latest count that came back: a few tenths of a
second with 0.2-0.8 s round trips). Two kinds of client, over the same arrivals:

  fixed N/s    a request every 1/N s
  informed z   a request whenever every window it will stay in (the one at its arrival and
               those of the second after) is expected to hold fewer than 25: ours, theirs
               known, and theirs not known yet at their rate plus z standard deviations of a
               Poisson count (the rule of `esploro_async.governance.foreign`)

Figures: our accepted requests per second, our 429s and theirs as a share of requests. With
the others at 10 req/s and delay 0.25 s, no informed z reaches 11 req/s with 2 % of theirs
refused: the goal's 10.5 req/s over a whole harvest (about 11 in steady state) is beyond what
the counter can tell at that delay.

    python -m benchmarks.foreign_bound [--rate 10] [--delays 0.1,0.25,0.4]
                                       [--z 1.5,2,2.5] [--fixed 9,10,11,12] [--seconds 600]
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import math
import random
import sys
from collections import deque
from collections.abc import Callable

LIMIT = 25
STEP = 0.001  # seconds between the client's decisions
OFFSETS = [i / 20 for i in range(20)]  # windows checked: ending now + offset

Rule = Callable[[float, list[float], list[float]], bool]


def count(times: list[float], start: float, end: float) -> int:
    """How many of the sorted ``times`` lie in ``(start, end]``."""
    return bisect.bisect_right(times, end) - bisect.bisect_right(times, start)


def informed(z: float, delay: float, rate: float) -> Rule:
    """Send while every window the request will stay in is expected to have room."""

    def rule(now: float, ours: list[float], theirs: list[float]) -> bool:
        for offset in OFFSETS:
            start = now + offset - 1.0
            unseen = rate * min(1.0, offset + delay)
            known = count(ours, start, now) + count(theirs, start, now - delay)
            if known + unseen + z * math.sqrt(unseen) + 1 > LIMIT:
                return False
        return True

    return rule


def simulate(
    rule: Rule | None, fixed: float | None, *, rate: float, seconds: float, seed: int
) -> tuple[float, float, float]:
    """Our goodput, our 429 share, theirs: one client (``rule`` or ``fixed`` req/s).

    Our requests reach the gateway 4-16 ms after they are sent (2 % of a 0.2-0.8 s round
    trip, as in `benchmarks.foreign`): without it a fixed rate dividing a second would find
    the slot of its own request of a second before free at every arrival.
    """
    rng = random.Random(seed)
    way = random.Random(seed + 1)
    pending: list[tuple[float, bool]] = []  # (arrival, ours), a heap
    t = rng.expovariate(rate)
    while t < seconds:
        heapq.heappush(pending, (t, False))
        t += rng.expovariate(rate)
    theirs_sent = len(pending)
    window: deque[float] = deque()
    ours: list[float] = []  # our sends (all known to us)
    theirs: list[float] = []  # their accepted arrivals
    accepted = refused_ours = refused_theirs = 0
    nxt = last = -math.inf
    step = 0
    while (now := step * STEP) < seconds:
        step += 1
        while pending and pending[0][0] <= now:
            at, mine = heapq.heappop(pending)
            while window and window[0] <= at - 1.0:
                window.popleft()
            if len(window) >= LIMIT:
                refused_ours += mine
                refused_theirs += not mine
                continue
            window.append(at)
            accepted += mine
            if not mine:
                theirs.append(at)
        if fixed is not None:
            if now < nxt:
                continue
            nxt = max(nxt, 0.0) + 1.0 / fixed
        elif now - last < 1.0 / LIMIT or rule is None or not rule(now, ours, theirs):
            continue
        last = now
        ours.append(now)
        heapq.heappush(pending, (now + way.uniform(0.004, 0.016), True))
    return accepted / seconds, refused_ours / max(1, len(ours)), refused_theirs / theirs_sent


def main(argv: list[str] | None = None) -> int:
    """Print the fixed rates' and the informed rule's figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=10.0, help="their req/s (Poisson)")
    parser.add_argument("--delays", default="0.1,0.25,0.4")
    parser.add_argument("--z", default="1.5,2,2.5")
    parser.add_argument("--fixed", default="9,10,11,12")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print("| client | goodput req/s | our 429s | other's 429s |")
    print("|---|--:|--:|--:|")
    options = {"rate": args.rate, "seconds": args.seconds, "seed": args.seed}
    for n in (float(x) for x in args.fixed.split(",") if x):
        goodput, own, other = simulate(None, n, **options)
        print(f"| fixed {n:g}/s | {goodput:.2f} | {100 * own:.1f}% | {100 * other:.1f}% |")
    for delay in (float(x) for x in args.delays.split(",") if x):
        for z in (float(x) for x in args.z.split(",") if x):
            rule = informed(z, delay, args.rate)
            goodput, own, other = simulate(rule, None, **options)
            print(
                f"| informed z={z:g}, known {delay:g} s late | {goodput:.2f} "
                f"| {100 * own:.1f}% | {100 * other:.1f}% |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

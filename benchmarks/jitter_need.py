"""How much margin a send-to-arrival jitter needs, and what the automatic margin takes.

Two measurements behind the automatic margin's bound (`esploro_async.governance.arrivals`):

``model``
    The plainest model of the gateway: requests sent every ``(1 + m) / 25`` s, each delayed
    uniformly within ``[0, J]``, refused when 25 were accepted in the second before. For each
    jitter ``J``, the 429s per 1,000 requests at margins ``m`` = 0.5 ``J`` .. 1.0 ``J``, and
    the smallest share of ``J`` from which they stay below 1 and 0.1 per 1,000.
``sweep``
    The client at its defaults, 1,000 requests from 40 tasks per run against the simulated
    gateway (latency 0.2-0.8 s, ``J / 0.6`` of it before arrival), several seeds per jitter,
    in virtual time (deterministic): 429s per 1,000 requests, runs with a 429, requests per
    second and the margin at the end.

    python -m benchmarks.jitter_need model [--jitters 0.05,0.1,0.2,0.3,0.5] [--requests N]
    python -m benchmarks.jitter_need sweep [--jitters 0.1,0.15,0.2,0.3,0.5] [--seeds 16]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import deque

RATE_LIMIT = 25
SHARES = [round(0.5 + 0.05 * i, 2) for i in range(11)]


def refused(margin: float, jitter: float, requests: int, rng: random.Random) -> int:
    """429s among ``requests`` sent at ``margin`` under a uniform ``jitter`` (the model)."""
    interval = (1 + margin) / RATE_LIMIT
    arrivals = sorted(i * interval + rng.uniform(0, jitter) for i in range(requests))
    window: deque[float] = deque()
    count = 0
    for t in arrivals:
        while window and window[0] <= t - 1.0:
            window.popleft()
        if len(window) >= RATE_LIMIT:
            count += 1
        else:
            window.append(t)
    return count


def smallest_share(rates: list[tuple[float, float]], ceiling: float) -> float | None:
    """The smallest share of the jitter from which every larger one stays <= ``ceiling``."""
    found = None
    for share, per_1000 in reversed(rates):
        if per_1000 > ceiling:
            break
        found = share
    return found


def model(jitters: list[float], requests: int, seed: int = 7) -> None:
    """Print the model's table (module docstring)."""
    rng = random.Random(seed)
    print(
        "| jitter | <= 1 per 1,000 from | <= 0.1 per 1,000 from | 429s per 1,000 at m/J = "
        + ", ".join(f"{s:.2f}" for s in SHARES)
        + " |"
    )
    print("|--:|--:|--:|---|")
    for jitter in jitters:
        rates = [
            (share, 1000 * refused(share * jitter, jitter, requests, rng) / requests)
            for share in SHARES
        ]
        one, tenth = smallest_share(rates, 1.0), smallest_share(rates, 0.1)
        print(
            f"| {jitter:.2f} s | {one} x J | {tenth} x J | "
            + ", ".join(f"{r:.2f}" for _, r in rates)
            + " |",
            flush=True,
        )


async def _run(jitter: float, seed: int, requests: int) -> tuple[int, int, float, float]:
    import anyio

    from esploro_async import EsploroClient
    from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

    gateway = SimulatedGateway(
        SyntheticInstitution(seed=seed, researchers=50),
        latency=Latency.uniform(0.2, 0.8),
        up_fraction=jitter / 0.6,
        seed=seed,
    )
    left = iter(range(requests))
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
    ) as client:

        async def worker() -> None:
            for _ in left:
                await client.request("GET", "researchers", params={"limit": 1}, lane="batch")

        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(worker)
        elapsed = anyio.current_time() - started
        margin = client.governance.snapshot().safety_margin
    statuses = gateway.counts_by_status()
    return statuses[429], statuses[429] + statuses[200], requests / elapsed, margin


def sweep(jitters: list[float], seeds: int, requests: int) -> None:
    """Print the client's table (module docstring)."""
    import looptime

    print("| jitter | 429s per 1,000 | runs with a 429 | req/s | margin at the end |")
    print("|--:|--:|--:|--:|--:|")
    for jitter in jitters:
        runs = []
        for seed in range(seeds):
            loop = looptime.new_event_loop(start=0)
            try:
                runs.append(loop.run_until_complete(_run(jitter, seed, requests)))
            finally:
                loop.close()
        throttled = sum(r[0] for r in runs)
        sent = sum(r[1] for r in runs)
        print(
            f"| {jitter:.2f} s | {1000 * throttled / sent:.2f} | "
            f"{sum(1 for r in runs if r[0])} of {seeds} | "
            f"{sum(r[2] for r in runs) / seeds:.2f} | "
            f"{min(r[3] for r in runs):.3f}-{max(r[3] for r in runs):.3f} |",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Run ``model`` or ``sweep``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("what", choices=["model", "sweep"])
    parser.add_argument("--jitters", help="comma-separated seconds")
    parser.add_argument("--requests", type=int, help="per point (model) or per run (sweep)")
    parser.add_argument("--seeds", type=int, default=16, help="runs per jitter (sweep)")
    args = parser.parse_args(argv)
    if args.what == "model":
        jitters = args.jitters or "0.05,0.1,0.2,0.3,0.5"
        model([float(j) for j in jitters.split(",")], args.requests or 200_000)
    else:
        jitters = args.jitters or "0.1,0.15,0.2,0.3,0.5"
        sweep([float(j) for j in jitters.split(",")], args.seeds, args.requests or 1_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())

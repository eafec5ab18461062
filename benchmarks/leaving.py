"""Requests that reach the gateway after the caller left a stream, side by side (virtual time).

A harvest of 20,000 researchers (0.2-0.8 s latency, 2 % before arrival) is left after a few
records, by ``break`` or by a cancel 0.1 s into a loop body that awaits; the figure is the
number of requests the gateway's arrival log shows later than 50 ms after the caller left.

    python -m benchmarks.leaving [--seeds 5] [--previous REV ...]

``--previous REV`` runs the library as of git revision REV beside the current one (see
`benchmarks.foreign.previous_client`). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
from typing import Any

from benchmarks.foreign import URL, previous_client
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

GRACE = 0.05


async def leave(client_class: Any, gw: SimulatedGateway, way: str, read: int) -> int:
    """Read ``read`` records, leave by ``way``; the requests arriving after ``GRACE``."""
    loop = asyncio.get_running_loop()
    left = 0.0
    reached = asyncio.Event()
    async with client_class(SIM_API_KEY, base_url=URL, transport=gw.transport()) as client:

        async def body() -> None:
            nonlocal left
            taken = 0
            async for _ in client.researchers.list():
                taken += 1
                if taken == read:
                    if way == "break":
                        left = loop.time()
                        break
                    left = loop.time() + 0.1
                    reached.set()
                    await asyncio.sleep(3600)  # the body awaits; the cancel comes meanwhile

        task = asyncio.ensure_future(body())
        if way == "cancel":
            await reached.wait()
            await asyncio.sleep(left - loop.time())
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(5)
    return sum(1 for r in gw.client_log() if r.arrived and r.arrival > left + GRACE)


def measure(client_class: Any, way: str, seed: int) -> int:
    """One run in virtual time."""
    import looptime

    gw = SimulatedGateway(
        SyntheticInstitution(seed, researchers=20_000),
        latency=Latency.uniform(0.2, 0.8),
        up_fraction=0.02,
        seed=seed,
    )
    loop = looptime.new_event_loop(start=0)
    try:
        return loop.run_until_complete(leave(client_class, gw, way, 1 + 37 * seed))
    finally:
        loop.close()


def main(argv: list[str] | None = None) -> int:
    """Print one line per library and way out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--previous", metavar="REV", action="append", default=[])
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    from esploro_async import EsploroClient

    libraries = [(f"library at {rev}", previous_client(rev)) for rev in args.previous]
    libraries.append(("library (current)", EsploroClient))
    print("| library | way out | requests after leaving, per seed | mean |")
    print("|---|---|---|--:|")
    for name, client_class in libraries:
        for way in ("break", "cancel"):
            counts = [measure(client_class, way, seed) for seed in range(args.seeds)]
            print(f"| {name} | {way} | {counts} | {statistics.fmean(counts):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

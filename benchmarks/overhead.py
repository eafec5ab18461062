"""Added cost per request of the governed client over raw httpx, in process.

Both send to the same in-process transport (no sockets, no latency); the
limiter is set so high that it never waits, so what remains is the client's
own work: governance bookkeeping, retries' scaffolding, body checks, errors.
Rounds alternate between the two so that machine noise hits both alike.

    python -m benchmarks.overhead [--requests 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from esploro_async import EsploroClient

BASE_URL = "http://bench.localhost"
KEY = "bench-key"
BODY = {"user": [{"primary_id": f"r{i}", "first_name": "Ada"} for i in range(10)]}


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=BODY, headers={"X-Exl-Api-Remaining": "1000000"})


async def raw_round(client: httpx.AsyncClient, n: int) -> list[float]:
    timings = []
    url = BASE_URL + "/esploro/v1/researchers"
    headers = {"Authorization": f"apikey {KEY}", "Accept": "application/json"}
    for _ in range(n):
        t0 = time.perf_counter()
        response = await client.get(url, params={"limit": 10}, headers=headers)
        response.raise_for_status()
        response.json()
        timings.append(time.perf_counter() - t0)
    return timings


async def governed_round(client: EsploroClient, n: int) -> list[float]:
    timings = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = await client.request("GET", "researchers", params={"limit": 10})
        response.json()
        timings.append(time.perf_counter() - t0)
    return timings


async def main(requests: int, rounds: int) -> None:
    transport = httpx.MockTransport(handler)
    raw_times: list[float] = []
    governed_times: list[float] = []
    async with (
        httpx.AsyncClient(transport=transport) as raw,
        EsploroClient(
            KEY, base_url=BASE_URL, transport=transport, rate_limit=1e9, safety_margin=0
        ) as governed,
    ):
        await raw_round(raw, 200)  # warm-up
        await governed_round(governed, 200)
        for _ in range(rounds):
            raw_times += await raw_round(raw, requests // rounds)
            governed_times += await governed_round(governed, requests // rounds)
    raw_med = statistics.median(raw_times) * 1e6
    gov_med = statistics.median(governed_times) * 1e6
    raw_p90 = statistics.quantiles(raw_times, n=10)[-1] * 1e6
    gov_p90 = statistics.quantiles(governed_times, n=10)[-1] * 1e6
    print(f"{'':24}{'median µs':>12}{'p90 µs':>10}")
    print(f"{'raw httpx':24}{raw_med:12.1f}{raw_p90:10.1f}")
    print(f"{'esploro-async governed':24}{gov_med:12.1f}{gov_p90:10.1f}")
    added = gov_med - raw_med
    print(f"added per request (median): {added:.1f} µs  (ratio {gov_med / raw_med:.2f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))

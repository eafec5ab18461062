"""Harvest researchers from Esploro: the real API when ESPLORO_API_KEY is set, else the simulator.

Run ``python examples/quickstart.py`` to harvest a simulated institution (no key needed), or
set ``ESPLORO_API_KEY`` (and ``ESPLORO_REGION``) to harvest your own.
"""

from __future__ import annotations

import asyncio
import os
import time

from esploro_async import EsploroClient
from esploro_async.testing import SIM_API_KEY, SimulatedGateway, SyntheticInstitution


async def harvest(client: EsploroClient) -> int:
    stream = client.researchers.list()
    estimate = await stream.estimate()
    print(
        f"{estimate.total_records} researchers: {estimate.requests_needed} more requests, "
        f"quota remaining {estimate.quota_remaining}"
    )
    count = 0
    async for researcher in stream:
        count += 1
        if count % 500 == 0:
            print(f"  {count} harvested, last: {researcher.primary_id} {researcher.last_name}")
    return count


async def main() -> None:
    if os.environ.get("ESPLORO_API_KEY"):
        client = EsploroClient(region=os.environ.get("ESPLORO_REGION", "na"))
        where = client.base_url
    else:
        gateway = SimulatedGateway(SyntheticInstitution(researchers=2_000))
        client = EsploroClient(
            SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
        )
        where = "the simulated gateway (set ESPLORO_API_KEY to use the real API)"
    started = time.perf_counter()
    async with client:
        records = await harvest(client)
        snapshot = client.governance.snapshot()
    elapsed = time.perf_counter() - started
    print(f"harvested {records} researchers from {where}")
    print(
        f"{snapshot.requests} requests in {elapsed:.1f} s (limit {snapshot.effective_rate:.1f} "
        f"req/s), {snapshot.throttled} throttled, quota remaining {snapshot.quota_remaining}"
    )


if __name__ == "__main__":
    asyncio.run(main())

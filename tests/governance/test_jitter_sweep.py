"""The automatic margin under send-to-arrival jitter from none to 0.5 s, in virtual time.

Each seed draws the jitter (uniform in [0, 0.5] s), the round trip around it and where the
jitter sits in it, and sends 800 requests from 40 tasks at the defaults; the judge is the
simulator's arrival log. Up to the starting margin (0.10 s) the promise is 0 x 429 whatever
the order shows; beyond it the margin must widen from the order of arrivals before the
gateway refuses anything (the goal allows 1 per 1,000 requests: across these draws none
came), without widening so far that it sends below 80 % of ``25 / (1 + jitter)``.
"""

from __future__ import annotations

import random

import anyio
import pytest

from conftest import fan_out, jittered_gateway
from esploro_async import EsploroClient
from esploro_async.testing import SIM_API_KEY, SimulatedGateway

pytestmark = pytest.mark.looptime


def draw(seed: int) -> tuple[SimulatedGateway, float]:
    rng = random.Random(f"jitter-sweep:{seed}")
    jitter = rng.uniform(0.0, 0.5)
    spread = rng.uniform(max(jitter, 0.3), 0.9)
    low = rng.uniform(0.05, 0.3)
    gateway = jittered_gateway(seed, researchers=50, low=low, spread=spread, jitter=jitter)
    return gateway, jitter


@pytest.mark.parametrize("seed", range(12))
async def test_the_margin_widens_before_the_gateway_refuses_and_no_further(seed: int) -> None:
    gateway, jitter = draw(seed)
    async with EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
    ) as client:
        started = anyio.current_time()
        await fan_out(client, tasks=40, per_task=20)
        elapsed = anyio.current_time() - started
        margin = client.governance.snapshot().safety_margin
    context = f"{jitter * 1000:.0f} ms of jitter, margin {margin:.3f}"
    assert gateway.counts_by_status()[429] == 0, context
    assert gateway.max_in_window(accepted_only=False, lane="client") <= 25, context
    assert 800 / elapsed >= 0.8 * 25 / (1 + jitter), context

"""Governance metrics through OpenTelemetry (read back with the SDK's in-memory reader)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from conftest import ClientFactory
from esploro_async.metrics import instrument
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime


def collect(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], float]]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = [
                    (dict(point.attributes or {}), point.value)  # type: ignore[union-attr]
                    for point in metric.data.data_points
                ]
    return found


async def test_governance_metrics(gateway: SimulatedGateway, make_client: ClientFactory) -> None:
    gateway.quota_remaining = 5_000
    client = make_client()
    reader = InMemoryMetricReader()
    assert instrument(
        client.governance,
        meter_provider=MeterProvider(metric_readers=[reader]),
        attributes={"service.name": "portal"},
    )

    async def send() -> None:
        await client.request("GET", "researchers/test")

    async with anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(send)
    found = collect(reader)
    assert found["esploro.governance.requests"] == [({"service.name": "portal"}, 30)]
    assert found["esploro.governance.throttled"] == [
        ({"service.name": "portal", "kind": "per_second"}, 0)
    ]
    assert found["esploro.governance.in_flight"][0][1] == 0
    assert found["esploro.governance.quota.remaining"][0][1] == 4_970
    # The rate in force: the defaults' automatic margin has narrowed from 0.10 by now.
    rate = client.governance.snapshot().effective_rate
    assert found["esploro.governance.rate"][0][1] == pytest.approx(rate)
    assert 25 / 1.1 <= rate <= 25
    assert 0 < found["esploro.governance.quota.resets_in"][0][1] <= 86_400
    assert found["esploro.governance.paused"][0][1] == 0


def test_without_opentelemetry_it_does_nothing() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from esploro_async.governance.core import Governance\n"
        "from esploro_async.metrics import instrument\n"
        "print(instrument(Governance.local()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

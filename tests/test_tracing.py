"""Request traces through OpenTelemetry, read back with the SDK's in-memory exporter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from conftest import API_KEY, BASE_URL, ClientFactory, make_gateway
from esploro_async import DailyQuotaExhaustedError, EsploroClient, use_lane
from esploro_async.testing import Latency, SimulatedGateway
from esploro_async.tracing import start_request_trace, use_tracer_provider

pytestmark = pytest.mark.looptime


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    use_tracer_provider(provider)
    yield exporter
    use_tracer_provider(None)


def requests(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("esploro ")]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def assert_one_accepted_get_on_the_wire(span: ReadableSpan, wire_s: float) -> None:
    """A GET of researchers/test, accepted at the first attempt after ``wire_s`` on the wire."""
    found = attributes(span)
    assert found["http.request.method"] == "GET"
    assert found["url.path"] == "/esploro/v1/researchers/test"
    assert found["esploro.lane"] == "interactive"
    assert found["http.response.status_code"] == 200
    assert found["esploro.attempts"] == 1
    assert found["esploro.wire_s"] == pytest.approx(wire_s, abs=1e-6)  # virtual time
    assert isinstance(found["esploro.quota.remaining"], int)


def child_names(exporter: InMemorySpanExporter, span: ReadableSpan) -> list[str]:
    return [
        c.name
        for c in exporter.get_finished_spans()
        if c.parent is not None and c.parent.span_id == span.context.span_id
    ]


async def test_each_request_is_a_span_with_the_permit_wait_apart_from_the_wire(
    spans: InMemorySpanExporter,
) -> None:
    gateway = make_gateway(latency=Latency.fixed(0.2))
    client = EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport())
    async with client, anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(client.request, "GET", "researchers/test")
    done = requests(spans)
    assert len(done) == 30
    for span in done:
        assert_one_accepted_get_on_the_wire(span, 0.2)
        assert child_names(spans, span) == ["esploro.governance.wait", "esploro.http.attempt"]
    waits = sorted(attributes(s)["esploro.permit_wait_s"] for s in done)
    # Starts are spaced 44 ms apart (22.7 per second), so the last of 30 waits at least 28
    # intervals for its permit (more if the others wait for a quota probe first): the wire
    # time includes none of it.
    assert waits[0] == pytest.approx(0.0, abs=1e-6)
    assert waits[-1] >= 28 * 1.1 / 25 - 0.01


async def test_a_daily_threshold_refusal_is_an_error_span_of_kind_daily(
    spans: InMemorySpanExporter, gateway: SimulatedGateway, make_client: ClientFactory
) -> None:
    gateway.quota_remaining = 0
    client = make_client()
    with use_lane("batch"), pytest.raises(DailyQuotaExhaustedError):
        await client.request("GET", "researchers/test")
    (span,) = requests(spans)
    found = attributes(span)
    assert found["esploro.throttle.kind"] == "daily"
    assert found["esploro.lane"] == "batch"
    assert found["error.type"] == "DailyQuotaExhaustedError"
    assert span.status.status_code is StatusCode.ERROR
    assert API_KEY not in repr(span.to_json())


async def test_a_per_second_refusal_is_marked_and_retried_in_the_same_span(
    spans: InMemorySpanExporter,
) -> None:
    gateway = make_gateway()
    now = anyio.current_time()
    gateway.add_foreign_arrivals([now] * 25)  # another integration filled this second
    async with EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport()) as client:
        await client.request("GET", "researchers/test")
    (span,) = requests(spans)
    found = attributes(span)
    assert found["esploro.throttle.kind"] == "per_second"
    assert found["esploro.attempts"] >= 2
    assert found["http.response.status_code"] == 200
    assert span.status.status_code is not StatusCode.ERROR


async def test_without_an_sdk_no_span_is_kept(make_client: ClientFactory) -> None:
    assert start_request_trace("GET", "/esploro/v1/researchers/test", "interactive") is None
    await make_client().request("GET", "researchers/test")


def test_a_global_sdk_set_up_after_the_first_requests_traces_the_next() -> None:
    code = (
        "import asyncio\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "from esploro_async import EsploroClient\n"
        "from esploro_async.testing import SIM_API_KEY, SimulatedGateway\n"
        "async def main():\n"
        "    gateway = SimulatedGateway()\n"
        "    async with EsploroClient(SIM_API_KEY, base_url='http://esploro.localhost',\n"
        "                             transport=gateway.transport()) as client:\n"
        "        await client.request('GET', 'researchers/test')\n"
        "        exporter = InMemorySpanExporter()\n"
        "        provider = TracerProvider()\n"
        "        provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        "        trace.set_tracer_provider(provider)\n"
        "        await client.request('GET', 'researchers/test')\n"
        "    print(sorted(s.name for s in exporter.get_finished_spans()))\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    spans = out.stdout.strip()
    assert spans == str(["esploro GET", "esploro.governance.wait", "esploro.http.attempt"])


def test_a_provider_named_in_the_environment_is_followed() -> None:
    code = (
        "from esploro_async.tracing import start_request_trace\n"
        "print(start_request_trace('GET', '/x', 'batch') is not None)\n"
    )
    env = {**os.environ, "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    assert out.stdout.split() == ["True"]


def test_without_opentelemetry_requests_are_not_traced_and_work() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "import asyncio\n"
        "from esploro_async import EsploroClient\n"
        "from esploro_async.testing import SIM_API_KEY, SimulatedGateway\n"
        "from esploro_async.tracing import start_request_trace\n"
        "assert start_request_trace('GET', '/x', 'batch') is None\n"
        "async def main():\n"
        "    gateway = SimulatedGateway()\n"
        "    async with EsploroClient(SIM_API_KEY, base_url='http://esploro.localhost',\n"
        "                             transport=gateway.transport()) as client:\n"
        "        print((await client.request('GET', 'researchers/test')).status_code)\n"
        "asyncio.run(main())\n"
        "print('opentelemetry' in [m.split('.')[0] for m in sys.modules if sys.modules[m]])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["200", "False"]

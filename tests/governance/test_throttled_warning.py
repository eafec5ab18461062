"""The 429 warning names the likely cause and the fix, from what the daily counter shows."""

from __future__ import annotations

import logging

import pytest

from esploro_async import EsploroClient
from esploro_async.governance import Governance
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

pytestmark = pytest.mark.looptime


async def harvest_warnings(
    caplog: pytest.LogCaptureFixture,
    latency: Latency,
    client: dict[str, object] | None = None,
    **gateway: object,
) -> list[str]:
    gw = SimulatedGateway(
        SyntheticInstitution(seed=3, researchers=20_000),
        latency=latency,
        seed=3,
        **gateway,  # type: ignore[arg-type]
    )
    with caplog.at_level(logging.WARNING, logger="esploro_async.governance"):
        async with EsploroClient(
            SIM_API_KEY,
            base_url="http://esploro.localhost",
            transport=gw.transport(),
            **(client or {}),  # type: ignore[arg-type]
        ) as esploro:
            async for _ in esploro.researchers.list():
                pass
    assert gw.counts_by_status()[429] > 0, "the scenario must draw 429s"
    return [r.getMessage() for r in caplog.records if "429 PER_SECOND_THRESHOLD" in r.getMessage()]


async def test_jitter_beyond_the_margin_is_named_with_its_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Half of 0.2-1.4 s before arrival: a 0.6 s spread, far beyond a fixed margin of 0.10
    # (the automatic one reads it from the arrival order and widens before any 429).
    warnings = await harvest_warnings(
        caplog, Latency.uniform(0.2, 1.4), {"safety_margin": 0.10}, up_fraction=0.5
    )
    assert warnings
    for message in warnings:
        assert "no other integration" in message
        assert "safety_margin" in message
        assert "another integration of the institution sends" not in message


async def test_another_integration_is_named_when_the_counter_shows_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bursts = [second + 0.5 + k * 0.002 for second in range(200) for k in range(12)]
    warnings = await harvest_warnings(
        caplog, Latency.uniform(0.2, 0.8), up_fraction=0.02, foreign_arrivals=bursts
    )
    assert warnings
    assert any("another integration of the institution sends about" in m for m in warnings)
    assert not any("no other integration" in m for m in warnings)


async def test_a_count_written_at_departure_is_named_not_called_missing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The header is there, but written as each response leaves: its order is not that of the
    # arrivals, so the automatic margin cannot read the jitter from it (nor the others).
    warnings = await harvest_warnings(
        caplog, Latency.uniform(0.2, 1.4), up_fraction=0.5, remaining_header="departure"
    )
    assert warnings
    for message in warnings:
        assert "written as responses leave" in message
        assert "safety_margin" in message
        assert "without X-Exl-Api-Remaining" not in message


async def test_a_missing_header_is_named_as_missing(caplog: pytest.LogCaptureFixture) -> None:
    warnings = await harvest_warnings(
        caplog, Latency.uniform(0.2, 1.4), up_fraction=0.5, remaining_header="none"
    )
    assert warnings
    for message in warnings:
        assert "without X-Exl-Api-Remaining the two cannot be told apart" in message
        assert "written as responses leave" not in message


async def test_a_counter_left_unread_says_how_to_read_it(caplog: pytest.LogCaptureFixture) -> None:
    warnings = await harvest_warnings(
        caplog,
        Latency.uniform(0.2, 1.4),
        {"governance": Governance.local(safety_margin=0.10, room_for_others=False)},
        up_fraction=0.5,
    )
    assert warnings
    for message in warnings:
        assert "is not read" in message
        assert 'safety_margin="auto"' in message

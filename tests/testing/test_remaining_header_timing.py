"""When the simulated gateway writes ``X-Exl-Api-Remaining``: at arrival, at departure, or never."""

from __future__ import annotations

import anyio
import httpx
import pytest
from click.testing import CliRunner

from esploro_async.cli.app import cli
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.__main__ import build_parser

RS = "/esploro/v1/researchers/R00000001"


async def _two_overlapping(timing: str) -> tuple[list[str | None], SimulatedGateway]:
    """A slow request (1 s, half before arrival) and one arriving while it is served."""
    gw = SimulatedGateway(
        SyntheticInstitution(seed=2, researchers=5, assets=5),
        latency=Latency.fixed(1.0),
        daily_quota=100,
        remaining_header=timing,  # type: ignore[arg-type]
    )
    headers = {"Accept": "application/json", "Authorization": f"apikey {SIM_API_KEY}"}
    seen: dict[int, str | None] = {}
    async with httpx.AsyncClient(
        transport=gw.transport(), base_url="http://esploro.localhost", headers=headers
    ) as client:

        async def get(index: int, delay: float) -> None:
            await anyio.sleep(delay)
            seen[index] = (await client.get(RS)).headers.get("X-Exl-Api-Remaining")

        async with anyio.create_task_group() as tg:
            tg.start_soon(get, 0, 0.0)
            tg.start_soon(get, 1, 0.2)  # arrives at 0.7, before the first leaves at 1.0
    return [seen[0], seen[1]], gw


@pytest.mark.looptime
async def test_at_arrival_each_response_carries_the_count_after_its_own_request() -> None:
    remaining, _ = await _two_overlapping("arrival")
    assert remaining == ["99", "98"]


@pytest.mark.looptime
async def test_at_departure_a_response_shows_requests_that_arrived_while_it_was_served() -> None:
    remaining, gw = await _two_overlapping("departure")
    assert remaining == ["98", "98"]
    assert gw.quota_remaining == 98


@pytest.mark.looptime
async def test_none_omits_the_header_and_still_counts() -> None:
    remaining, gw = await _two_overlapping("none")
    assert remaining == [None, None]
    assert gw.quota_remaining == 98


def test_an_unknown_timing_is_refused() -> None:
    with pytest.raises(ValueError, match="remaining_header"):
        SimulatedGateway(remaining_header="later")  # type: ignore[arg-type]


def test_simulate_serve_takes_the_timing() -> None:
    assert build_parser().parse_args(["serve"]).remaining_header == "arrival"
    args = build_parser().parse_args(["serve", "--remaining-header", "departure"])
    assert args.remaining_header == "departure"
    help_text = CliRunner().invoke(cli, ["simulate", "serve", "--help"]).output
    assert "--remaining-header" in help_text
    bad = CliRunner().invoke(cli, ["simulate", "serve", "--remaining-header", "later"])
    assert bad.exit_code == 2

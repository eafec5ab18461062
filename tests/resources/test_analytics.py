"""``client.analytics`` paths and test against the simulated gateway."""

from __future__ import annotations

import pytest
from resource_sim import Recorder, calls

from esploro_async import EsploroClient, NotFoundError
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]  # the gw, client, ro_client and recorder fixtures


async def test_paths_root_and_folder(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    root = await client.analytics.paths()
    assert [p.path for p in root] == ["/shared"]
    assert root[0].is_folder
    assert not root[0].is_report
    assert calls(gw)[-1].path == "/esploro/v1/researchanalytics/paths"
    reports = await client.analytics.paths("/shared/Sim University/Reports/")
    assert [p.name for p in reports] == ["Empty", "Research assets", "Researchers", "Single row"]
    assert all(p.is_report for p in reports)
    assert recorder.last().url.raw_path == (
        b"/esploro/v1/researchanalytics/paths/shared/Sim%20University/Reports"
    )
    with pytest.raises(NotFoundError):
        await client.analytics.paths("/shared/Nope")


async def test_report_rows(client: EsploroClient) -> None:
    rows = [r async for r in client.analytics.report("/shared/Sim University/Reports/Single row")]
    assert len(rows) == 1


async def test_analytics_test(client: EsploroClient) -> None:
    result = await client.analytics.test()
    assert result.path == "/esploro/v1/researchanalytics/test"
    assert result.message == "GET request successful"

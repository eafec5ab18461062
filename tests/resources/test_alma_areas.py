"""``client.alma``: Alma users, Alma Analytics and Alma code tables, areas like the others.

Shapes: an Alma user as Alma answers it (``tests/fixtures/public/user_response.json``, from
scriptotek/php-alma-client), the ``systemJobStatus`` code table
(``codetable_response.json``), and the Alma Analytics answers of the same repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from resource_sim import BASE_URL, calls

from esploro_async import EsploroClient, NotFoundError
from esploro_async.models import JOB_STATUSES
from esploro_async.testing import SIM_API_KEY, Fault, SimulatedGateway, SyntheticInstitution

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]

PUBLIC = Path(__file__).parent.parent / "fixtures" / "public"


async def test_an_alma_user_is_the_researcher_record(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    rid = gw.institution.researchers.ids()[0]
    user = await client.alma.users.get(rid)
    researcher = await client.researchers.get(rid)
    assert user.to_dict() == researcher.to_dict()
    assert calls(gw)[0].path == f"/almaws/v1/users/{rid}"
    with pytest.raises(NotFoundError):
        await client.alma.users.get("nobody")
    assert (await client.alma.users.test()).path == "/almaws/v1/users/test"


async def test_a_real_alma_user_reads() -> None:
    body = (PUBLIC / "user_response.json").read_bytes()
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    transport = httpx.MockTransport(answer)
    async with EsploroClient("k", base_url=BASE_URL, transport=transport) as client:
        user = await client.alma.users.get("12345")
    assert seen == ["/almaws/v1/users/12345"]
    assert user.primary_id == "12345"
    assert user.user_full_name == "Dan Banan"
    assert user.full_name == "Dan Banan"  # no researcher object: the user's name
    assert ("UNIV_ID", "test@uio.no") in user.identifiers
    assert user.to_dict() == json.loads(body)


async def test_alma_code_tables(client: EsploroClient, gw: SimulatedGateway) -> None:
    table = await client.alma.code_table("systemJobStatus")
    assert tuple(table.as_mapping()) == JOB_STATUSES
    assert table.as_mapping()["USER_ABORTED"] == "Aborted by User"
    assert calls(gw)[0].path == "/almaws/v1/conf/code-tables/systemJobStatus"
    with pytest.raises(NotFoundError):
        await client.alma.code_table("NoSuchTable")


async def test_alma_analytics_reads_like_esploro_analytics() -> None:
    institution = SyntheticInstitution(seed=2, researchers=5, assets=60)
    gw = SimulatedGateway(
        institution, faults=[Fault("report_loading", endpoint="analytics", max_count=1)]
    )
    path = "/shared/Sim University/Reports/Research assets"
    async with EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=gw.transport()) as client:
        alma = [row async for row in client.alma.analytics.report(path, limit=25)]
        esploro = [row async for row in client.analytics.report(path, limit=25)]
        with pytest.raises(NotFoundError, match="Path not found"):
            _ = [r async for r in client.alma.analytics.report("/shared/none")]
        entries = await client.alma.analytics.paths("/shared/Sim University/Reports")
    assert alma == esploro
    assert len(alma) > 25  # more than one page
    reports = [r for r in gw.log if "reports" in r.path]
    assert reports[0].path == "/almaws/v1/analytics/reports"
    assert reports[0].status == 200  # the still-loading page, asked again
    assert {e.path for e in entries} >= {path}
    assert gw.log[-1].path.startswith("/almaws/v1/analytics/paths")

"""``client.organizations`` and ``client.activities`` against the simulated gateway."""

from __future__ import annotations

import pytest
from resource_sim import Recorder, calls, query

from esploro_async import AuthenticationError, BadRequestError, EsploroClient, NotFoundError
from esploro_async.models import Activity
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]  # the gw, client, ro_client and recorder fixtures


async def test_organizations_list(client: EsploroClient, gw: SimulatedGateway) -> None:
    orgs = [o async for o in client.organizations.list(page_size=5, params={"x": "1"})]
    expected = gw.institution.organizations
    assert [o.to_dict() for o in orgs] == expected
    assert orgs[1].organization_code == "SIM_INST___D01"
    assert orgs[1].name == "Faculty of Engineering"
    assert {o.view for o in orgs} == {"brief"}
    logged = calls(gw)
    assert {r.path for r in logged} == {"/esploro/v1/organizations/internal"}
    assert {query(r)["limit"] for r in logged} == {"5"}
    assert {query(r)["x"] for r in logged} == {"1"}


async def test_organization_get(client: EsploroClient, gw: SimulatedGateway) -> None:
    org = await client.organizations.get("SIM_INST___D01")
    assert org.organization_code == "SIM_INST___D01"
    assert org.parent_organization_code == "SIM_INST___ROOT"
    assert org.view == "full"
    assert calls(gw)[-1].path == "/esploro/v1/organizations/internal/SIM_INST___D01"
    with pytest.raises(NotFoundError) as info:
        await client.organizations.get("NOPE")
    assert info.value.error_code == "402885"


async def test_organizations_test(client: EsploroClient) -> None:
    result = await client.organizations.test()
    assert result.path == "/esploro/v1/organizations/test"
    assert result.message == "GET request successful"


async def test_activity_create(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    # the snake_case body of the Create Activity API (issue #13; see models.activity)
    body = {
        "activity_name": [{"language": "en", "value": "Guest lecture ✓"}],
        "activity_category": {"value": "activity.teaching", "desc": "Teaching"},
        "member_researcher": [{"user_primary_id": "R00000001"}],
        "activity_start_date": "2026-02-01",
    }
    created = await client.activities.create(body)
    assert created.name == "Guest lecture ✓"
    assert created.names == {"en": "Guest lecture ✓"}
    assert created.category is not None
    assert created.category.value == "activity.teaching"
    assert created.researcher_user_id == "R00000001"
    assert gw.institution.activities == [body]
    req = recorder.last()
    assert (req.method, req.url.path) == ("POST", "/esploro/v1/activities")
    assert req.headers["content-type"] == "application/json"
    assert recorder.last_json() == body
    typed = Activity.from_dict({})
    typed.name = "x"
    typed.category = "activity.service"
    typed.researcher_user_id = "R00000002"
    await client.activities.create(typed)
    assert gw.institution.activities[-1] == {
        "activity_name": [{"value": "x"}],
        "activity_category": {"value": "activity.service"},
        "member_researcher": [{"user_primary_id": "R00000002"}],
    }


async def test_the_simulator_refuses_camel_case_and_unknown_researchers(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    with pytest.raises(BadRequestError, match="activity_name"):
        await client.activities.create({"activityName": "x", "researcherUserID": "R00000001"})
    with pytest.raises(NotFoundError) as unknown:
        await client.activities.create(
            {
                "activity_name": [{"value": "x"}],
                "activity_category": {"value": "activity.teaching"},
                "member_researcher": [{"user_primary_id": "nobody"}],
            }
        )
    assert unknown.value.error_code == "401861"
    assert gw.institution.activities == []


async def test_activity_create_needs_write_permission(
    ro_client: EsploroClient, gw: SimulatedGateway
) -> None:
    with pytest.raises(AuthenticationError):
        await ro_client.activities.create({"activity_name": [{"value": "x"}]})
    assert gw.institution.activities == []
    with pytest.raises(TypeError):
        await ro_client.activities.create(["not", "an", "object"])  # type: ignore[arg-type]

"""``client.config``: sets, jobs, code tables, profiles, mapping tables, on the simulator.

Shapes follow the real payloads of the Esploro files-loader Cloud App (set create / members
/ job run answers) and ``tests/fixtures/real`` (jobs list, job details, job instance).
"""

from __future__ import annotations

import pytest
from resource_sim import calls, query

from esploro_async import AuthenticationError, EsploroClient, NotFoundError
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]  # the gw, client, ro_client and recorder fixtures

IER_SET = "9500000020004321"


async def test_sets_with_filters(client: EsploroClient, gw: SimulatedGateway) -> None:
    every = [s async for s in client.config.sets.list()]
    assert [s.id for s in every] == [s["id"] for s in gw.institution.sets]
    gw.reset_log()
    ier = [s async for s in client.config.sets.list(content_type="IER", q="name~files")]
    assert [s.name for s in ier] == ["CloudApp-FilesLoaderSet-sim"]
    assert ier[0].view == "brief"
    (call,) = calls(gw)
    assert call.path == "/esploro/v1/researchconf/sets"
    assert query(call)["content_type"] == "IER"
    assert query(call)["q"] == "name~files"


async def test_get_set_and_members(client: EsploroClient, gw: SimulatedGateway) -> None:
    s = await client.config.sets.get(IER_SET)
    assert s.id == IER_SET
    assert s.content is not None
    assert s.content.value == "IER"
    assert s.number_of_members == 120
    assert calls(gw)[-1].path == f"/almaws/v1/conf/sets/{IER_SET}"
    members = [m async for m in client.config.sets.members(IER_SET).list()]
    assert [m.id for m in members] == gw.institution.assets.ids()[:120]
    assert members[0].link is not None
    assert members[0].link.endswith(members[0].id or "?")
    assert {r.path for r in calls(gw)[1:]} == {f"/esploro/v1/researchconf/sets/{IER_SET}/members"}
    with pytest.raises(NotFoundError):
        await client.config.sets.get("404")
    with pytest.raises(ValueError, match="set id"):
        client.config.sets.members("")


async def test_code_table(client: EsploroClient, gw: SimulatedGateway) -> None:
    table = await client.config.code_table("UserTitles")
    assert table.name == "UserTitles"
    assert table.as_mapping()["DR"] == "Dr."
    assert calls(gw)[-1].path == "/esploro/v1/researchconf/code-tables/UserTitles"
    with pytest.raises(NotFoundError):
        await client.config.code_table("Nope")


async def test_import_profiles(client: EsploroClient, gw: SimulatedGateway) -> None:
    profiles = [p async for p in client.config.import_profiles()]
    assert [p.name for p in profiles] == ["Crossref import", "ORCID harvest", "Scopus daily"]
    assert calls(gw)[-1].path == "/esploro/v1/researchconf/md-import-profiles"
    one = await client.config.import_profile(profiles[1].id or "")
    assert one.name == "ORCID harvest"
    assert one.view == "full"
    assert calls(gw)[-1].path == f"/esploro/v1/researchconf/md-import-profiles/{profiles[1].id}"
    with pytest.raises(NotFoundError):
        await client.config.import_profile("0")


async def test_jobs(client: EsploroClient, gw: SimulatedGateway) -> None:
    jobs = [j async for j in client.config.jobs.list(params={"type": "MANUAL"})]
    assert len(jobs) == len(gw.institution.jobs)
    assert {query(r)["type"] for r in calls(gw)} == {"MANUAL"}
    assert {r.path for r in calls(gw)} == {"/almaws/v1/conf/jobs"}
    job = await client.config.jobs.get("M50173")
    assert job.id == "M50173"
    assert job.view == "full"
    assert calls(gw)[-1].path == "/almaws/v1/conf/jobs/M50173"
    with pytest.raises(NotFoundError):
        await client.config.jobs.get("M0")


async def test_job_instances(client: EsploroClient, gw: SimulatedGateway) -> None:
    runs = [r async for r in client.config.jobs.instances("M50173").list()]
    assert [r.id for r in runs] == ["9563643080000561"]
    assert calls(gw)[-1].path == "/almaws/v1/conf/jobs/M50173/instances"
    run = await client.config.jobs.instances("M50173").get("9563643080000561")
    assert run.id == "9563643080000561"
    assert run.status is not None
    assert calls(gw)[-1].path == "/almaws/v1/conf/jobs/M50173/instances/9563643080000561"
    with pytest.raises(NotFoundError):
        await client.config.jobs.instances("M50173").get("1")


async def test_flat_verbs_still_work_with_a_deprecation_warning(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    with pytest.warns(DeprecationWarning, match=r"sets\.list"):
        assert [s.id async for s in client.config.sets(content_type="IER")]
    with pytest.warns(DeprecationWarning, match=r"sets\.get"):
        assert (await client.config.get_set(IER_SET)).id == IER_SET
    with pytest.warns(DeprecationWarning, match=r"members\(id\)\.list"):
        assert len([m async for m in client.config.set_members(IER_SET)]) == 120
    with pytest.warns(DeprecationWarning, match=r"jobs\.list"):
        assert [j async for j in client.config.jobs(page_size=100)]
    with pytest.warns(DeprecationWarning, match=r"jobs\.get"):
        assert (await client.config.job("M50173")).id == "M50173"
    with pytest.warns(DeprecationWarning, match=r"instances\(id\)\.list"):
        assert [r async for r in client.config.job_instances("M50173")]
    with pytest.warns(DeprecationWarning, match=r"instances\(id\)\.get"):
        assert (await client.config.job_instance("M50173", "9563643080000561")).is_finished


async def test_mapping_tables(client: EsploroClient, gw: SimulatedGateway) -> None:
    tables = await client.config.mapping_tables()
    assert len(tables) == len(gw.institution.mapping_tables_list["mapping_table"])
    assert {t.view for t in tables} == {"brief"}
    assert calls(gw)[-1].path == "/esploro/v1/conf/mapping-tables"
    table = await client.config.mapping_table("AssetFileAndLinkTypes")
    assert table.code == "AssetFileAndLinkTypes"
    assert table.rows
    assert calls(gw)[-1].path == "/esploro/v1/conf/mapping-tables/AssetFileAndLinkTypes"
    with pytest.raises(NotFoundError):
        await client.config.mapping_table("Nope")


async def test_config_test(client: EsploroClient, ro_client: EsploroClient) -> None:
    result = await client.config.test()
    assert result.path == "/esploro/v1/researchconf/test"
    with pytest.raises(AuthenticationError):
        await ro_client.config.test(write=True)

"""The simulated Esploro API surface: researchers, assets, conf, analytics, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from defusedxml import ElementTree as SafeET

from esploro_async.testing import SIM_API_KEY, SimulatedGateway, SyntheticInstitution
from esploro_async.testing import _generate as gen

BASE = "http://esploro.localhost"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "real"
RS = "/esploro/v1/researchers"
AS = "/esploro/v1/assets"
REPORTS = "/esploro/v1/researchanalytics/reports"
XML_HEADERS = {"Accept": "application/xml"}


def client_for(gw: SimulatedGateway, accept: str = "application/json") -> httpx.AsyncClient:
    headers = {"Accept": accept, "Authorization": f"apikey {SIM_API_KEY}"}
    return httpx.AsyncClient(transport=gw.transport(), base_url=BASE, headers=headers)


def gateway(**kw: Any) -> SimulatedGateway:
    inst = SyntheticInstitution(seed=7, researchers=kw.pop("researchers", 40), assets=50)
    return SimulatedGateway(inst, **kw)


def err(r: httpx.Response) -> str:
    code: str = r.json()["errorList"]["error"][0]["errorCode"]
    return code


async def test_researchers_list_pages_brief_records_and_omits_the_list_past_the_end() -> None:
    gw = gateway(researchers=205)
    async with client_for(gw) as c:
        page = (await c.get(RS, params={"limit": 100, "offset": 200})).json()
        assert page["total_record_count"] == 205
        assert [u["primary_id"] for u in page["user"]] == [
            gen.researcher_id(n) for n in range(200, 205)
        ]
        brief = page["user"][0]
        assert set(brief) >= {
            "primary_id",
            "first_name",
            "last_name",
            "status",
            "is_researcher",
            "link",
        }
        assert brief["link"] == f"{BASE}{RS}/R00000200"
        empty = (await c.get(RS, params={"limit": 100, "offset": 205})).json()
        assert empty == {"total_record_count": 205}  # the list key is omitted


async def test_researcher_get_full_view() -> None:
    async with client_for(gateway(researchers=205)) as c:
        full = (await c.get(f"{RS}/R00000003", params={"view": "full"})).json()
    assert full["researcher"]["researcher_last_name"] == full["last_name"]
    ids = {i["id_type"]["value"]: i["value"] for i in full["user_identifier"]}
    assert len(ids["ORCID"]) == 19
    assert full["status"]["value"] in ("ACTIVE", "INACTIVE")
    assert full["job_description"] is None


async def test_researchers_unknown_id_and_limit_too_high_are_400s_with_real_codes() -> None:
    async with client_for(gateway(researchers=205)) as c:
        # an unknown id: HTTP 400 with 401861, as the real gateway answers (not 404)
        r = await c.get(f"{RS}/nobody")
        assert r.status_code == 400
        assert err(r) == "401861"
        assert r.json()["result"] is None
        r = await c.get(f"{RS}/nobody", headers=XML_HEADERS)
        assert r.status_code == 400
        assert "<errorCode>401861</errorCode>" in r.text
        r = await c.get(RS, params={"limit": 101})
        assert r.status_code == 400
        assert err(r) == "40166411"


def test_non_ascii_names_exist() -> None:
    names = {gen.person_name(0, n)[2] for n in range(300)}
    assert any(not n.isascii() for n in names)
    assert "王" in names or any("Ł" in n for n in names)


async def test_put_is_swap_all() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        rec = (await c.get(f"{RS}/R00000002")).json()
        assert "contact_info" in rec
        assert "researcher" in rec
        body = {"primary_id": "R00000002", "last_name": "Müller-Łukasiewicz", "first_name": "José"}
        r = await c.put(f"{RS}/R00000002", json=body)
        assert r.status_code == 200
        back = (await c.get(f"{RS}/R00000002")).json()
        assert back == body
        assert list(back) == ["primary_id", "last_name", "first_name"]
        assert "contact_info" not in back
        assert "researcher" not in back
        brief = (await c.get(f"{RS}/R00000002", params={"view": "brief"})).json()
        assert "status" not in brief  # dropped fields are really gone
        r = await c.put(f"{RS}/R99999999", json=body)
        assert r.status_code == 400


async def test_create_refuse_a_duplicate_then_delete_a_researcher() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        new = {"primary_id": "jdoe", "first_name": "王", "last_name": "芳", "is_researcher": True}
        assert (await c.post(RS, json=new)).status_code == 200
        r = await c.post(RS, json=new)
        assert r.status_code == 400
        assert err(r) == "401858"
        assert (await c.get(f"{RS}/jdoe")).json() == new
        assert (await c.get(RS, params={"limit": 1})).json()["total_record_count"] == 41
        r = await c.delete(f"{RS}/jdoe")
        assert r.status_code == 204
        assert r.content == b""
        assert (await c.get(f"{RS}/jdoe")).status_code == 400
        assert (await c.delete(f"{RS}/jdoe")).status_code == 400


async def test_researchers_orcid_token_and_test_paths() -> None:
    async with client_for(gateway()) as c:
        token = {
            "access.token": "abc",
            "token.type": "bearer",
            "refresh.token": "def",
            "expiry": "631138518",
            "scopes": ["/read-limited", "/activities/update", "/person/update"],
        }
        r = await c.post(f"{RS}/0000-0002-1825-0097/token", json=token)
        assert r.status_code == 200
        assert r.json() == token
        assert (await c.post(f"{RS}/not-an-orcid/token", json=token)).status_code == 400
        assert (await c.get(f"{RS}/test")).json() == {"test": "GET request successful"}
        assert (await c.post(f"{RS}/test")).status_code == 200


async def test_drift_helpers() -> None:
    gw = gateway()
    store = gw.institution.researchers
    async with client_for(gw) as c:
        first = (await c.get(RS, params={"limit": 10})).json()["user"]
        new_id = store.insert(0)
        second = (await c.get(RS, params={"limit": 10, "offset": 10})).json()["user"]
        assert store.delete("R00000005")
        third = (await c.get(RS, params={"limit": 10, "offset": 20})).json()["user"]
    assert first[-1]["primary_id"] == "R00000009"
    assert second[0]["primary_id"] == "R00000009"  # the insert shifted it: seen twice
    assert third[0]["primary_id"] == "R00000020"  # +1 insert, -1 delete: no net shift
    assert store.ids()[0] == new_id
    assert len(store) == 40
    assert store.get("R00000005") is None
    got = store.get(new_id)
    assert got is not None
    assert got["primary_id"] == new_id


async def test_assets_by_ids() -> None:
    gw = gateway()
    a = [gen.asset_id(n) for n in (3, 1, 2)]
    async with client_for(gw) as c:
        r = await c.get(f"{AS}/{a[0]},{a[1]},missing,{a[2]}")
        data = r.json()
        assert data["totalRecordCount"] == 3
        assert [x["originalRepository"]["assetId"] for x in data["records"]] == a
        r = await c.get(f"{AS}/{a[0]}%2C{a[1]}", params={"limit": 1, "offset": 1})
        data = r.json()
        assert data["totalRecordCount"] == 2
        assert [x["originalRepository"]["assetId"] for x in data["records"]] == [a[1]]
        r = await c.get(f"{AS}/missing1,missing2")
        assert r.status_code == 400
        assert err(r) == "402880"


async def test_an_asset_has_the_real_value_types_and_refuses_put_and_delete() -> None:
    aid = gen.asset_id(3)
    async with client_for(gateway()) as c:
        rec = (await c.get(f"{AS}/{aid}")).json()["records"][0]
        assert rec["etd"] == {}
        assert rec["identifier.doi"] == gen.asset_doi(3)
        assert isinstance(rec["asset.views"], int)
        assert isinstance(rec["creators"][0]["order"], str)
        for method in ("PUT", "DELETE"):
            r = await c.request(method, f"{AS}/{aid}")
            assert r.status_code == 405


async def test_assets_xml_view() -> None:
    gw = gateway()
    aid = gen.asset_id(4)
    async with client_for(gw, accept="application/xml") as c:
        r = await c.get(f"{AS}/{aid}")
    assert r.headers["content-type"] == "application/xml;charset=UTF-8"
    root = SafeET.fromstring(r.content)
    assert root.tag == "{http://rest_esploro}records"
    assert root.get("total_record_count") == "1"
    record = root.find("record")
    assert record is not None
    assert record.findtext("originalRepository/assetId") == aid
    assert record.find("creators/creator") is not None


async def test_assets_search_requires_filter() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        r = await c.get(AS)
        assert r.status_code == 400
        assert err(r) == "40166410"
        r = await c.get(AS, params={"doi": f"{gen.asset_doi(7)},10.1/none"})
        assert r.json()["totalRecordCount"] == 1
        assert r.json()["records"][0]["originalRepository"]["assetId"] == gen.asset_id(7)
        all_ = (await c.get(AS, params={"update_date_from": "2000-01-01", "limit": 100})).json()
        assert all_["totalRecordCount"] == 50
        some = (await c.get(AS, params={"update_date_from": "2020-06-01", "limit": 100})).json()
        assert 0 < some["totalRecordCount"] < 50
        assert (await c.get(AS, params={"update_date_from": "junk"})).status_code == 400


async def test_create_asset() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        r = await c.post(
            AS, json={"records": [{"title": "New", "resourcetype.esploro": "dataset.dataset"}]}
        )
        assert r.status_code == 200
        aid = r.json()["records"][0]["originalRepository"]["assetId"]
        assert (await c.get(f"{AS}/{aid}")).json()["records"][0]["title"] == "New"
        dup = {"records": [{"originalRepository": {"assetId": aid}}]}
        assert (await c.post(AS, json=dup)).status_code == 400


PATCH_LINK = {"link.url": "https://example.org/x", "link.type": "published"}
PATCH_BODY = {"records": [{"title": "Other", "date.accepted": "20240101", "links": [PATCH_LINK]}]}


async def test_patch_add_json_keeps_fills_and_appends() -> None:
    gw = gateway()
    aid = gen.asset_id(0)
    store = gw.institution.assets
    before = store.get(aid)
    assert before is not None
    async with client_for(gw) as c:
        r = await c.post(f"{AS}/{aid}", params={"op": "patch", "action": "add"}, json=PATCH_BODY)
    assert r.status_code == 200
    after_add = store.get(aid)
    assert after_add is not None
    assert after_add["title"] == before["title"]  # simple field kept (not empty)
    assert after_add["date.accepted"] == "20240101"  # empty simple field set
    assert after_add["links"] == [*before.get("links", []), PATCH_LINK]  # list appended


async def test_patch_replace_json_sets_fields_and_swaps_lists() -> None:
    gw = gateway()
    aid = gen.asset_id(0)
    store = gw.institution.assets
    async with client_for(gw) as c:
        url = f"{AS}/{aid}"
        await c.post(url, params={"op": "patch", "action": "add"}, json=PATCH_BODY)
        await c.post(url, params={"op": "patch", "action": "replace"}, json=PATCH_BODY)
    after_rep = store.get(aid)
    assert after_rep is not None
    assert after_rep["title"] == "Other"
    assert after_rep["links"] == [PATCH_LINK]  # list swapped


async def test_patch_json_refuses_identifiers_and_bad_actions_takes_links_to_extract() -> None:
    gw = gateway()
    aid = gen.asset_id(0)
    store = gw.institution.assets
    async with client_for(gw) as c:
        url = f"{AS}/{aid}"
        r = await c.post(
            url, params={"action": "add"}, json={"records": [{"identifier.doi": "10.1/x"}]}
        )
        assert r.status_code == 400
        assert err(r) == "402882"
        files = {"records": [{"temporary": {"linksToExtract": [{"link.url": "https://f/1.pdf"}]}}]}
        r = await c.post(url, params={"action": "add"}, json=files)
        assert r.status_code == 200
        assert store.get(aid)["temporary"]["linksToExtract"][0]["link.url"] == "https://f/1.pdf"  # type: ignore[index]
        r = await c.post(url, params={"action": "bogus"}, json=PATCH_BODY)
        assert r.status_code == 400


PATCH_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<ns3:records total_record_count="1" xmlns:ns2="http://esploro_record" '
    'xmlns:ns3="http://rest_esploro"><record><identifier.doi>10.20/30456</identifier.doi>'
    "<identifier.isbn>978-3-16-148410-0</identifier.isbn><language>ger</language>"
    "</record></ns3:records>"
)
XML_IN_AND_OUT = {"Content-Type": "application/xml", "Accept": "application/xml"}


async def test_patch_xml_identifiers_add_keeps_a_value_and_fills_the_others() -> None:
    gw = gateway()
    aid = gen.asset_id(1)
    async with client_for(gw) as c:
        r = await c.post(
            f"{AS}/{aid}",
            params={"op": "patch", "action": "add"},
            content=PATCH_XML,
            headers=XML_IN_AND_OUT,
        )
    assert r.status_code == 200, r.text
    assert r.text.startswith("<?xml")
    rec = gw.institution.assets.get(aid)
    assert rec is not None
    assert rec["identifier.doi"] == gen.asset_doi(1)  # add keeps a non-empty value
    assert rec["identifier.isbn"] == "978-3-16-148410-0"
    assert rec["language"][-1] == "ger"


async def test_patch_xml_identifiers_replace_sets_them_and_finds_the_asset_by_them() -> None:
    gw = gateway()
    aid = gen.asset_id(1)
    store = gw.institution.assets
    async with client_for(gw) as c:
        url = f"{AS}/{aid}"
        params = {"op": "patch", "action": "add"}
        await c.post(url, params=params, content=PATCH_XML, headers=XML_IN_AND_OUT)
        await c.post(url, params={"action": "replace"}, content=PATCH_XML, headers=XML_IN_AND_OUT)
        rec = store.get(aid)
        assert rec is not None
        assert rec["identifier.doi"] == "10.20/30456"
        assert rec["language"] == ["ger"]
        found = (await c.get(AS, params={"doi": "10.20/30456"})).json()
        assert found["records"][0]["originalRepository"]["assetId"] == aid


async def test_patch_xml_refuses_links_to_extract() -> None:
    aid = gen.asset_id(1)
    bad = PATCH_XML.replace(
        "<language>ger</language>",
        "<temporary><linksToExtract><linkToExtract><link.url>u</link.url></linkToExtract>"
        "</linksToExtract></temporary>",
    )
    async with client_for(gateway()) as c:
        r = await c.post(
            f"{AS}/{aid}", params={"action": "add"}, content=bad, headers=XML_IN_AND_OUT
        )
    assert r.status_code == 400
    assert "<errorCode>402883</errorCode>" in r.text


async def test_real_fixture_record_served_back_identical() -> None:
    single = json.loads((FIXTURES / "asset-get-single.json").read_text("utf-8"))
    many = json.loads((FIXTURES / "assets-get-by-ids.json").read_text("utf-8"))
    inst = SyntheticInstitution.from_fixtures(
        FIXTURES / "asset-get-single.json", FIXTURES / "assets-get-by-ids.json"
    )
    gw = SimulatedGateway(inst)
    aid = single["records"][0]["originalRepository"]["assetId"]
    async with client_for(gw) as c:
        r = await c.get(f"{AS}/{aid}")
        assert r.json() == single
        assert json.dumps(r.json()["records"][0]) == json.dumps(single["records"][0])  # key order
        ids = ",".join(x["originalRepository"]["assetId"] for x in many["records"])
        r = await c.get(f"{AS}/{ids}", params={"limit": 10, "offset": 0})
        assert r.json() == many
        listed = (await c.get(AS, params={"doi": single["records"][0]["identifier.doi"]})).json()
        assert listed["records"] == single["records"]


async def test_internal_organizations_list_and_get() -> None:
    async with client_for(gateway()) as c:
        orgs = (await c.get("/esploro/v1/organizations/internal", params={"limit": 5})).json()
        assert len(orgs["research_organization"]) == 5
        code = orgs["research_organization"][1]["organization_code"]
        one = await c.get(f"/esploro/v1/organizations/internal/{code}")
        assert one.json()["organization_code"] == code
        assert (await c.get("/esploro/v1/organizations/internal/NOPE")).status_code == 400


async def test_activities_refuse_camel_case_and_keep_what_was_posted() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        camel = {"activityCategory": "activity.teaching", "activityName": "Course"}
        assert (await c.post("/esploro/v1/activities", json=camel)).status_code == 400
        act = {
            "activity_name": [{"language": "en", "value": "Course"}],
            "activity_category": {"value": "activity.teaching"},
            "member_researcher": [{"user_primary_id": "R00000001"}],
        }
        assert (await c.post("/esploro/v1/activities", json=act)).json() == act
    assert gw.institution.activities == [act]


async def test_research_sets_by_content_type_and_name_and_their_members() -> None:
    async with client_for(gateway()) as c:
        sets = (await c.get("/esploro/v1/researchconf/sets", params={"content_type": "IER"})).json()
        assert sets["total_record_count"] == 2
        q = await c.get("/esploro/v1/researchconf/sets", params={"q": "name~FilesLoader"})
        sid = q.json()["set"][0]["id"]
        assert q.json()["total_record_count"] == 1
        members = await c.get(
            "/esploro/v1/researchconf/sets/9500000020004321/members", params={"limit": 10}
        )
        assert members.json()["total_record_count"] == 50
        assert len(members.json()["member"]) == 10
        empty = (await c.get(f"/esploro/v1/researchconf/sets/{sid}/members")).json()
        assert empty == {"total_record_count": 0}


async def test_conf_code_tables_jobs_and_instances() -> None:
    async with client_for(gateway()) as c:
        ct = (await c.get("/esploro/v1/researchconf/code-tables/UserTitles")).json()
        assert ct["row"][0]["code"] == "DR"
        jobs = (await c.get("/esploro/v1/researchconf/jobs", params={"limit": 100})).json()
        assert len(jobs["job"]) == 100
        job = (await c.get("/esploro/v1/researchconf/jobs/M50173")).json()
        assert job["name"] == "Import Research Assets Files"
        inst_xml = await c.get(
            "/esploro/v1/researchconf/jobs/M50173/instances/9563643080000561", headers=XML_HEADERS
        )
        assert '<status desc="Completed Successfully">COMPLETED_SUCCESS</status>' in inst_xml.text


async def test_conf_mapping_tables_and_import_profiles() -> None:
    async with client_for(gateway()) as c:
        tables = (await c.get("/esploro/v1/conf/mapping-tables")).json()
        assert tables["mapping_table"]
        table = (await c.get("/esploro/v1/conf/mapping-tables/AssetFileAndLinkTypes")).json()
        profiles = (await c.get("/esploro/v1/researchconf/md-import-profiles")).json()
    real = json.loads((FIXTURES / "mapping-table-AssetFileAndLinkTypes.json").read_text("utf-8"))
    assert table == real
    assert profiles["total_record_count"] == 3


async def test_each_area_answers_its_test_path_and_an_unknown_path_is_404() -> None:
    async with client_for(gateway()) as c:
        for area in ("researchconf", "researchanalytics", "organizations", "assets"):
            assert (await c.get(f"/esploro/v1/{area}/test")).status_code == 200
        r = await c.get("/esploro/v1/nothing/here")
        assert r.status_code == 404


def _rows(xml: bytes) -> tuple[Any, list[Any]]:
    root = SafeET.fromstring(xml)
    return root, root.findall(".//{*}Row")


RESEARCHERS_REPORT = "/shared/Sim University/Reports/Researchers"  # 137 rows
ROWSET = "{urn:schemas-microsoft-com:xml-analysis:rowset}"
XSD = "{http://www.w3.org/2001/XMLSchema}"


async def first_report_page(c: httpx.AsyncClient) -> tuple[Any, list[Any], str]:
    """The first page of 100 rows of the researchers report: its root, rows and token."""
    r1 = await c.get(REPORTS, params={"path": RESEARCHERS_REPORT, "limit": 100})
    root, rows = _rows(r1.content)
    token = root.findtext("QueryResult/ResumptionToken")
    assert token
    return root, rows, token


def column_headings(root: Any) -> dict[str, str]:
    """Column name -> heading, from the schema of a first page."""
    schema = root.find(f".//{XSD}schema")
    assert schema is not None
    return {
        el.get("name"): el.get("{urn:saw-sql}columnHeading") for el in schema.iter(f"{XSD}element")
    }


def primary_id_column(root: Any) -> str:
    return next(k for k, v in column_headings(root).items() if v == "Primary Identifier")


async def test_analytics_first_page_is_namespaced_with_a_schema_and_a_token() -> None:
    async with client_for(gateway(), accept="application/xml") as c:
        root, rows, _ = await first_report_page(c)
    assert root.findtext("QueryResult/IsFinished") == "false"
    assert len(rows) == 100
    assert rows[0].tag == f"{ROWSET}Row"
    heads = column_headings(root)
    assert heads["Column0"] == "0"  # spurious column
    assert set(heads.values()) == {"0", "Primary Identifier", "Researcher Name", "ORCID"}
    assert rows[0].findtext(f"{ROWSET}{primary_id_column(root)}") == "R00000000"


async def test_analytics_token_page_is_plain_and_finishes_the_report() -> None:
    async with client_for(gateway(), accept="application/xml") as c:
        root, _, token = await first_report_page(c)
        params: dict[str, str | int] = {"token": token, "limit": 100, "path": RESEARCHERS_REPORT}
        r2 = await c.get(REPORTS, params=params)
    root2, rows2 = _rows(r2.content)
    assert root2.find("QueryResult/ResumptionToken") is None  # only on page 1
    assert root2.findtext("QueryResult/IsFinished") == "true"
    assert b"xsd:schema" not in r2.content
    assert b"xmlns=" not in r2.content
    assert len(rows2) == 37
    assert rows2[0].tag == "Row"
    assert rows2[0].findtext(primary_id_column(root)) == "R00000100"


async def test_analytics_token_is_used_up_once_the_last_page_was_served() -> None:
    async with client_for(gateway(), accept="application/xml") as c:
        _, _, token = await first_report_page(c)
        params: dict[str, str | int] = {"token": token, "limit": 100, "path": RESEARCHERS_REPORT}
        assert (await c.get(REPORTS, params=params)).status_code == 200
        used = await c.get(REPORTS, params={"token": token, "path": RESEARCHERS_REPORT})
    assert used.status_code == 400
    assert b"<errorCode>420033</errorCode>" in used.content


async def test_analytics_refuses_a_limit_over_1000_an_unknown_token_and_path() -> None:
    async with client_for(gateway(), accept="application/xml") as c:
        r = await c.get(REPORTS, params={"path": RESEARCHERS_REPORT, "limit": 1001})
        assert r.status_code == 400
        assert (await c.get(REPORTS, params={"token": "nope"})).status_code == 400
        unknown = await c.get(REPORTS, params={"path": "/shared/none"})
    assert unknown.status_code == 500  # as the real gateway: "Path not found (...)"
    error = SafeET.fromstring(unknown.content).find(".//{*}error")
    assert error is not None
    assert error.findtext("{*}errorCode") == "INTERNAL_SERVER_ERROR"
    assert error.findtext("{*}errorMessage") == "Path not found (/shared/none)"


async def test_analytics_a_single_row_report_is_one_finished_page() -> None:
    async with client_for(gateway(), accept="application/xml") as c:
        single = await c.get(REPORTS, params={"path": "/shared/Sim University/Reports/Single row"})
    assert len(_rows(single.content)[1]) == 1
    assert b"<IsFinished>true</IsFinished>" in single.content


async def test_analytics_paths_list_the_institutions_reports() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        paths = (
            await c.get("/esploro/v1/researchanalytics/paths/shared/Sim University/Reports")
        ).json()
    assert {p["value"] for p in paths["path"]} == set(gw.institution.reports)


async def test_report_not_ready_fault_serves_the_real_empty_shape() -> None:
    from esploro_async.testing import Fault, FaultKind

    quirk = Fault(FaultKind.REPORT_NOT_READY, endpoint="analytics", requests={1})
    gw = gateway(faults=[quirk])
    path = "/shared/Sim University/Reports/Researchers"
    async with client_for(gw, "application/xml") as c:
        first = await c.get(REPORTS, params={"path": path, "limit": 25})
        assert first.status_code == 200
        root = SafeET.fromstring(first.content)
        result = root.find("QueryResult")
        assert result is not None
        token = result.findtext("ResumptionToken")
        assert token
        assert result.findtext("IsFinished") == "false"
        result_xml = result.find("ResultXml")
        assert result_xml is not None
        assert len(result_xml) == 0  # <ResultXml/>
        # the next page (with the token) is the first data page: namespaced, with the schema
        second = await c.get(REPORTS, params={"token": token})
        assert b"saw-sql:columnHeading" in second.content
        assert b'xmlns="urn:schemas-microsoft-com:xml-analysis:rowset"' in second.content


IMPORT_SET = "9500000020004321"  # the first 120 assets: all 50 of this institution
IMPORT_RUN = {"parameter": [{"name": {"value": "set_id"}, "value": IMPORT_SET}]}


async def start_the_import(c: httpx.AsyncClient, gw: SimulatedGateway) -> tuple[str, Any]:
    """Run M50173 on the set of all assets: the path of its instance, and the simulator's run."""
    r = await c.post("/almaws/v1/conf/jobs/M50173", params={"op": "run"}, json=IMPORT_RUN)
    assert r.status_code == 200
    link = r.json()["additional_info"]["link"]
    (run,) = gw.institution.job_runs.values()
    return link.removeprefix(BASE), run


@pytest.mark.looptime
async def test_job_run_takes_simulated_time_queued_then_running_then_completed() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        instance, run = await start_the_import(c, gw)
        assert run.duration == pytest.approx(4.0 + 0.02 * 50)
        queued = (await c.get(instance)).json()
        assert queued["status"]["value"] == "QUEUED"
        assert "counter" not in queued
        await anyio.sleep(run.duration / 2)
        running = (await c.get(instance)).json()
        assert running["status"]["value"] == "RUNNING"
        assert 0 < running["progress"] < 100
        await anyio.sleep(run.duration)
        done = (await c.get(instance)).json()
    assert done["status"] == {"value": "COMPLETED_SUCCESS", "desc": "Completed Successfully"}
    assert done["progress"] == 100


@pytest.mark.looptime
async def test_a_finished_job_run_ends_with_counters_and_is_listed() -> None:
    gw = gateway()
    async with client_for(gw) as c:
        instance, run = await start_the_import(c, gw)
        await anyio.sleep(run.duration * 1.5)
        done = (await c.get(instance)).json()
        listed = (await c.get("/almaws/v1/conf/jobs/M50173/instances")).json()
    counters = {x["type"]["value"]: x["value"] for x in done["counter"]}
    # no asset has links to extract: each succeeds with its (absent) file skipped
    assert counters["import_research_assets_files.asset_succeeded"] == "50"
    assert counters["import_research_assets_files.file_skipped_upload"] == "50"
    assert done["job_info"]["id"] == "M50173"
    assert [i["id"] for i in listed["job_instance"]][-1] == run.instance_id


async def test_job_run_refuses_a_body_without_parameters_and_a_missing_op() -> None:
    async with client_for(gateway()) as c:
        bad = await c.post("/almaws/v1/conf/jobs/M50173", params={"op": "run"}, json={})
        assert (bad.status_code, err(bad)) == (400, "40166410")
        wrong_op = await c.post("/almaws/v1/conf/jobs/M50173", json=IMPORT_RUN)
        assert (wrong_op.status_code, err(wrong_op)) == (400, "40166411")

"""``client.assets`` against the simulated gateway, in virtual time."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pytest
from resource_sim import Recorder, calls, query, stored_asset

from esploro_async import AuthenticationError, EsploroClient, NotFoundError
from esploro_async.errors import BadRequestError
from esploro_async.models import Asset
from esploro_async.resources import PatchFormatError
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]  # the gw, client, ro_client and recorder fixtures


def ids(gw: SimulatedGateway) -> list[str]:
    return gw.institution.assets.ids()


async def test_get(client: EsploroClient, gw: SimulatedGateway) -> None:
    aid = ids(gw)[3]
    asset = await client.assets.get(aid, params={"x_extra": "y"})
    assert asset.asset_id == aid
    assert asset.view == "full"
    assert asset.to_dict() == stored_asset(gw, aid)
    (call,) = calls(gw)
    assert call.path == f"/esploro/v1/assets/{aid}"
    assert query(call)["x_extra"] == "y"


async def test_get_errors(client: EsploroClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.assets.get("990000000000000")
    assert info.value.error_code == "402880"
    with pytest.raises(BadRequestError) as malformed:
        await client.assets.get("99nope")  # not unknown: impossible
    assert not isinstance(malformed.value, NotFoundError)
    assert malformed.value.error_code == "402204"
    assert "malformed" in str(malformed.value)
    with pytest.raises(ValueError, match="get_many"):
        await client.assets.get("1,2")
    with pytest.raises(ValueError, match="asset id is required"):
        await client.assets.get(" ")


async def test_get_many_250_ids_in_three_calls(client: EsploroClient, gw: SimulatedGateway) -> None:
    known = ids(gw)[:240]
    unknown = [f"99{n:08d}0009999" for n in range(10)]
    wanted = known + unknown
    random.Random(3).shuffle(wanted)
    # duplicates are asked once
    batch = await client.assets.get_many([*wanted, wanted[0], wanted[1]])
    logged = calls(gw, "GET")
    assert len(logged) == 3
    sizes = sorted(len(r.path.rsplit("/", 1)[1].split(",")) for r in logged)
    assert sizes == [50, 100, 100]
    assert all(query(r)["limit"] == "100" for r in logged)
    assert [a.asset_id for a in batch.found] == [i for i in wanted if i in set(known)]
    assert batch.missing == [i for i in wanted if i in set(unknown)]
    assert set(batch.by_id()) == set(known)
    assert all(a.view == "full" for a in batch.found)


async def test_get_many_chunk_of_unknown_ids_is_missing_not_an_error(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    wanted = [ids(gw)[0], "nope-1", "nope-2", "nope-3"]
    batch = await client.assets.get_many(wanted, chunk_size=2)
    assert [a.asset_id for a in batch.found] == [ids(gw)[0]]
    assert batch.missing == ["nope-1", "nope-2", "nope-3"]
    # the unknown chunk is answered HTTP 400 "402880", yet reported as missing
    assert sorted(r.status or 0 for r in calls(gw)) == [200, 400]
    assert (await client.assets.get_many([])).found == []
    with pytest.raises(ValueError, match="chunk_size"):
        await client.assets.get_many(["a"], chunk_size=101)


async def test_get_many_raises_the_typed_error_itself(
    sim_client_factory: Callable[..., EsploroClient], gw: SimulatedGateway
) -> None:
    client = sim_client_factory("not-a-known-key")
    with pytest.raises(AuthenticationError):
        await client.assets.get_many(ids(gw)[:250])


async def test_get_many_uses_encoded_commas(client: EsploroClient, recorder: Recorder) -> None:
    await client.assets.get_many(["a1", "b2"])
    assert recorder.last().url.raw_path.startswith(b"/esploro/v1/assets/a1%2Cb2?")


async def test_list_by_date_and_doi(client: EsploroClient, gw: SimulatedGateway) -> None:
    got = [a async for a in client.assets.list(update_date_from=dt.date(1900, 1, 1))]
    assert len(got) == 300
    assert {query(r)["update_date_from"] for r in calls(gw)} == {"1900-01-01"}
    gw.reset_log()
    doi = stored_asset(gw, ids(gw)[7])["identifier.doi"]
    found = [a async for a in client.assets.list(doi=[doi])]
    assert [a.asset_id for a in found] == [ids(gw)[7]]
    assert query(calls(gw)[0])["doi"] == doi
    with pytest.raises(ValueError, match="filter"):
        client.assets.list()


async def test_create(client: EsploroClient, gw: SimulatedGateway, recorder: Recorder) -> None:
    records: list[Asset | dict[str, Any]] = [
        {"title": "First", "originalRepository": {"assetId": "99NEW1"}},
        Asset.from_dict({"title": "Second", "originalRepository": {"assetId": "99NEW2"}}),
    ]
    created = await client.assets.create(records, is_draft=True, reject_duplicate=False)
    assert [a.title for a in created] == ["First", "Second"]
    assert stored_asset(gw, "99NEW1")["title"] == "First"
    req = recorder.last()
    assert (req.method, req.url.path) == ("POST", "/esploro/v1/assets")
    assert req.headers["content-type"] == "application/json"
    assert recorder.last_json() == {
        "records": [r if isinstance(r, dict) else r.to_dict() for r in records]
    }
    q = query(calls(gw)[-1])
    assert q["is_draft"] == "true"
    assert q["reject_duplicate"] == "false"
    assert "open_access_enrichment" not in q
    # one record alone is wrapped
    await client.assets.create({"title": "Third"}, import_profile="API")
    assert recorder.last_json() == {"records": [{"title": "Third"}]}
    assert query(calls(gw)[-1])["import_profile"] == "API"
    with pytest.raises(BadRequestError) as info:
        await client.assets.create({"originalRepository": {"assetId": "99NEW1"}})
    assert info.value.error_code == "402884"
    with pytest.raises(ValueError, match="at least one"):
        await client.assets.create([])


async def test_create_and_patch_need_write_permission(
    ro_client: EsploroClient, gw: SimulatedGateway
) -> None:
    with pytest.raises(AuthenticationError):
        await ro_client.assets.create({"title": "x"})
    with pytest.raises(AuthenticationError):
        await ro_client.assets.patch(ids(gw)[0], {"date.published": "2020"})
    assert all(r.method == "POST" and r.status == 400 for r in calls(gw))


NEW_KEYWORD = {"language": "eng", "values": ["added"]}
NEW_LINK = {"link.url": "https://example.org/x", "link.type": "published"}


async def test_patch_add_keeps_values_appends_to_lists_and_fills_empty_fields(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    aid = ids(gw)[0]
    before = stored_asset(gw, aid)
    assert before["date.published"]
    assert before["keywords"]
    answered = await client.assets.patch(
        aid, {"date.published": "20241110", "keywords": [NEW_KEYWORD], "links": [NEW_LINK]}
    )
    after_add = stored_asset(gw, aid)
    assert after_add["date.published"] == before["date.published"]  # add: kept
    assert after_add["keywords"] == [*before["keywords"], NEW_KEYWORD]  # add: appended
    assert after_add["links"] == [NEW_LINK]  # add: empty field filled
    assert answered.to_dict() == after_add


async def test_patch_add_sends_the_records_as_json(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    await client.assets.patch(
        ids(gw)[0], {"date.published": "20241110", "keywords": [NEW_KEYWORD], "links": [NEW_LINK]}
    )
    req = recorder.last()
    assert req.headers["content-type"] == "application/json"
    assert recorder.last_json() == {
        "records": [{"date.published": "20241110", "keywords": [NEW_KEYWORD], "links": [NEW_LINK]}]
    }
    assert query(calls(gw)[-1]) == {"op": "patch", "action": "add"}


async def test_patch_replace_overwrites_the_given_fields_and_nothing_else(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    aid = ids(gw)[0]
    before = stored_asset(gw, aid)
    await client.assets.patch(
        aid, {"date.published": "20241110", "keywords": [NEW_KEYWORD]}, action="replace"
    )
    after_replace = stored_asset(gw, aid)
    assert after_replace["date.published"] == "20241110"
    assert after_replace["keywords"] == [NEW_KEYWORD]
    assert query(calls(gw)[-1]) == {"op": "patch", "action": "replace"}
    # nothing else changed
    untouched = {k: v for k, v in before.items() if k not in ("date.published", "keywords")}
    assert {k: after_replace[k] for k in untouched} == untouched


async def test_patch_identifier_goes_as_xml(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    aid = ids(gw)[1]
    answered = await client.assets.patch(aid, {"identifier.doi": "10.20/30456"}, action="replace")
    assert stored_asset(gw, aid)["identifier.doi"] == "10.20/30456"
    assert answered.asset_id == aid
    assert answered.doi == "10.20/30456"
    req = recorder.last()
    assert req.headers["content-type"] == "application/xml"
    assert req.headers["accept"] == "application/xml"
    body = req.content.decode()
    assert body.startswith("<?xml")
    assert "<ns3:records" in body
    assert "<identifier.doi>10.20/30456</identifier.doi>" in body
    # explicitly asked XML for other fields too
    await client.assets.patch(aid, {"date.accepted": "2020"}, format="xml")
    assert recorder.last().headers["content-type"] == "application/xml"
    assert stored_asset(gw, aid)["date.accepted"] == "2020"


async def test_patch_links_to_extract_goes_as_json(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    aid = ids(gw)[2]
    extract = {"temporary.linksToExtract": [{"link.url": "https://example.org/f.pdf"}]}
    await client.assets.patch(aid, extract)
    assert recorder.last().headers["content-type"] == "application/json"
    assert stored_asset(gw, aid)["temporary.linksToExtract"] == [
        {"link.url": "https://example.org/f.pdf"}
    ]


async def test_patch_refuses_impossible_formats(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    aid = ids(gw)[0]
    links = [{"link.url": "https://example.org/f.pdf"}]
    with pytest.raises(PatchFormatError, match="two patch"):
        await client.assets.patch(
            aid, {"identifier.doi": "10.1/x", "temporary.linksToExtract": links}
        )
    with pytest.raises(PatchFormatError):
        await client.assets.patch(
            aid, {"identifier.pmid": "1", "temporary": {"linksToExtract": links}}
        )
    with pytest.raises(PatchFormatError, match="XML"):
        await client.assets.patch(aid, {"identifier.doi": "10.1/x"}, format="json")
    with pytest.raises(PatchFormatError, match="JSON"):
        await client.assets.patch(aid, {"temporary.linksToExtract": links}, format="xml")
    with pytest.raises(ValueError, match="action"):
        await client.assets.patch(aid, {"title": "x"}, action="merge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        await client.assets.patch(aid, {})
    assert calls(gw) == []


async def test_patch_unknown_asset(client: EsploroClient) -> None:
    with pytest.raises(NotFoundError):
        await client.assets.patch("99nope", {"date.published": "2020"})


async def test_test_endpoint(client: EsploroClient, ro_client: EsploroClient) -> None:
    result = await client.assets.test()
    assert result.path == "/esploro/v1/assets/test"
    assert result.message == "GET request successful"
    assert (await client.assets.test(write=True)).message == "POST request successful"
    with pytest.raises(AuthenticationError):
        await ro_client.assets.test(write=True)


def test_no_put_or_delete(client: EsploroClient) -> None:
    assert not hasattr(client.assets, "update")
    assert not hasattr(client.assets, "delete")

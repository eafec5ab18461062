"""``client.researchers`` against the simulated gateway, in virtual time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from resource_sim import Recorder, calls, query, stored_researcher

from esploro_async import AuthenticationError, EsploroClient, NotFoundError
from esploro_async.errors import BadRequestError, InvalidIdentifierError
from esploro_async.models import Researcher
from esploro_async.resources import BriefRecordError, OrcidToken
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]  # the gw, client, ro_client and recorder fixtures


def first_id(gw: SimulatedGateway) -> str:
    return gw.institution.researchers.ids()[0]


async def test_list_is_brief(client: EsploroClient, gw: SimulatedGateway) -> None:
    got = [r async for r in client.researchers.list(params={"x_extra": "1"})]
    assert len(got) == 60
    assert {r.view for r in got} == {"brief"}
    assert all(r.path == "/esploro/v1/researchers" for r in calls(gw))
    assert all(query(r)["x_extra"] == "1" for r in calls(gw))


async def test_get_full_and_brief(client: EsploroClient, gw: SimulatedGateway) -> None:
    rid = first_id(gw)
    full = await client.researchers.get(rid)
    assert full.view == "full"
    assert full.to_dict() == gw.institution.researchers.get(rid)
    brief = await client.researchers.get(rid, view="brief")
    assert brief.view == "brief"
    assert brief.primary_id == rid
    logged = calls(gw, "GET")
    assert [r.path for r in logged] == [f"/esploro/v1/researchers/{rid}"] * 2
    assert [query(r)["view"] for r in logged] == ["full", "brief"]


async def test_get_unknown_and_bad_view(client: EsploroClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.researchers.get("nobody")
    assert info.value.error_code == "401861"
    with pytest.raises(ValueError, match="view"):
        await client.researchers.get("x", view="huge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="primary id"):
        await client.researchers.get("")


async def test_get_quotes_the_id(client: EsploroClient, recorder: Recorder) -> None:
    with pytest.raises(NotFoundError):
        await client.researchers.get("a/b c")
    assert recorder.last().url.raw_path == b"/esploro/v1/researchers/a%2Fb%20c?view=full"


async def test_create(client: EsploroClient, gw: SimulatedGateway, recorder: Recorder) -> None:
    body = {"primary_id": "new.one", "is_researcher": True, "researcher": {"x": "ü"}}
    created = await client.researchers.create(body)
    assert created.primary_id == "new.one"
    assert created.view == "full"
    assert gw.institution.researchers.get("new.one") == body
    req = recorder.last()
    assert req.method == "POST"
    assert req.url.path == "/esploro/v1/researchers"
    assert req.headers["content-type"] == "application/json"
    assert recorder.last_json() == body
    with pytest.raises(BadRequestError) as info:
        await client.researchers.create(Researcher.from_dict(body))
    assert info.value.error_code == "401858"


async def test_update_puts_whole_record(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    rid = first_id(gw)
    jane = await client.researchers.get(rid)
    jane.last_name = "Changed"
    answered = await client.researchers.update(jane)
    assert answered.last_name == "Changed"
    assert gw.institution.researchers.get(rid) == jane.to_dict()
    assert recorder.last().method == "PUT"
    assert recorder.last_json() == jane.to_dict()


async def test_update_refuses_brief(client: EsploroClient, gw: SimulatedGateway) -> None:
    brief = None
    async for r in client.researchers.list():
        brief = r
        break
    assert brief is not None
    before = gw.institution.researchers.get(brief.primary_id or "")
    n = len(calls(gw))
    with pytest.raises(BriefRecordError, match="brief"):
        await client.researchers.update(brief)
    assert len(calls(gw)) == n  # nothing sent
    assert gw.institution.researchers.get(brief.primary_id or "") == before
    # forced: the simulator swaps all, as the API does
    await client.researchers.update(brief, force=True)
    assert gw.institution.researchers.get(brief.primary_id or "") == brief.to_dict()
    # a record of unknown origin (view=None) is sent
    unknown = Researcher.from_dict({"primary_id": brief.primary_id, "last_name": "X"})
    await client.researchers.update(unknown)
    with pytest.raises(ValueError, match="primary_id"):
        await client.researchers.update(Researcher.from_dict({"last_name": "X"}))


async def test_update_unknown_and_read_only(
    client: EsploroClient, ro_client: EsploroClient, gw: SimulatedGateway
) -> None:
    with pytest.raises(NotFoundError):
        await client.researchers.update(Researcher.from_dict({"primary_id": "ghost"}))
    rid = first_id(gw)
    jane = await ro_client.researchers.get(rid)
    jane.last_name = "Nope"
    with pytest.raises(AuthenticationError):
        await ro_client.researchers.update(jane)
    with pytest.raises(AuthenticationError):
        await ro_client.researchers.create({"primary_id": "x"})
    with pytest.raises(AuthenticationError):
        await ro_client.researchers.delete(rid)
    assert stored_researcher(gw, rid)["last_name"] != "Nope"


async def test_delete(client: EsploroClient, gw: SimulatedGateway) -> None:
    rid = first_id(gw)
    await client.researchers.delete(rid)
    assert rid not in gw.institution.researchers
    assert (calls(gw)[-1].method, calls(gw)[-1].path, calls(gw)[-1].status) == (
        "DELETE",
        f"/esploro/v1/researchers/{rid}",
        204,
    )
    with pytest.raises(NotFoundError):
        await client.researchers.delete(rid)


async def test_add_orcid_token(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    token = OrcidToken(access_token="acc", refresh_token="ref", expires_in=631138518)
    answer = await client.researchers.add_orcid_token(
        "https://orcid.org/0000-0002-1825-0097", token
    )
    assert answer["access.token"] == "acc"
    assert calls(gw)[-1].path == "/esploro/v1/researchers/0000-0002-1825-0097/token"
    assert recorder.last_json() == {
        "access.token": "acc",
        "token.type": "bearer",
        "refresh.token": "ref",
        "expiry": "631138518",
        "scopes": ["/read-limited", "/activities/update", "/person/update"],
    }
    await client.researchers.add_orcid_token("0000-0002-1825-0097", {"access.token": "raw"})
    assert recorder.last_json() == {"access.token": "raw"}
    sent = len(calls(gw))
    with pytest.raises(InvalidIdentifierError, match="not an ORCID"):
        await client.researchers.add_orcid_token("not-an-orcid", token)
    # ORCID's own example with its last (check) digit changed: refused before sending
    with pytest.raises(InvalidIdentifierError, match="check digit"):
        await client.researchers.add_orcid_token("0000-0002-1825-0098", token)
    assert len(calls(gw)) == sent
    # an X check digit is valid (0000-0002-1694-233X is an example on orcid.org)
    await client.researchers.add_orcid_token("0000-0002-1694-233x", {"access.token": "x"})
    assert calls(gw)[-1].path == "/esploro/v1/researchers/0000-0002-1694-233X/token"


async def test_test_endpoint(
    client: EsploroClient, ro_client: EsploroClient, gw: SimulatedGateway
) -> None:
    read = await client.researchers.test()
    assert read.message == "GET request successful"
    assert read.quota_remaining is not None
    assert read.path == "/esploro/v1/researchers/test"
    write = await client.researchers.test(write=True)
    assert write.write
    assert write.message == "POST request successful"
    assert (await ro_client.researchers.test()).write is False
    with pytest.raises(AuthenticationError):
        await ro_client.researchers.test(write=True)


# -- edit() -------------------------------------------------------------------------------


async def test_edit_changes_only_the_edited_field(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    rid = first_id(gw)
    original = gw.institution.researchers.get(rid)
    assert original is not None
    async with client.researchers.edit(rid) as jane:
        assert jane.view == "full"
        jane["job_description"] = "Professor of Things"
    stored = gw.institution.researchers.get(rid)
    assert stored == {**original, "job_description": "Professor of Things"}
    assert list(stored) == list(original)  # key order kept
    assert [r.method for r in calls(gw)] == ["GET", "PUT"]


async def test_edit_sends_nothing_when_unchanged(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    rid = first_id(gw)
    async with client.researchers.edit(rid) as jane:
        jane.last_name = jane.last_name  # same value: no change
    assert [r.method for r in calls(gw)] == ["GET"]


async def test_edit_sends_nothing_when_the_block_raises(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    rid = first_id(gw)
    original = gw.institution.researchers.get(rid)
    with pytest.raises(RuntimeError, match="boom"):
        async with client.researchers.edit(rid) as jane:
            jane.last_name = "Half-done"
            raise RuntimeError("boom")
    assert [r.method for r in calls(gw)] == ["GET"]
    assert gw.institution.researchers.get(rid) == original


async def test_edit_detects_type_only_changes(client: EsploroClient, gw: SimulatedGateway) -> None:
    gw.institution.add_researcher({"primary_id": "typed", "count": "1"})
    async with client.researchers.edit("typed") as r:
        r["count"] = 1
    assert gw.institution.researchers.get("typed") == {"primary_id": "typed", "count": 1}
    assert [r.method for r in calls(gw)] == ["GET", "PUT"]


async def test_edit_unknown_id(client: EsploroClient, gw: SimulatedGateway) -> None:
    with pytest.raises(NotFoundError):
        async with client.researchers.edit("ghost"):
            pytest.fail("not reached")
    assert [r.method for r in calls(gw)] == ["GET"]


UNUSUAL: dict[str, Any] = {
    "primary_id": "zoë.ñandú",
    "first_name": "Zoë",
    "last_name": "Ñandú-Øster",
    "is_researcher": "true",
    "user.primaryId": "dotted top-level key",
    "local.fields": {"local.note1": "ünïcödé ✓", "local.note2": None},
    "pin_number": None,
    "expiry_date": "2030-12-31Z",
    "order": "007",
    "score": 3.0,
    "flags": [True, "no", 0, None],
    "researcher": {
        "researcher_first_name": "Zoë",
        "researcher_last_name": "Ñandú-Øster",
        "researcher_title": None,
        "researcher_keyword": [{"value": "量子"}, {"value": "Ωmega"}],
        "user_identifier": [{"value": "0000-0002-1825-0097", "id_type": {"value": "ORCID"}}],
        "portal_profile": {"value": "true"},
    },
    "x_unknown": {"deep": {"er": [{"a.b": "1", "c": {}}, []]}, "empty": {}},
}


def assert_top_level_kept_but_the_researcher(stored: dict[str, Any]) -> None:
    """Every top-level key of `UNUSUAL` but ``researcher`` stored as it was, types and order."""
    for key, value in UNUSUAL.items():
        if key == "researcher":
            continue
        assert stored[key] == value, key
        assert json.dumps(stored[key]) == json.dumps(value), key  # types and order kept


def assert_researcher_part_kept_but_the_orcid(stored: dict[str, Any], orcid: str) -> None:
    """The ``researcher`` part of `UNUSUAL` stored as it was, but its identifiers: ``orcid``."""
    for key, value in UNUSUAL["researcher"].items():
        if key == "user_identifier":
            assert stored["researcher"][key] == [{"value": orcid, "id_type": {"value": "ORCID"}}]
        else:
            assert json.dumps(stored["researcher"][key]) == json.dumps(value), key


async def test_edit_unusual_record_round_trips_key_by_key(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    gw.institution.add_researcher(json.loads(json.dumps(UNUSUAL)))
    async with client.researchers.edit("zoë.ñandú") as r:
        assert r["user.primaryId"] == "dotted top-level key"
        r.orcid = "0000-0001-5109-3700"
    stored = gw.institution.researchers.get("zoë.ñandú")
    assert stored is not None
    assert list(stored) == list(UNUSUAL)
    assert_top_level_kept_but_the_researcher(stored)
    assert_researcher_part_kept_but_the_orcid(stored, "0000-0001-5109-3700")
    # non-ASCII is sent as UTF-8 text, and the id is percent-encoded in the path
    assert recorder.last().url.raw_path == b"/esploro/v1/researchers/zo%C3%AB.%C3%B1and%C3%BA"
    assert "Ñandú" in recorder.last().content.decode("utf-8")

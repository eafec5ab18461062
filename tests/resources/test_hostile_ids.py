"""No id, code or path part a caller passes can send a request outside its endpoint.

Every resource method that puts a caller's value in the URL is called with hostile values;
the transport records what would leave the machine. Each request must stay under the
method's endpoint with the value in exactly one segment, or the call must be refused with
`InvalidIdentifierError` (a `ValueError`) before anything is sent. Before this, httpx's
dot-segment removal turned ``researchers.get(".")`` into ``GET /esploro/v1/researchers``
and ``analytics.paths("../../../../almaws/v1/users")`` into a call on the Alma users API.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from esploro_async import EsploroClient, EsploroError, InvalidIdentifierError
from esploro_async.models import Researcher
from esploro_async.resources import OrcidToken

HOSTILE = [
    ".",
    "..",
    "a/../..",
    "../../../../almaws/v1/users",
    "%2e%2e",
    "%2E",
    "..%2F..",
    "%252e%252e",
    "x/./y",
    "?x",
    "#",
    "a/b",
    "ü/é",
    "",
    " ",
]

Call = Callable[[EsploroClient, str], Awaitable[Any]]


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


async def _edit(client: EsploroClient, primary_id: str) -> None:
    async with client.researchers.edit(primary_id) as researcher:
        researcher.last_name = "changed"


# (name, call, endpoint prefix, number of path segments the request must have; None for
# a value that is a path by design, e.g. an analytics catalog path "/shared/Inst/a/b")
CASES: list[tuple[str, Call, str, int | None]] = [
    ("researchers.get", lambda c, v: c.researchers.get(v), "/esploro/v1/researchers/", 4),
    ("researchers.delete", lambda c, v: c.researchers.delete(v), "/esploro/v1/researchers/", 4),
    ("researchers.edit", _edit, "/esploro/v1/researchers/", 4),
    (
        "researchers.update",
        lambda c, v: c.researchers.update(Researcher.from_dict({"primary_id": v})),
        "/esploro/v1/researchers/",
        4,
    ),
    (
        "researchers.add_orcid_token",
        lambda c, v: c.researchers.add_orcid_token(v, OrcidToken(access_token="t")),
        "/esploro/v1/researchers/",
        5,
    ),
    ("assets.get", lambda c, v: c.assets.get(v), "/esploro/v1/assets/", 4),
    ("assets.patch", lambda c, v: c.assets.patch(v, {"note": "x"}), "/esploro/v1/assets/", 4),
    ("assets.get_many", lambda c, v: c.assets.get_many([v]), "/esploro/v1/assets/", 4),
    (
        "organizations.get",
        lambda c, v: c.organizations.get(v),
        "/esploro/v1/organizations/internal/",
        5,
    ),
    ("config.code_table", lambda c, v: c.config.code_table(v), "/esploro/v1/researchconf/", 5),
    (
        "config.import_profile",
        lambda c, v: c.config.import_profile(v),
        "/esploro/v1/researchconf/",
        5,
    ),
    ("config.mapping_table", lambda c, v: c.config.mapping_table(v), "/esploro/v1/conf/", 5),
    ("config.sets.get", lambda c, v: c.config.sets.get(v), "/almaws/v1/conf/sets/", 5),
    ("config.sets.delete", lambda c, v: c.config.sets.delete(v), "/almaws/v1/conf/sets/", 5),
    (
        "config.sets.members.list",
        lambda c, v: _drain(c.config.sets.members(v).list()),
        "/esploro/v1/researchconf/sets/",
        6,
    ),
    (
        "config.sets.members.add",
        lambda c, v: c.config.sets.members(v).add(["1"]),
        "/almaws/v1/conf/sets/",
        5,
    ),
    (
        "config.sets.members.remove(member)",
        lambda c, v: c.config.sets.members("1").remove([v]),
        "/almaws/v1/conf/sets/",
        5,
    ),
    ("config.jobs.get", lambda c, v: c.config.jobs.get(v), "/almaws/v1/conf/jobs/", 5),
    ("config.jobs.run", lambda c, v: c.config.jobs.run(v), "/almaws/v1/conf/jobs/", 5),
    (
        "config.jobs.instances.list",
        lambda c, v: _drain(c.config.jobs.instances(v).list()),
        "/almaws/v1/conf/jobs/",
        6,
    ),
    (
        "config.jobs.instances.get",
        lambda c, v: c.config.jobs.instances("M1").get(v),
        "/almaws/v1/conf/jobs/M1/instances/",
        7,
    ),
    (
        "config.jobs.wait_for(link)",
        lambda c, v: c.config.jobs.wait_for(f"https://h/almaws/v1/conf/jobs/{v}/instances/1"),
        "/almaws/v1/conf/jobs/",
        7,
    ),
    (
        "analytics.paths",
        lambda c, v: c.analytics.paths(f"/shared/Inst/{v}"),
        "/esploro/v1/researchanalytics/paths/shared/Inst",
        None,
    ),
    (
        "analytics.report",
        lambda c, v: _drain(c.analytics.report(f"/shared/Inst/{v}")),
        "/esploro/v1/researchanalytics/reports",
        4,
    ),
    (
        "request",
        lambda c, v: c.request("GET", f"researchers/{v}"),
        "/esploro/v1/researchers/",
        None,
    ),
]

_FINISHED = b"<report><QueryResult><IsFinished>true</IsFinished></QueryResult></report>"


def _answer(request: httpx.Request) -> httpx.Response:
    if "xml" in request.headers.get("accept", ""):
        return httpx.Response(200, content=_FINISHED, headers={"Content-Type": "application/xml"})
    return httpx.Response(200, json={"status": {"value": "COMPLETED_SUCCESS"}})


def _segments(request: httpx.Request) -> list[str]:
    raw = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
    return raw.split("/")[1:]


@pytest.mark.parametrize(("name", "call", "prefix", "count"), CASES, ids=[c[0] for c in CASES])
async def test_hostile_values_never_leave_the_endpoint(
    name: str, call: Call, prefix: str, count: int | None
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return _answer(request)

    client = EsploroClient(
        "k", base_url="http://esploro.localhost", transport=httpx.MockTransport(handler)
    )
    async with client:
        for value in HOSTILE:
            before = len(sent)
            try:
                await call(client, value)
            except InvalidIdentifierError:
                assert len(sent) == before, f"{name}({value!r}) was refused after sending"
                continue
            except (EsploroError, TypeError, ValueError):
                pass  # an answer the method did not like: what matters is where it went
            for request in sent[before:]:
                path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
                segments = _segments(request)
                assert path.startswith(prefix), f"{name}({value!r}) sent {path}"
                assert count is None or len(segments) == count, f"{name}({value!r}) sent {path}"
                for seg in segments:
                    decoded = unquote(unquote(seg))
                    assert decoded not in (".", ".."), f"{name}({value!r}) sent {path}"


@pytest.mark.parametrize("value", [".", "..", "a/../..", "%2e%2e", "%2E", ""])
async def test_dot_segments_are_refused_with_a_value_error(value: str) -> None:
    client = EsploroClient(
        "k",
        base_url="http://esploro.localhost",
        transport=httpx.MockTransport(lambda r: pytest.fail(f"sent {r.url}")),
    )
    async with client:
        with pytest.raises(InvalidIdentifierError) as refused:
            await client.researchers.get(value)
        assert isinstance(refused.value, ValueError)
        with pytest.raises(ValueError, match=r"segment|required"):
            await client.analytics.paths(f"/shared/{value}/x" if value else "..")


DEPRECATED = {"get_set", "set_members", "job", "job_instances", "job_instance"}
ID_LIKE = ("id", "ids", "code", "name", "path", "orcid", "run")


def methods_taking_an_id(area: Any) -> list[str]:
    """Public, not deprecated methods of ``area`` with a positional id, code, name or path."""
    found: list[str] = []
    for attr, member in inspect.getmembers(area, callable):
        if attr.startswith("_") or attr in DEPRECATED:
            continue
        positional = [
            p.name
            for p in inspect.signature(member).parameters.values()
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ]
        if any(p == k or p.endswith("_" + k) for p in positional for k in ID_LIKE):
            found.append(attr)
    return found


def test_every_method_that_takes_an_id_is_walked() -> None:
    """A new resource method with an id, code, name or path parameter must join CASES."""
    client = EsploroClient("k", base_url="http://esploro.localhost")
    areas: dict[str, Any] = {
        "researchers": client.researchers,
        "assets": client.assets,
        "organizations": client.organizations,
        "activities": client.activities,
        "analytics": client.analytics,
        "config": client.config,
        "config.sets": client.config.sets,
        "config.sets.members": client.config.sets.members("1"),
        "config.jobs": client.config.jobs,
        "config.jobs.instances": client.config.jobs.instances("M1"),
    }
    walked = {case[0].split("(")[0] for case in CASES}
    needed = {
        f"{area_name}.{attr}"
        for area_name, area in areas.items()
        for attr in methods_taking_an_id(area)
    }
    needed -= {"config.sets.members", "config.jobs.instances"}  # walked through their methods
    needed -= {"config.sets.create"}  # the set's name travels in the body, not the URL
    assert needed <= walked, f"not walked: {sorted(needed - walked)}"

"""Analytics reports that answer ``IsFinished=false`` with an empty ``<ResultXml/>``.

The shape is the one quoted verbatim in public Alma-analytics client code ("Often ALMA REST
API Analytics fails even with a HTTP response code 200": ``ResumptionToken``,
``IsFinished`` false, ``<ResultXml/>``); paging by token and the schema on the first data
page follow Ex Libris' "Working with Analytics REST APIs" and the Adelphi
``analytics.gs`` code (reference §2.7).
"""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
from resource_sim import BASE_URL

from esploro_async import EsploroClient, ReportNotFinishedError
from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    FaultKind,
    SimulatedGateway,
    SyntheticInstitution,
)

pytestmark = pytest.mark.looptime

ROWSET = "urn:schemas-microsoft-com:xml-analysis:rowset"
NOT_READY = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><report><QueryResult>'
    b"<ResumptionToken>5514B8CE1BB0CBF6</ResumptionToken><IsFinished>false</IsFinished>"
    b"<ResultXml/></QueryResult></report>"
)
EMPTY_UNFINISHED = (
    b"<report><QueryResult><IsFinished>false</IsFinished><ResultXml/></QueryResult></report>"
)
SCHEMA_PAGE = (
    "<report><QueryResult><IsFinished>false</IsFinished><ResultXml>"
    f'<rowset xmlns="{ROWSET}">'
    '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:saw-sql="urn:saw-sql">'
    '<xsd:complexType name="Row"><xsd:sequence>'
    '<xsd:element name="Column0" saw-sql:columnHeading="0"/>'
    '<xsd:element name="Column1" saw-sql:columnHeading="ISBN"/>'
    '<xsd:element name="Column3" saw-sql:columnHeading="Material Type"/>'
    "</xsd:sequence></xsd:complexType></xsd:schema>"
    "<Row><Column0>0</Column0><Column1>9788230013762</Column1><Column3>Book</Column3></Row>"
    "</rowset></ResultXml></QueryResult></report>"
).encode()
LAST_PAGE = (
    b"<report><QueryResult><IsFinished>true</IsFinished><ResultXml><rowset>"
    b"<Row><Column0>0</Column0><Column1>8230013764</Column1><Column3>Book</Column3></Row>"
    b"</rowset></ResultXml></QueryResult></report>"
)


def _client(pages: list[bytes], seen: list[dict[str, list[str]]]) -> EsploroClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.url.query.decode()))
        body = pages[min(len(seen), len(pages)) - 1]
        return httpx.Response(200, content=body, headers={"Content-Type": "application/xml"})

    return EsploroClient("k", base_url=BASE_URL, transport=httpx.MockTransport(handler))


async def test_an_empty_unfinished_first_page_is_followed_not_taken_as_the_end() -> None:
    seen: list[dict[str, list[str]]] = []
    async with _client([NOT_READY, EMPTY_UNFINISHED, SCHEMA_PAGE, LAST_PAGE], seen) as client:
        stream = client.analytics.report("/shared/Inst/Reports/Titles")
        rows = [row async for row in stream]
    assert rows == [
        {"ISBN": "9788230013762", "Material Type": "Book"},
        {"ISBN": "8230013764", "Material Type": "Book"},
    ]
    assert stream.columns == {"Column1": "ISBN", "Column3": "Material Type"}
    assert "token" not in seen[0]
    assert [q["token"] for q in seen[1:]] == [["5514B8CE1BB0CBF6"]] * 3
    assert {q["path"][0] for q in seen} == {"/shared/Inst/Reports/Titles"}


async def test_a_report_that_never_finishes_raises_after_the_bound() -> None:
    seen: list[dict[str, list[str]]] = []
    started = asyncio_time()
    async with _client([NOT_READY, SCHEMA_PAGE, EMPTY_UNFINISHED], seen) as client:
        stream = client.analytics.report("/shared/Inst/Reports/Titles", max_empty_pages=3)
        rows: list[dict[str, str | None]] = []
        with pytest.raises(ReportNotFinishedError) as raised:
            async for row in stream:
                rows.append(row)
    assert rows == [{"ISBN": "9788230013762", "Material Type": "Book"}]
    assert raised.value.rows == 1
    assert raised.value.empty_pages == 4
    assert raised.value.path == "/shared/Inst/Reports/Titles"
    assert len(seen) == 1 + 1 + 4  # not ready, the data page, 4 empty pages
    # it waited 1 s after the first empty page, then (the count restarts after rows)
    # 1 + 2 + 4 s, doubling, before giving up at the 4th: 8 s plus the rate limiter's pacing
    assert asyncio_time() - started == pytest.approx(8.0, abs=0.1)


async def test_max_empty_pages_zero_raises_at_the_first_empty_page() -> None:
    seen: list[dict[str, list[str]]] = []
    async with _client([NOT_READY], seen) as client:
        with pytest.raises(ReportNotFinishedError):
            _ = [r async for r in client.analytics.report("/x/y", max_empty_pages=0)]
    assert len(seen) == 1
    with pytest.raises(ValueError, match="max_empty_pages"):
        client.analytics.report("/x/y", max_empty_pages=-1)


def _gateway(*faults: Fault) -> SimulatedGateway:
    return SimulatedGateway(SyntheticInstitution(seed=3, researchers=5, assets=5), faults=faults)


REPORT = "/shared/Sim University/Reports/Researchers"


async def test_the_simulator_serves_not_ready_pages_and_the_report_still_completes() -> None:
    quirk = Fault(FaultKind.REPORT_NOT_READY, endpoint="analytics", requests={1, 2})
    gw = _gateway(quirk)
    async with EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=gw.transport()) as client:
        stream = client.analytics.report(REPORT, limit=50)
        rows = [r async for r in stream]
    assert len(rows) == 137
    assert set(rows[0]) == {"Primary Identifier", "Researcher Name", "ORCID"}
    log = gw.client_log()
    assert [r.fault for r in log] == ["report_not_ready", "report_not_ready", None, None, None]
    assert "token=" not in log[0].query
    assert all("token=" in r.query for r in log[1:])


async def test_the_simulator_can_serve_a_report_that_never_finishes() -> None:
    gw = _gateway(Fault(FaultKind.REPORT_NOT_READY, endpoint="analytics"))
    async with EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=gw.transport()) as client:
        with pytest.raises(ReportNotFinishedError):
            _ = [r async for r in client.analytics.report(REPORT, max_empty_pages=2)]
    assert len(gw.client_log()) == 3  # empty pages 1 and 2 followed, the 3rd is one too many


def asyncio_time() -> float:
    import asyncio

    return asyncio.get_running_loop().time()

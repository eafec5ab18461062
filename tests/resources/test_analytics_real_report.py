"""A real four-page Alma Analytics report, page by page, through ``client.analytics``.

The pages are the University of Oslo's answers recorded in scriptotek/php-alma-client
(``spec/data``, now ``tests/fixtures/public``): ``analytics_response_part1.xml`` (a schema
with no column headings, 150 rows, the token), ``part2`` (150 rows, no token),
``part3`` (88 rows, finished), ``part4`` (``420033`` "No more rows to fetch", a used-up
token), ``analytics_still_loading_response.xml`` (not finished, no token, no rows) and
``report_not_found_response.xml`` (``INTERNAL_SERVER_ERROR`` "Path not found (...)").
``analytics_response.xml`` is a one-page report with headings (one padded with a space).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
from resource_sim import BASE_URL

from esploro_async import (
    EsploroClient,
    NotFoundError,
    ReportNotFinishedError,
    ReportTokenExpiredError,
    RetryPolicy,
)
from esploro_async.pagination import AnalyticsStream
from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    Report,
    SimulatedGateway,
    SyntheticInstitution,
)

pytestmark = pytest.mark.looptime

PUBLIC = Path(__file__).parent.parent / "fixtures" / "public"
TOKEN = (
    "9672D715A8E2EAAA6F30DD22FC52BE4CCAE35E29D921E0AC8BE8C6734C9E1571B4E48EEFCA4046EFF8CD7D"
    "1662C2D0A7677D3AD05EDC3CA7F06182E34E9D7A2F"
)
XML = {"Content-Type": "application/xml;charset=UTF-8"}


def _page(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=(PUBLIC / name).read_bytes(), headers=XML)


def _client(answers: list[httpx.Response], seen: list[dict[str, list[str]]]) -> EsploroClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.url.query.decode()))
        return answers[min(len(seen), len(answers)) - 1]

    return EsploroClient("k", base_url=BASE_URL, transport=httpx.MockTransport(handler))


PAGES = ["analytics_response_part1.xml", "analytics_response_part2.xml"]
PAGES.append("analytics_response_part3.xml")


class ReadWhole(NamedTuple):
    stream: AnalyticsStream
    rows: list[dict[str, str | None]]
    seen: list[dict[str, list[str]]]  # the query of each request


async def read_the_real_report() -> ReadWhole:
    """The three pages of rows of the real report, read with ``limit=1000``."""
    seen: list[dict[str, list[str]]] = []
    async with _client([_page(p) for p in PAGES], seen) as client:
        stream = client.analytics.report("/shared/UiO/Reports/Loans", limit=1000)
        rows = [row async for row in stream]
    return ReadWhole(stream, rows, seen)


async def test_the_real_four_page_report_reads_whole() -> None:
    stream, rows, seen = await read_the_real_report()
    assert len(rows) == 150 + 150 + 88  # pages far shorter than the limit are not the end
    assert stream.pages_read == 3
    assert "token" not in seen[0]
    assert [q["token"] for q in seen[1:]] == [[TOKEN], [TOKEN]]


async def test_without_headings_the_columns_keep_their_names_and_column0_is_dropped() -> None:
    stream, rows, _ = await read_the_real_report()
    assert stream.columns is not None
    assert list(stream.columns) == [f"Column{i}" for i in range(1, 36)]
    assert all(list(row) == list(stream.columns.values()) for row in rows)


async def test_every_row_has_every_column_none_where_the_row_omits_it() -> None:
    _, rows, _ = await read_the_real_report()
    assert rows[0]["Column1"] is None  # the first real row has no Column1 element
    assert rows[0]["Column2"] == "m"
    assert rows[0]["Column8"] == "999919860411502204"
    assert any(row["Column7"] is None for row in rows)
    assert any(row["Column7"] is not None for row in rows)
    assert rows[150]["Column1"] == "Elkins, James"
    assert rows[150]["Column7"] is None
    assert rows[150]["Column8"] == "990313919404702204"


async def test_headings_are_stripped_and_column0_dropped_whatever_its_heading() -> None:
    seen: list[dict[str, list[str]]] = []
    async with _client([_page("analytics_response.xml")], seen) as client:
        stream = client.analytics.report("/shared/UiO/Reports/Events")
        rows = [row async for row in stream]
    assert len(rows) == 25
    assert stream.columns is not None
    headings = list(stream.columns.values())
    assert headings[0] == "Event End Date and Time"
    assert "REPORT_SUM(Num of events BY )" in headings
    assert all(h == h.strip() for h in headings)
    assert "0" not in headings
    assert rows[1]["Event End Date and Time"] is None  # omitted in the row
    assert rows[1]["Event Start Date and Time"] == "2018-01-08T09:21:43"


async def test_a_used_up_token_says_the_report_must_be_restarted() -> None:
    seen: list[dict[str, list[str]]] = []
    answers = [_page(PAGES[0]), _page(PAGES[1]), _page("analytics_response_part4.xml", 400)]
    got: list[dict[str, str | None]] = []
    async with _client(answers, seen) as client:
        with pytest.raises(ReportTokenExpiredError, match="from the start") as raised:
            async for row in client.analytics.report("/shared/UiO/Reports/Loans"):
                got.append(row)
    assert len(got) == 300
    assert raised.value.rows == 300
    assert raised.value.tracking_id == "E01-2308152114-DU9TC-AWAE716956513"
    assert len(seen) == 3  # never retried


@pytest.mark.parametrize("first_only", [True, False])
async def test_a_still_loading_page_without_a_token_is_asked_again(first_only: bool) -> None:
    loading = _page("analytics_still_loading_response.xml")
    if first_only:
        answers = [loading, loading, *(_page(p) for p in PAGES)]
    else:
        answers = [_page(PAGES[0]), loading, loading, _page(PAGES[1]), _page(PAGES[2])]
    seen: list[dict[str, list[str]]] = []
    started = anyio.current_time()
    async with _client(answers, seen) as client:
        rows = [row async for row in client.analytics.report("/shared/UiO/Reports/Loans")]
    assert len(rows) == 388
    assert len(seen) == 5
    # the same bounded back-off as for empty pages with a token: 1 s, then 2 s
    assert anyio.current_time() - started == pytest.approx(3.0, abs=0.2)
    if first_only:
        assert ["token" in q for q in seen] == [False, False, False, True, True]
    else:
        assert [q.get("token") for q in seen[1:]] == [[TOKEN]] * 4


async def test_a_report_that_stays_loading_without_a_token_ends_bounded() -> None:
    seen: list[dict[str, list[str]]] = []
    async with _client([_page("analytics_still_loading_response.xml")], seen) as client:
        with pytest.raises(ReportNotFinishedError):
            _ = [r async for r in client.analytics.report("/x/y", max_empty_pages=3)]
    assert len(seen) == 4


@pytest.mark.parametrize("status", [500, 400])
async def test_an_unknown_report_path_is_not_found_and_not_retried(status: int) -> None:
    seen: list[dict[str, list[str]]] = []
    async with _client([_page("report_not_found_response.xml", status)], seen) as client:
        with pytest.raises(NotFoundError, match="Path not found"):
            _ = [r async for r in client.analytics.report("/test/path")]
    assert len(seen) == 1


class SimulatedRead(NamedTuple):
    report: Report
    gw: SimulatedGateway
    stream: AnalyticsStream
    rows: list[dict[str, str | None]]


async def read_a_simulated_report_then_a_missing_one() -> SimulatedRead:
    """400 rows served 150 at a time without headings, the first two answers still loading;
    then a report path that is not there."""
    path = "/shared/Sim University/Reports/Loans"
    values = [[str(i), None if i % 3 else "kept", f"title {i}"] for i in range(400)]
    report = Report.from_rows(path, ["Id", "Sometimes", "Title"], values)
    report.schema_headings = False  # as analytics_response_part1.xml
    report.max_page_rows = 150  # 150, 150, 100 at limit=1000
    institution = SyntheticInstitution(seed=3, researchers=5, assets=5)
    institution.reports[path] = report
    loading = Fault("report_loading", endpoint="researchanalytics", requests={1, 3})
    gw = SimulatedGateway(institution, faults=[loading])
    async with EsploroClient(
        SIM_API_KEY, base_url=BASE_URL, transport=gw.transport(), retry=RetryPolicy.none()
    ) as client:
        stream = client.analytics.report(path, limit=1000)
        rows = [row async for row in stream]
        with pytest.raises(NotFoundError, match="Path not found"):
            _ = [r async for r in client.analytics.report("/shared/Sim University/Reports/No")]
    return SimulatedRead(report, gw, stream, rows)


async def test_the_simulator_serves_the_real_shapes() -> None:
    report, _, stream, rows = await read_a_simulated_report_then_a_missing_one()
    named = {h: f"Column{n}" for h, n in zip(report.headings, report.column_of, strict=True)}
    assert stream.columns == {c: c for c in sorted(named.values())}
    assert [row[named["Id"]] for row in rows] == [str(i) for i in range(400)]
    assert all(set(row) == set(named.values()) for row in rows)
    assert [row[named["Sometimes"]] for row in rows[:4]] == ["kept", None, None, "kept"]


async def test_the_simulator_serves_still_loading_pages_then_pages_by_token() -> None:
    _, gw, stream, _ = await read_a_simulated_report_then_a_missing_one()
    statuses = [(r.status, r.query.count("token=")) for r in gw.log]
    assert statuses[:5] == [(200, 0), (200, 0), (200, 1), (200, 1), (200, 1)]
    assert stream.pages_read == 5  # 2 still loading, 3 of rows
    assert gw.log[-1].status == 500
    assert len(gw.log) == 6

"""`AnalyticsStream`: rows of an Esploro Analytics report, paged by resumption token.

The reports API answers XML:

```text
<report><QueryResult>
  <ResumptionToken>…</ResumptionToken>   only on the first page
  <IsFinished>false</IsFinished>
  <ResultXml><rowset xmlns="urn:schemas-microsoft-com:xml-analysis:rowset">
    <xsd:schema>…<xsd:element name="Column1" saw-sql:columnHeading="ORCID"/>…</xsd:schema>
    <Row><Column0>0</Column0><Column1>…</Column1></Row>…
```

The column map (``ColumnN`` → heading) and the rowset namespace also come only on the first
page, so both are kept from it; later pages send the token (with the same ``path`` and
``limit``) until ``IsFinished`` is true. Pages are sequential by nature: the server holds the
position behind the token.

What real reports do (a four-page report of the University of Oslo's Alma recorded in
scriptotek/php-alma-client, ``tests/fixtures/public/analytics_response_part*.xml``):

* pages hold far fewer rows than ``limit`` (150, 150, 88 at ``limit=1000``): only
  ``IsFinished`` ends a report;
* the schema may carry **no column headings**: the columns are then named ``Column1`` …;
* a row **omits its empty columns**: every row here has every column of the schema, ``None``
  when absent; headings are stripped (``" REPORT_SUM(...)"``); ``Column0``, the constant
  ``0`` that leads every rowset, is dropped by position (whatever its heading);
* a used-up token answers ``420033`` "No more rows to fetch": `ReportTokenExpiredError`
  (restart the report), with the rows read so far;
* an unknown path answers ``INTERNAL_SERVER_ERROR`` "Path not found (...)", as HTTP 500
  or 400: `NotFoundError`, never retried.

The API often answers while the query still runs: HTTP 200, ``IsFinished=false``, an empty
``<ResultXml/>`` and the ``ResumptionToken`` (a response quoted verbatim in public Java
Alma-analytics code: "Often ALMA REST API Analytics fails even with a HTTP response code
200"). Such a page is not the end: the stream asks again with the token, waiting longer each
time, and the column map then comes with the first page that has rows. A "still loading"
page may also come without a token, first page included (``analytics_still_loading_response.xml``):
the stream asks again the same way, with the token it has, if any. After
``max_empty_pages`` empty unfinished pages in a row it raises `ReportNotFinishedError`
(never a silently short report).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from esploro_async.errors import (
    APIError,
    ConfigurationError,
    ReportNotFinishedError,
    ReportTokenExpiredError,
    ResponseFormatError,
)
from esploro_async.governance.lanes import Lane, current_lane
from esploro_async.session.bodies import local_name

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from esploro_async.session.base import BaseClient

__all__ = ["AnalyticsStream", "parse_report_page"]

_SAW_SQL = "urn:saw-sql"
_MAX_LIMIT = 1000
_EMPTY_PAGE_DELAY = 1.0
"""Seconds before asking again after the first empty unfinished page; doubles each time."""
_EMPTY_PAGE_DELAY_CAP = 30.0
NO_MORE_ROWS = "420033"
"""The ``errorCode`` of a used-up or expired resumption token ("No more rows to fetch")."""
_SPURIOUS_COLUMN = "Column0"


class _ReportPage:
    def __init__(
        self,
        token: str | None,
        finished: bool,
        columns: dict[str, str] | None,
        rows: list[dict[str, str | None]],
    ) -> None:
        self.token = token
        self.finished = finished
        self.columns = columns
        self.rows = rows


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if local_name(child.tag) == name:
            return child
    return None


def _columns(rowset: Element) -> dict[str, str] | None:
    for element in rowset.iter():
        if local_name(element.tag) != "sequence":
            continue
        columns: dict[str, str] = {}
        for position, column in enumerate(element):
            name = column.get("name")
            if not name or (position == 0 and name == _SPURIOUS_COLUMN):
                continue
            heading = (column.get(f"{{{_SAW_SQL}}}columnHeading") or "").strip()
            columns[name] = heading or name
        return columns
    return None


def _text(element: Element | None) -> str | None:
    """An element's stripped text, ``None`` for a missing element or an empty text."""
    if element is None:
        return None
    return (element.text or "").strip() or None


def _finished(result: Element) -> bool:
    flag = _child(result, "IsFinished")
    return True if flag is None else (_text(flag) or "").lower() == "true"


def _rows(rowset: Element) -> list[dict[str, str | None]]:
    return [
        {local_name(cell.tag): cell.text for cell in row}
        for row in rowset
        if local_name(row.tag) == "Row"
    ]


def parse_report_page(root: Element) -> _ReportPage:
    """Read one page of a report: token, finished flag, column map (page 1) and raw rows."""
    result = _child(root, "QueryResult") if local_name(root.tag) == "report" else root
    if result is None or local_name(result.tag) != "QueryResult":
        raise ValueError(f"not an analytics report page (root <{local_name(root.tag)}>)")
    token = _text(_child(result, "ResumptionToken"))
    result_xml = _child(result, "ResultXml")
    rowset = _child(result_xml, "rowset") if result_xml is not None else None
    if rowset is None:
        return _ReportPage(token, _finished(result), None, [])
    return _ReportPage(token, _finished(result), _columns(rowset), _rows(rowset))


class AnalyticsStream:
    """Rows of a report as dicts keyed by column heading; iterate once.

    Args:
        client: the client to send with.
        path: the report's catalog path, e.g. ``/shared/<Inst>/Reports/<folder>/<report>``.
        limit: rows per page (25 to 1000; default 1000).
        filter: a ``sawx:expr`` filter (XML text), passed as ``filter``.
        params: other query parameters (e.g. ``col_names``).
        max_empty_pages: how many empty ``IsFinished=false`` pages in a row are followed
            before `ReportNotFinishedError` (``0``: raise at the first one).
        extra_headers: sent with every page request.
        timeout: the timeout of every page request.
        endpoint: the reports endpoint: Esploro's (default) or Alma's
            (``/almaws/v1/analytics/reports``), which answer alike.

    ``columns`` (heading by ``ColumnN``) is known after the first page with a schema.
    """

    def __init__(
        self,
        client: BaseClient,
        path: str,
        *,
        limit: int = _MAX_LIMIT,
        filter: str | None = None,
        params: Mapping[str, Any] | None = None,
        max_empty_pages: int = 10,
        extra_headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
        endpoint: str = "researchanalytics/reports",
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 25 <= limit <= _MAX_LIMIT:
            raise ConfigurationError(
                f"limit must be a whole number in [25, {_MAX_LIMIT}] (rows per page of the "
                f"reports API), got {limit!r}"
            )
        if isinstance(max_empty_pages, bool) or not isinstance(max_empty_pages, int):
            raise ConfigurationError(
                f"max_empty_pages must be a whole number, got {max_empty_pages!r}"
            )
        if max_empty_pages < 0:
            raise ConfigurationError(f"max_empty_pages must be >= 0, got {max_empty_pages!r}")
        self.max_empty_pages = max_empty_pages
        self._per_call: dict[str, Any] = {"headers": extra_headers, "timeout": timeout}
        self.rows_read = 0
        self._client = client
        self._endpoint = endpoint
        self.lane: Lane = current_lane() or "batch"
        self.path = path
        self.limit = limit
        self._params = {**(params or {}), "path": path, "limit": limit, "filter": filter}
        self.columns: dict[str, str] | None = None
        self.pages_read = 0
        self._started = False

    def __aiter__(self) -> AsyncIterator[dict[str, str | None]]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[dict[str, str | None]]:
        if self._started:
            raise RuntimeError("a stream is iterated once; make a new one")
        self._started = True
        token: str | None = None
        empty = 0
        while True:
            params = dict(self._params)
            if token is not None:
                params["token"] = token
            page = await self._page(params)
            token = token or page.token
            if self.columns is None and page.columns is not None:
                self.columns = page.columns
            for row in page.rows:
                self.rows_read += 1
                yield self._named(row)
            if page.finished:
                return
            if not page.rows:
                empty += 1
                await self._wait_for_rows(empty)  # still loading: ask again, same token
                continue
            if token is None:
                raise ResponseFormatError(
                    "analytics report is not finished but its first page with rows carried "
                    "no ResumptionToken: the rest cannot be asked for",
                    method="GET",
                    path=self._endpoint,
                    status_code=200,
                )
            empty = 0

    async def _wait_for_rows(self, empty: int) -> None:
        """Back off after the ``empty``-th empty unfinished page in a row, or give up."""
        if empty > self.max_empty_pages:
            raise ReportNotFinishedError(
                f"analytics report {self.path!r} answered IsFinished=false with no rows "
                f"{empty} times in a row after {self.rows_read} rows; giving up (raise "
                "max_empty_pages to wait longer)",
                path=self.path,
                rows=self.rows_read,
                empty_pages=empty,
            )
        await anyio.sleep(min(_EMPTY_PAGE_DELAY * 2 ** (empty - 1), _EMPTY_PAGE_DELAY_CAP))

    async def _page(self, params: Mapping[str, Any]) -> _ReportPage:
        try:
            response = await self._client.request(
                "GET",
                self._endpoint,
                params=params,
                format="xml",
                lane=self.lane,
                **self._per_call,
            )
        except APIError as exc:
            if exc.error_code != NO_MORE_ROWS:
                raise
            raise ReportTokenExpiredError(
                f"analytics report {self.path!r}: the resumption token is used up or expired "
                f"(420033 {exc.errors[0].message if exc.errors else ''}) after "
                f"{self.rows_read} rows; the rest cannot be read with it: run the report "
                "again from the start",
                path=self.path,
                rows=self.rows_read,
                tracking_id=exc.tracking_id,
            ) from exc
        self.pages_read += 1
        try:
            return parse_report_page(response.xml())
        except (TypeError, ValueError) as exc:
            raise ResponseFormatError(
                f"GET {response.path}: {exc}",
                method="GET",
                path=response.path,
                status_code=response.status_code,
            ) from None

    def _named(self, row: Mapping[str, str | None]) -> dict[str, str | None]:
        """``row`` keyed by heading, with every column of the schema (``None`` if absent)."""
        columns = self.columns or {}
        named: dict[str, str | None] = dict.fromkeys(columns.values())
        for name, value in row.items():
            if name == _SPURIOUS_COLUMN:
                continue
            named[columns.get(name, name)] = value
        return named

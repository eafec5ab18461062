"""Synthetic Esploro analytics reports served in the real (awkward) OBI XML shape.

Paging follows reference §2.7: the first page carries ``<ResumptionToken>`` and the
``xsd:schema`` column map inside a namespaced ``<rowset>``; later pages (requested with
``token=``) carry neither, and their ``<rowset>``/``<Row>`` have no namespace.  Columns
are numbered in a seeded arbitrary order, ``Column0`` is a spurious column whose
heading is ``"0"``, and ``None`` cells are omitted from a ``Row`` (as OBI does).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

import attrs

from esploro_async.testing import _generate as gen
from esploro_async.testing._xml import XML_DECL

__all__ = ["REPORT_ROOT", "Report", "default_reports", "render_not_ready", "render_page"]

REPORT_ROOT = "/shared/Sim University/Reports"
ROWSET_NS = "urn:schemas-microsoft-com:xml-analysis:rowset"

Cell = str | None


@attrs.define
class Report:
    """An analytics report: logical ``headings``, ``row_count`` rows, ``row(i)`` values.

    ``column_of[h]`` is the ``ColumnN`` number of heading ``h`` (``N >= 1``; ``Column0``
    is the spurious ``"0"`` column when ``spurious_zero``).
    """

    path: str
    headings: list[str]
    row_count: int
    row: Callable[[int], Sequence[Cell]]
    column_of: list[int]
    spurious_zero: bool = True
    schema_headings: bool = True
    """``False``: the schema names the columns without ``saw-sql:columnHeading`` (as the
    real ``analytics_response_part1.xml`` of scriptotek/php-alma-client)."""
    max_page_rows: int | None = None
    """Rows a page holds at most whatever the ``limit`` (the real four-page report held
    150, 150, 88 at ``limit=1000``); ``None``: the limit."""

    def page_rows(self, limit: int) -> int:
        """The rows a page holds when ``limit`` is asked for."""
        return limit if self.max_page_rows is None else min(limit, self.max_page_rows)

    @classmethod
    def build(
        cls,
        path: str,
        headings: list[str],
        row_count: int,
        row: Callable[[int], Sequence[Cell]],
        *,
        seed: int = 0,
        spurious_zero: bool = True,
    ) -> Report:
        """Create a report whose column numbering is a seeded shuffle of ``headings``."""
        numbers = list(range(1, len(headings) + 1))
        random.Random(f"{seed}:columns:{path}").shuffle(numbers)
        return cls(path, headings, row_count, row, numbers, spurious_zero)

    @classmethod
    def from_rows(cls, path: str, headings: list[str], rows: list[list[Cell]]) -> Report:
        """A report over fixed rows (handy in tests)."""
        return cls.build(path, headings, len(rows), lambda i: rows[i])


def default_reports(seed: int, rows: int) -> dict[str, Report]:
    """The synthetic reports every simulated institution has, keyed by path."""

    def asset_row(i: int) -> list[Cell]:
        r = random.Random(f"{seed}:arow:{i}")
        year = str(1995 + r.randrange(31))
        return [
            gen.asset_id(i),
            gen.asset_doi(i) if r.random() < 0.9 else None,
            year,
            r.choice(["Journal article", "Book chapter", "Dataset", "Doctoral thesis"]),
            str(r.randrange(500)),
        ]

    def researcher_row(i: int) -> list[Cell]:
        first, middle, last = gen.person_name(seed, i)
        return [gen.researcher_id(i), gen.display_name(first, middle, last), gen.orcid(seed, i)]

    reports = [
        Report.build(
            f"{REPORT_ROOT}/Research assets",
            ["Asset Id", "DOI", "Publication Year", "Asset Type", "Views"],
            rows,
            asset_row,
            seed=seed,
        ),
        Report.build(
            f"{REPORT_ROOT}/Researchers",
            ["Primary Identifier", "Researcher Name", "ORCID"],
            137,
            researcher_row,
            seed=seed,
        ),
        Report.build(
            f"{REPORT_ROOT}/Single row",
            ["Metric", "Value"],
            1,
            lambda i: ["Total assets", str(rows)],
            seed=seed,
        ),
        Report.build(f"{REPORT_ROOT}/Empty", ["Asset Id", "Title"], 0, lambda i: [], seed=seed),
    ]
    return {r.path: r for r in reports}


def _schema(report: Report) -> str:
    cols: list[tuple[int, str]] = []
    if report.spurious_zero:
        cols.append((0, "0"))
    cols += sorted(zip(report.column_of, report.headings, strict=True))
    parts = [
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:saw-sql="urn:saw-sql" '
        f'targetNamespace="{ROWSET_NS}"><xsd:complexType name="Row"><xsd:sequence>'
    ]
    for n, heading in cols:
        named = f"saw-sql:columnHeading={quoteattr(heading)} " if report.schema_headings else ""
        parts.append(
            f'<xsd:element minOccurs="0" maxOccurs="1" name="Column{n}" type="xsd:string" '
            f'saw-sql:type="varchar" saw-sql:sqlFormula={quoteattr(heading)} '
            'saw-sql:aggregationRule="none" saw-sql:aggregationType="nonAgg" '
            f'saw-sql:tableHeading="" {named}'
            f'saw-sql:isDoubleColumn="false" saw-sql:columnID="c{n}"/>'
        )
    parts.append("</xsd:sequence></xsd:complexType></xsd:schema>")
    return "".join(parts)


def _row(report: Report, i: int) -> str:
    values = report.row(i)
    cells: list[tuple[int, str]] = []
    if report.spurious_zero:
        cells.append((0, "0"))
    for n, v in zip(report.column_of, values, strict=True):
        if v is not None:
            cells.append((n, v))
    cells.sort()
    return "<Row>" + "".join(f"<Column{n}>{escape(v)}</Column{n}>" for n, v in cells) + "</Row>"


def render_page(
    report: Report, offset: int, limit: int, *, token: str | None, first: bool
) -> tuple[bytes, bool]:
    """Render rows ``[offset, offset+limit)``; returns ``(xml bytes, is_finished)``."""
    end = min(report.row_count, offset + limit)
    finished = end >= report.row_count
    rows = "".join(_row(report, i) for i in range(offset, end))
    head = "<report><QueryResult>"
    if first and token is not None:
        head += f"<ResumptionToken>{escape(token)}</ResumptionToken>"
    head += f"<IsFinished>{'true' if finished else 'false'}</IsFinished><ResultXml>"
    if first:
        rowset = f'<rowset xmlns="{ROWSET_NS}">{_schema(report)}{rows}</rowset>'
    else:
        rowset = f"<rowset>{rows}</rowset>"
    return (XML_DECL + head + rowset + "</ResultXml></QueryResult></report>").encode(), finished


def render_not_ready(token: str | None) -> bytes:
    """A page of a report whose query still runs: ``IsFinished=false``, ``<ResultXml/>``.

    The shape is the one quoted verbatim in public Alma-analytics client code (a 200 with an
    empty ``ResultXml``, ``IsFinished`` false and, on the first request, the token).
    """
    head = "<report><QueryResult>"
    if token is not None:
        head += f"<ResumptionToken>{escape(token)}</ResumptionToken>"
    return (
        XML_DECL + head + "<IsFinished>false</IsFinished><ResultXml/></QueryResult></report>"
    ).encode()


@attrs.define
class AnalyticsSession:
    """Server-side state behind one resumption token.

    ``schema_sent`` is false while only not-ready pages were served: the next page with
    rows then carries the namespaced rowset and its schema, as a first page does.
    """

    report: Report
    limit: int
    offset: int
    schema_sent: bool = True
    done: bool = False
    """The last page was served: the token is used up (``420033`` from then on)."""

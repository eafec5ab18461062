"""The columns of an export, from the models: named after the record's JSON paths (dotted),
typed (a list stays a list), and the same for every file, whatever the first record holds.

Every table ends with ``record``: the whole record as stored (its JSON text), so nothing is
lost to the choice of columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from esploro_async.models import Asset, CodeValue, Organization, Record, Researcher

__all__ = ["COLUMNS", "Column", "record_of", "row_of"]

ColumnType = Literal["string", "list"]


@attrs.frozen
class Column:
    """One column: its name, its type (a string, or a list of strings) and how to read it."""

    name: str
    type: ColumnType
    read: Callable[[Any], Any]


def _code(value: CodeValue | None) -> str | None:
    return None if value is None else value.value


def _strings(values: Any) -> list[str]:
    return [str(v) for v in values if v is not None]


_ASSET: tuple[Column, ...] = (
    Column("originalRepository.assetId", "string", lambda a: a.asset_id),
    Column("title", "string", lambda a: a.title),
    Column("identifier.doi", "string", lambda a: a.doi),
    Column("resourcetype.esploro", "string", lambda a: _code(a.resource_type)),
    Column("date.published", "string", lambda a: a.date_published),
    Column("publisher", "string", lambda a: a.publisher),
    Column("creators", "list", lambda a: _strings(c.name for c in a.creators)),
    Column("keywords", "list", lambda a: _strings(a.keywords)),
    Column("language", "list", lambda a: _strings(a.language)),
)

_RESEARCHER: tuple[Column, ...] = (
    Column("primary_id", "string", lambda r: r.primary_id),
    Column("first_name", "string", lambda r: r.first_name),
    Column("last_name", "string", lambda r: r.last_name),
    Column("researcher.researcher_title", "string", lambda r: _code(r.researcher_title)),
    Column("status", "string", lambda r: _code(r.status)),
    Column("orcid", "string", lambda r: r.orcid),
    Column("preferred_email", "string", lambda r: r.preferred_email),
    Column("emails", "list", lambda r: _strings(r.emails)),
    Column(
        "researcher.researcher_organization_affiliation.organization_code",
        "list",
        lambda r: _strings(a.organization_code for a in r.affiliations),
    ),
    Column("researcher.researcher_keyword", "list", lambda r: _strings(r.keywords)),
)

_ORGANIZATION: tuple[Column, ...] = (
    Column("organization_code", "string", lambda o: o.organization_code),
    Column("name", "string", lambda o: o.name),
    Column("type", "string", lambda o: _code(o.type)),
    Column("parent_organization_code", "string", lambda o: o.parent_organization_code),
    Column("status", "string", lambda o: _code(o.status)),
)

_MODELS: dict[str, Callable[[dict[str, Any]], Record]] = {
    "assets": lambda d: Asset.adopt(d, view="full"),
    "researchers": lambda d: Researcher.adopt(d, view="full"),
    "organizations": lambda d: Organization.adopt(d),
}

COLUMNS: Mapping[str, tuple[Column, ...]] = {
    "assets": (*_ASSET, Column("record", "string", lambda _: None)),
    "researchers": (*_RESEARCHER, Column("record", "string", lambda _: None)),
    "organizations": (*_ORGANIZATION, Column("record", "string", lambda _: None)),
}
"""The columns of each kind, ``record`` last."""


def record_of(kind: str, text: str) -> Record:
    """The model of a stored record."""
    return _MODELS[kind](json.loads(text))


def row_of(kind: str, text: str) -> dict[str, Any]:
    """A stored record as a row of its kind's columns (``record`` is the text itself)."""
    record = record_of(kind, text)
    row = {c.name: c.read(record) for c in COLUMNS[kind] if c.name != "record"}
    row["record"] = text
    return row

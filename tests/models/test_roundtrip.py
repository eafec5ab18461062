"""Lossless round trips: arbitrary JSON and every real fixture, through every model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esploro_async.models import (
    RECORD_CLASSES,
    Asset,
    CodeValue,
    Job,
    MappingTable,
    PartialDate,
    Record,
    Researcher,
    converter,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "real"


KNOWN_KEYS = ["identifier.doi", "file.name", "user.primaryId", "order", "value", "desc"]
KNOWN_KEYS += ["researcher", "user_identifier", "creators", "id_type", "row", "status", "title"]
keys = st.one_of(st.text(max_size=8), st.sampled_from(KNOWN_KEYS))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=15,
)
json_objects = st.dictionaries(keys, json_values, max_size=6)


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _public_properties(cls: type[Record]) -> list[str]:
    return [
        name
        for klass in cls.__mro__
        for name, attr in vars(klass).items()
        if isinstance(attr, property) and not name.startswith("_")
    ]


PROPERTIES = {cls: _public_properties(cls) for cls in RECORD_CLASSES}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_objects)
def test_arbitrary_json_round_trips_through_every_model(data: dict[str, Any]) -> None:
    expected = json.dumps(data)
    for cls in RECORD_CLASSES:
        record = cls.from_dict(data)
        out = record.to_dict()
        assert out == data, cls
        assert json.dumps(out) == expected, cls
        assert converter.unstructure(converter.structure(data, cls)) == data
        # every typed getter tolerates arbitrary data
        for name in PROPERTIES[cls]:
            getattr(record, name)
        assert json.dumps(record.to_dict()) == expected, cls


@given(json_objects)
@settings(max_examples=15, deadline=None)
def test_from_dict_copies_and_to_dict_is_fresh(data: dict[str, Any]) -> None:
    snapshot = json.dumps(data)
    record = Asset.from_dict(data)
    record["new.key"] = [1]
    record.title = "changed"
    assert json.dumps(data) == snapshot
    out = record.to_dict()
    out.clear()
    assert record["new.key"] == [1]


def test_nested_input_is_not_aliased() -> None:
    source = {"researcher": {"user_identifier": [{"id_type": {"value": "ORCID"}, "value": "a"}]}}
    record = Researcher.from_dict(source)
    record.orcid = "0000-0001-5109-3700"
    assert source["researcher"]["user_identifier"][0]["value"] == "a"
    got = record["researcher"]
    got["user_identifier"].clear()
    assert record.orcid == "0000-0001-5109-3700"
    assert record.raw["researcher"]["user_identifier"][0]["value"] == "0000-0001-5109-3700"


def test_non_object_is_rejected() -> None:
    with pytest.raises(TypeError):
        Asset.from_dict([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["assets-get-by-ids.json", "asset-get-single.json"])
def test_asset_fixtures_round_trip(name: str) -> None:
    records = _load(name)["records"]
    assert records
    for data in records:
        asset = Asset.from_dict(data)
        assert asset.to_dict() == data
        assert json.dumps(asset.to_dict()) == json.dumps(data)


def test_job_fixtures_round_trip() -> None:
    jobs = _load("jobs-list.json")["job"]
    assert len(jobs) > 100
    for data in jobs:
        assert json.dumps(Job.from_dict(data, view="brief").to_dict()) == json.dumps(data)
    single = _load("job-details.json")
    assert json.dumps(Job.from_dict(single).to_dict()) == json.dumps(single)


def test_mapping_table_fixtures_round_trip() -> None:
    full = _load("mapping-table-AssetFileAndLinkTypes.json")
    assert json.dumps(MappingTable.from_dict(full).to_dict()) == json.dumps(full)
    for data in _load("mapping-tables-list.json")["mapping_table"]:
        table = MappingTable.from_dict(data, view="brief")
        assert json.dumps(table.to_dict()) == json.dumps(data)


def test_converter_hooks() -> None:
    data = {"primary_id": "jdoe", "status": {"value": "ACTIVE", "desc": "Active", "x": 1}}
    researcher = converter.structure(data, Researcher)
    assert isinstance(researcher, Researcher)
    assert converter.unstructure(researcher) == data
    many = converter.structure([data, data], list[Researcher])
    assert [r.primary_id for r in many] == ["jdoe", "jdoe"]
    code = converter.structure(data["status"], CodeValue)
    assert code == CodeValue("ACTIVE", "Active")
    assert converter.unstructure(code) == data["status"]
    assert converter.structure("202412", PartialDate) == PartialDate(2024, 12)
    assert converter.unstructure(PartialDate(2024, 12)) == "202412"


def test_view_is_not_serialised_and_validated() -> None:
    brief = Researcher.from_dict({"primary_id": "x"}, view="brief")
    assert brief.view == "brief"
    assert brief.to_dict() == {"primary_id": "x"}
    assert Researcher({"primary_id": "x"}).view is None
    with pytest.raises(ValueError, match="view"):
        Researcher.from_dict({}, view="summary")  # type: ignore[arg-type]


def test_repr_is_short_and_equality_uses_data() -> None:
    big = {"primary_id": "jdoe", "blob": "x" * 10_000}
    record = Researcher.from_dict(big, view="full")
    assert repr(record) == "<Researcher id='jdoe' view='full'>"
    assert record == Researcher.from_dict(big)
    assert record != Asset.from_dict(big)
    assert repr(Asset.from_dict({"originalRepository": {"assetId": "99"}})) == "<Asset id='99'>"


def test_typos_raise_and_records_are_unhashable() -> None:
    asset = Asset.from_dict({"title": "t"})
    with pytest.raises(AttributeError):
        asset.titel = "x"  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        hash(asset)

"""Editing one typed field changes exactly its key(s) and nothing else."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from esploro_async.models import (
    Activity,
    Asset,
    CodeValue,
    Organization,
    PartialDate,
    Researcher,
    Set,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "real"
_MISSING = object()


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """Top-level keys whose value (or presence) differs."""
    return {
        key for key in [*before, *after] if before.get(key, _MISSING) != after.get(key, _MISSING)
    }


def same_order_for_kept_keys(before: dict[str, Any], after: dict[str, Any]) -> bool:
    kept = [k for k in before if k in after]
    return [k for k in after if k in before] == kept


def _single_asset() -> dict[str, Any]:
    path = FIXTURES / "asset-get-single.json"
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["records"][0]
    return record


@pytest.mark.parametrize(
    ("prop", "value", "key"),
    [
        ("title", "New title", "title"),
        ("doi", "10.20/30456", "identifier.doi"),
        ("publisher", "Elsevier", "publisher"),
        ("date_published", "2023", "date.published"),
        ("date_published", PartialDate(2023, 5), "date.published"),
        ("date_published", datetime.date(2023, 5, 17), "date.published"),
        ("language", "ger", "language"),
    ],
)
def test_asset_setter_changes_one_key(prop: str, value: Any, key: str) -> None:
    data = _single_asset()
    asset = Asset.from_dict(data)
    setattr(asset, prop, value)
    after = asset.to_dict()
    assert changed_keys(data, after) == {key}
    assert same_order_for_kept_keys(data, after)
    assert list(after) == list(data)  # an existing key keeps its position


def test_asset_setter_values_and_removal() -> None:
    asset = Asset.from_dict({"a": "1", "date.published": "2020"})
    asset.date_published = datetime.date(2023, 5, 7)
    assert asset["date.published"] == "20230507"
    assert asset.date_published_parsed == PartialDate(2023, 5, 7)
    asset.doi = "10.1/x"
    assert asset.to_dict() == {"a": "1", "date.published": "20230507", "identifier.doi": "10.1/x"}
    asset.doi = None
    assert "identifier.doi" not in asset
    asset.language = ["eng", "ger"]
    assert asset["language"] == ["eng", "ger"]


def test_asset_resource_type_setter_touches_only_its_two_keys() -> None:
    data = _single_asset()
    asset = Asset.from_dict(data)
    asset.resource_type = CodeValue("publication.book", "Book")
    after = asset.to_dict()
    assert changed_keys(data, after) == {"resourcetype.esploro", "resourceTypeEsploroWithDesc"}
    assert after["resourcetype.esploro"] == "publication.book"
    assert after["resourceTypeEsploroWithDesc"] == {"value": "publication.book", "desc": "Book"}
    plain = Asset.from_dict({"resourcetype.esploro": "x"})
    plain.resource_type = "publication.book"
    assert plain.to_dict() == {"resourcetype.esploro": "publication.book"}


ODD_RESEARCHER: dict[str, Any] = {
    "primary_id": 12345,
    "first_name": "Jane",
    "last_name": "Doe",
    "is_researcher": "true",
    "status": {"value": "ACTIVE", "desc": "Active", "order": "1"},
    "user_identifier": {"id_type": "orcid", "value": "0000-0001-0000-0001", "note": "x"},
    "contact_info": {"email": {"email_address": "jane@example.org", "preferred": "true"}},
    "researcher": {
        "researcher_first_name": "",
        "researcher_last_name": "Doe-Smith",
        "auto_capture": "yes",
        "user_identifier": [{"value": "abc", "id_type": {"value": "SCOPUS"}}],
        "researcher_keyword": {"value": "physics"},
    },
    "unknown.dotted": [1, "2", None],
}


def test_orcid_set_edits_existing_entry_in_place() -> None:
    data = json.loads(json.dumps(ODD_RESEARCHER))
    researcher = Researcher.from_dict(data, view="full")
    assert researcher.orcid == "0000-0001-0000-0001"
    researcher.orcid = "0000-0002-1825-0097"
    after = researcher.to_dict()
    assert changed_keys(data, after) == {"user_identifier"}
    # the single object stays a single object, only its value changed
    assert after["user_identifier"] == {
        "id_type": "orcid",
        "value": "0000-0002-1825-0097",
        "note": "x",
    }
    assert json.dumps(after["researcher"]) == json.dumps(data["researcher"])


def test_orcid_set_in_researcher_sub_object() -> None:
    data: dict[str, Any] = {
        "primary_id": "x",
        "researcher": {
            "user_identifier": [
                {"value": "1", "id_type": {"value": "SCOPUS"}},
                {"value": "old", "id_type": {"value": "ORCID", "desc": "ORCID"}, "status": "A"},
            ],
            "other": 1,
        },
    }
    researcher = Researcher.from_dict(data)
    researcher.orcid = "https://orcid.org/0000-0002-1825-0097"
    after = researcher.to_dict()
    assert changed_keys(data, after) == {"researcher"}
    assert changed_keys(data["researcher"], after["researcher"]) == {"user_identifier"}
    assert after["researcher"]["user_identifier"][1] == {
        "value": "0000-0002-1825-0097",  # checked, stored bare
        "id_type": {"value": "ORCID", "desc": "ORCID"},
        "status": "A",
    }


@pytest.mark.parametrize(
    "existing",
    [
        None,
        [],
        [{"value": "1", "id_type": {"value": "SCOPUS"}}],
        {"value": "1", "id_type": {"value": "SCOPUS"}},
        "garbage",
    ],
)
def test_orcid_set_appends_when_missing(existing: Any) -> None:
    data: dict[str, Any] = {"primary_id": "x", "b": 2}
    if existing is not None:
        data["user_identifier"] = existing
    data["z"] = 3
    researcher = Researcher.from_dict(data)
    assert researcher.orcid is None
    researcher.orcid = "0000-0002-1825-0097"
    after = researcher.to_dict()
    assert changed_keys(data, after) == {"user_identifier"}
    entries = after["user_identifier"]
    assert entries[-1] == {"value": "0000-0002-1825-0097", "id_type": {"value": "ORCID"}}
    assert entries[:-1] == (
        [] if existing is None else existing if isinstance(existing, list) else [existing]
    )
    assert researcher.orcid == "0000-0002-1825-0097"


def test_orcid_set_none_removes_entries() -> None:
    researcher = Researcher.from_dict(
        {"user_identifier": [{"id_type": {"value": "ORCID"}, "value": "1"}, {"value": "k"}]}
    )
    researcher.orcid = None
    assert researcher.to_dict() == {"user_identifier": [{"value": "k"}]}


def test_researcher_name_and_status_setters() -> None:
    data = json.loads(json.dumps(ODD_RESEARCHER))
    researcher = Researcher.from_dict(data)
    researcher.last_name = "Smith"
    after = researcher.to_dict()
    assert changed_keys(data, after) == {"researcher"}
    assert changed_keys(data["researcher"], after["researcher"]) == {"researcher_last_name"}

    brief = Researcher.from_dict({"primary_id": "a", "first_name": "A"}, view="brief")
    brief.first_name = "B"
    assert brief.to_dict() == {"primary_id": "a", "first_name": "B"}

    researcher = Researcher.from_dict(data)
    researcher.status = "INACTIVE"
    after = researcher.to_dict()
    assert changed_keys(data, after) == {"status"}
    assert after["status"] == {"value": "INACTIVE"}

    researcher = Researcher.from_dict(data)
    researcher.is_researcher = False
    assert changed_keys(data, researcher.to_dict()) == {"is_researcher"}
    assert researcher["is_researcher"] == "false"  # the stored shape (a string) is kept


def test_code_value_with_extra_keys_survives_read_and_write_back() -> None:
    data = json.loads(json.dumps(ODD_RESEARCHER))
    researcher = Researcher.from_dict(data)
    status = researcher.status
    assert status == CodeValue("ACTIVE", "Active")
    assert status is not None
    assert status.extra == {"order": "1"}
    researcher.status = status
    assert researcher.to_dict() == data
    researcher.status = attrs.evolve(status, desc="Still active")
    assert researcher["status"] == {"value": "ACTIVE", "desc": "Still active", "order": "1"}


def test_code_value_json() -> None:
    source = {"desc": "Yes", "value": "true", "link": "l"}
    code = CodeValue.from_json(source)
    assert code is not None
    assert list(code.to_json()) == ["desc", "value", "link"]
    assert code.to_json() == source
    assert CodeValue("X").to_json() == {"value": "X"}
    assert CodeValue("X", "Y").to_json() == {"value": "X", "desc": "Y"}
    assert CodeValue.from_json("X") == CodeValue("X")
    assert CodeValue.from_json({"value": 0, "link": "m"}) == CodeValue("0")
    assert CodeValue.from_json({"value": 0, "link": "m"}).to_json() == {"value": 0, "link": "m"}  # type: ignore[union-attr]
    assert CodeValue.from_json(None) is None
    assert CodeValue.from_json([1]) is None
    assert hash(CodeValue("A", "B")) == hash(
        CodeValue.from_json({"value": "A", "desc": "B", "o": 1})
    )


def test_set_private_and_other_setters_keep_shape() -> None:
    data: dict[str, Any] = {"id": "1", "private": {"value": "true", "desc": "Yes"}, "z": 0}
    record = Set.from_dict(data)
    assert record.private is True
    record.private = False
    assert record.to_dict() == {"id": "1", "private": {"value": "false"}, "z": 0}
    record.name = "n"
    assert changed_keys(data, record.to_dict()) == {"private", "name"}

    activity = Activity.from_dict({"activity_category": "activity.teaching", "k": 1})
    activity.category = "activity.service"
    assert activity.to_dict() == {"activity_category": "activity.service", "k": 1}
    coded = Activity.from_dict({"activity_type": {"value": "a", "desc": "A"}})
    coded.type = "b"
    assert coded.to_dict() == {"activity_type": {"value": "b"}}

    org = Organization.from_dict({"organization_name": "Old", "x": 1})
    org.name = "New"
    assert org.to_dict() == {"organization_name": "New", "x": 1}


def test_setitem_and_delitem() -> None:
    asset = Asset.from_dict({"file.name": "a", "b": 1})
    value = [{"x": 1}]
    asset["temporary.linksToExtract"] = value
    value[0]["x"] = 2  # later edits of the caller's object do not leak in
    assert asset["temporary.linksToExtract"] == [{"x": 1}]
    del asset["b"]
    assert asset.keys() == ["file.name", "temporary.linksToExtract"]
    assert "file.name" in asset
    assert asset.get("missing", 5) == 5
    assert len(asset) == 2
    assert list(asset) == ["file.name", "temporary.linksToExtract"]
    with pytest.raises(TypeError):
        asset.raw["b"] = 1  # type: ignore[index]

"""Typed getters: tolerant coercion on odd data, and expected values on real fixtures."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from esploro_async.models import (
    Asset,
    CodeTable,
    CodeValue,
    Job,
    MappingTable,
    Organization,
    PartialDate,
    Researcher,
    Set,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "real"


def _load(name: str) -> Any:
    path = FIXTURES / name
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def single_asset() -> Asset:
    """The record of the real single-asset answer."""
    return Asset.from_dict(_load("asset-get-single.json")["records"][0])


def test_asset_identifiers_from_the_real_record(single_asset: Asset) -> None:
    asset = single_asset
    assert asset.asset_id == "991291935000561"
    assert asset.doi == "10.1016/j.hybadv.2024.100277"
    assert asset.identifiers["pmcid"] == "PMC9963672 "
    assert set(asset.identifiers) >= {"doi", "pmid", "uri", "handle", "additional02"}


def test_asset_descriptive_values_from_the_real_record(single_asset: Asset) -> None:
    asset = single_asset
    assert asset.resource_type == CodeValue("publication.journalArticle", "Journal article")
    assert asset.date_published == "202412"
    assert asset.date_published_parsed == PartialDate(2024, 12)
    assert asset.publisher == "Penerbit"
    assert asset.language == ["eng", "jpn", "may"]
    assert asset.keywords == ["additioanl keywaord", "additioanl subjects", "katakunci"]
    assert asset.local_fields["local.note1"] == "field 1 "
    assert len(asset.abstracts) == 2


def test_asset_status_flags_from_the_real_record(single_asset: Asset) -> None:
    asset = single_asset
    assert asset.deposit_status == CodeValue("approved", "Approved")
    assert asset.open_access is True
    assert asset.peer_reviewed is False
    assert asset.portal_visibility is True


def test_asset_creators_and_contributors_from_the_real_record(single_asset: Asset) -> None:
    creators = single_asset.creators
    assert [c.order for c in creators] == [1, 2, 3]
    assert creators[0].orcid == "0000-0002-0681-7383"
    assert creators[1].user_primary_id == "amirshomzy"
    assert creators[1].affiliations[0] == CodeValue(
        "TR_INTEGRATION_INST___Phil1", "Greek philosophy"
    )
    assert creators[1].additional_identifiers == {"GoogleScholarID": "0", "UNIV_ID": "14119901"}
    names = [c.name for c in single_asset.contributors]
    assert names == ["Max Test Researcher", "national group publ"]


def test_asset_files_and_links_from_the_real_record(single_asset: Asset) -> None:
    files = single_asset.files
    assert files[0].size == 24214
    assert files[0].supplemental is False
    assert files[1].supplemental is True
    assert files[0].type == CodeValue("submitted", "Submitted test")
    links = single_asset.links
    assert links[0].order == 1
    assert links[0].license is None
    assert links[1].display_in_viewer is True


ODD_ASSET: dict[str, Any] = {
    "title": 42,
    "creators": {"order": "x", "creatorname": "Solo", "affiliationWithDesc": None},
    "files": {"file.size": "12", "file.supplemental": "yes", "fileTypeWithDesc": None},
    "links": None,
    "language": "eng",
    "keywords": ["a", {"values": "b"}, {"value": "c"}, None, 5],
    "date.published": "2024-13",
    "identifier.isbn": ["1", 2, None],
    "identifier.x": {"no": 1},
    "originalRepository": "not an object",
    "depositStatusWithDesc": None,
    "asset.deposit.status": "draft",
    "openaccess": "unknown",
}


def test_asset_getters_coerce_odd_scalars_and_lists() -> None:
    asset = Asset.from_dict(ODD_ASSET)
    assert asset.title == "42"
    assert asset.asset_id is None
    assert asset.links == []
    assert asset.language == ["eng"]
    assert asset.keywords == ["a", "b", "c", "5"]
    assert asset.date_published_parsed is None
    assert asset.identifiers == {"isbn": ["1", "2"]}
    assert asset.deposit_status == CodeValue("draft")
    assert asset.open_access is None


def test_asset_getters_read_a_lone_creator_and_file_as_lists() -> None:
    asset = Asset.from_dict(ODD_ASSET)
    assert [c.name for c in asset.creators] == ["Solo"]
    assert asset.creators[0].order is None
    assert asset.creators[0].affiliations == ()
    assert asset.files[0].size == 12
    assert asset.files[0].supplemental is True
    assert asset.files[0].type is None


def test_asset_getters_on_an_empty_record() -> None:
    empty = Asset.from_dict({})
    assert (empty.title, empty.creators, empty.files, empty.keywords) == (None, [], [], [])
    assert empty.resource_type is None


def test_partial_date() -> None:
    assert PartialDate.parse("20211018") == PartialDate(2021, 10, 18)
    assert PartialDate.parse("2021") == PartialDate(2021)
    assert PartialDate.parse(2021) == PartialDate(2021)
    assert PartialDate.parse("2021-02") == PartialDate(2021, 2)
    for bad in ("20210230", "202113", "18/10/2021", "", None, 1.5, "abcd"):
        assert PartialDate.parse(bad) is None
    assert PartialDate(2021, 2).to_date() == datetime.date(2021, 2, 1)
    assert str(PartialDate(2021, 2, 3)) == "20210203"
    assert not PartialDate(2021).is_complete
    with pytest.raises(ValueError, match="invalid"):
        PartialDate(2021, None, 3)


BRIEF = {
    "primary_id": "jdoe",
    "first_name": "Jane",
    "last_name": "Doe",
    "status": {"value": "ACTIVE", "desc": "Active"},
    "is_researcher": True,
    "link": "https://api/researchers/jdoe",
}

FULL: dict[str, Any] = {
    "primary_id": "jdoe",
    "first_name": "J",
    "last_name": "D",
    "is_researcher": "yes",
    "user_identifier": [{"id_type": {"value": "UNIV_ID"}, "value": 1234}],
    "contact_info": {
        "email": [
            {"email_address": "a@x.org", "preferred": False},
            {"email_address": "b@x.org", "preferred": "true"},
            {"email_address": None},
        ]
    },
    "researcher": {
        "researcher_first_name": "Jane",
        "researcher_last_name": "",
        "researcher_title": {"value": "DR", "desc": "Dr."},
        "user_identifier": {"value": "0000-0001", "id_type": {"value": "orcid"}},
        "researcher_organization_affiliation": [
            {
                "organization_code": "01XXX_INST___1234",
                "start_date": "2020-01-01Z",
                "position": {"value": "PROF", "desc": "Professor"},
                "title": "Chair",
            },
            "01XXX_INST___99",
        ],
        "researcher_keyword": [{"value": "physics"}, "chemistry", {"value": None}],
    },
}


def test_researcher_brief_view() -> None:
    brief = Researcher.from_dict(BRIEF, view="brief")
    assert (brief.primary_id, brief.first_name, brief.last_name) == ("jdoe", "Jane", "Doe")
    assert brief.status == CodeValue("ACTIVE", "Active")
    assert brief.is_researcher is True
    assert brief.link == "https://api/researchers/jdoe"
    assert brief.orcid is None
    assert brief.emails == []
    assert brief.affiliations == []


def test_researcher_full_view_names_and_identifiers() -> None:
    full = Researcher.from_dict(FULL, view="full")
    assert full.first_name == "Jane"  # researcher_first_name preferred
    assert full.last_name == "D"  # empty researcher_last_name falls back to top level
    assert full.is_researcher is True
    assert full.orcid == "0000-0001"
    assert full.identifiers == [("UNIV_ID", "1234"), ("orcid", "0000-0001")]
    assert full.emails == ["a@x.org", "b@x.org"]
    assert full.preferred_email == "b@x.org"
    assert full.researcher_title == CodeValue("DR", "Dr.")


def test_researcher_full_view_affiliations_and_keywords() -> None:
    full = Researcher.from_dict(FULL, view="full")
    affiliations = full.affiliations
    assert affiliations[0].organization_code == "01XXX_INST___1234"
    assert affiliations[0].position == CodeValue("PROF", "Professor")
    assert affiliations[0].title == "Chair"
    assert affiliations[1].organization_code == "01XXX_INST___99"
    assert full.keywords == ["physics", "chemistry"]


def test_researcher_getters_on_nulls() -> None:
    odd = Researcher.from_dict(
        {"primary_id": None, "researcher": None, "contact_info": {"email": None}, "status": "X"}
    )
    assert not odd.has_primary_id
    assert odd.primary_id == ""
    assert odd.first_name is None
    assert odd.orcid is None
    assert odd.emails == []
    assert odd.preferred_email is None
    assert odd.keywords == []
    assert odd.status == CodeValue("X")
    assert odd.is_researcher is None


def test_jobs_fixtures() -> None:
    job = Job.from_dict(_load("job-details.json"))
    assert job.id == "M50173"
    assert job.category == CodeValue("RESEARCH_ASSETS", "Research Assets")
    assert job.content is not None
    assert job.content.value == "IMPORT_RESEARCH_ASSETS_FILES"
    jobs = [Job.from_dict(j) for j in _load("jobs-list.json")["job"]]
    assert all(j.id and j.name for j in jobs)
    run = Job.from_dict(
        {
            "id": "M50173",
            "additional_info": {
                "value": "Job no. 9563643080000561 triggered on ...",
                "link": "https://api/almaws/v1/conf/jobs/M50173/instances/9563643080000561",
            },
            "parameter": [{"name": {"value": "set_id"}, "value": "123"}, "junk"],
        }
    )
    assert run.instance_id == "9563643080000561"
    assert run.parameters == {"set_id": "123"}
    assert run.additional_info is not None


def test_mapping_table_fixture() -> None:
    table = MappingTable.from_dict(_load("mapping-table-AssetFileAndLinkTypes.json"))
    assert table.code == "AssetFileAndLinkTypes"
    assert table.customized is True
    assert table.sub_system == CodeValue("RESEARCH", "Research")
    rows = table.rows
    assert rows[0].columns == ("07940839-AssetLink", "link", "all")
    assert rows[0].enabled is True
    assert len(table.header) == 3
    brief = [MappingTable.from_dict(m) for m in _load("mapping-tables-list.json")["mapping_table"]]
    assert all(m.rows == [] for m in brief)


def test_set_code_table_and_organization() -> None:
    data = {
        "id": "9563654780000561",
        "name": "CloudApp-FilesLoaderSet",
        "type": {"value": "ITEMIZED", "desc": "Itemized"},
        "content": {"value": "IER", "desc": "Research assets"},
        "status": {"value": "ACTIVE", "desc": "Active"},
        "private": {"value": "true", "desc": "Yes"},
        "created_date": "2025-10-05T09:38:16.058Z",
        "number_of_members": {"value": 0, "link": "https://api/conf/sets/956/members"},
        "link": "https://api/conf/sets/956",
    }
    record = Set.from_dict(data)
    assert record.content == CodeValue("IER", "Research assets")
    assert record.private is True
    assert record.number_of_members == 0
    assert record.members_link == "https://api/conf/sets/956/members"
    assert Set.from_dict({"number_of_members": "7"}).number_of_members == 7

    table = CodeTable.from_dict(
        {
            "name": "UserTitles",
            "row": [
                {"code": "DR", "description": "Dr.", "enabled": "true"},
                {"code": "OLD", "description": "Old", "enabled": False},
            ],
        }
    )
    assert table.as_mapping() == {"DR": "Dr."}
    assert table.as_mapping(enabled_only=False) == {"DR": "Dr.", "OLD": "Old"}
    single = CodeTable.from_dict({"row": {"code": "A", "description": "a"}})
    assert [r.code for r in single.rows] == ["A"]

    org = Organization.from_dict(
        {"organization_code": "X_1", "organization_name": "Dept", "organization_type": "DEPT"}
    )
    assert (org.organization_code, org.name) == ("X_1", "Dept")
    assert org.type == CodeValue("DEPT")
    assert repr(org) == "<Organization id='X_1'>"

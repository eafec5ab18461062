"""The real researcher record: ``tests/fixtures/public/researcher-full.json`` is the full
record Ex Libris' own researcher-loader Cloud App wrote back (``PUT /almaws/v1/researchers/
{id}`` payload in the public server log ``documentation/logs.txt`` of
Testing-Environment/esploro-csv-researcher-loader); ``rest-researcher-xsd-fields.json`` holds
the field tags of Ex Libris' ``rest_researcher.xsd`` data dictionary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from esploro_async.models import Researcher

PUBLIC = Path(__file__).parent.parent / "fixtures" / "public"


def _record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PUBLIC / "researcher-full.json").read_text())
    return data


def test_the_real_record_round_trips_whole() -> None:
    data = _record()
    assert len(data["researcher"]) == 29
    researcher = Researcher.from_dict(data)
    assert researcher.to_dict() == data
    assert json.dumps(researcher.to_dict()) == json.dumps(data)


def test_which_name_is_which_on_the_real_record() -> None:
    researcher = Researcher.from_dict(_record())
    # the Alma user's official name ...
    assert researcher.user_first_name == "Amir"
    assert researcher.user_last_name == "Shomzy"
    assert researcher.user_full_name == "Amir Faaiz Shomzy"
    # ... and the researcher's, which Esploro shows
    assert researcher.researcher_first_name == "Amir"
    assert researcher.researcher_middle_name == "Faaiz"
    assert researcher.researcher_last_name == "Shamsolnizam"
    assert researcher.last_name == "Shamsolnizam"
    assert researcher.full_name == "Amir Faaiz Shamsolnizam"


def test_full_name_falls_back_to_the_user() -> None:
    data = _record()
    for key in ("researcher_first_name", "researcher_middle_name", "researcher_last_name"):
        data["researcher"][key] = ""
    assert Researcher.from_dict(data).full_name == "Amir Faaiz Shomzy"
    del data["full_name"]
    data["middle_name"] = ""
    assert Researcher.from_dict(data).full_name == "Amir Shomzy"
    assert Researcher.from_dict({}).full_name is None


def test_the_real_record_reads_as_users_expect() -> None:
    researcher = Researcher.from_dict(_record())
    primary_id: str = researcher.primary_id  # typed str: a stored record always has one
    assert primary_id == "muhammad.shamsolnizam@clarivate.com"
    assert researcher.has_primary_id
    assert researcher.orcid is None
    assert ("UNIV_ID", "14119901") in researcher.identifiers
    assert ("GOOGLE", "991278154700561") in researcher.identifiers


def test_the_real_record_affiliations_keywords_email_and_title() -> None:
    researcher = Researcher.from_dict(_record())
    assert len(researcher.affiliations) == 6
    assert researcher.affiliations[0].organization_code == "TR_INTEGRATION_INST___Phil1"
    assert researcher.keywords[0] == "Molecular Biotech"
    assert researcher.preferred_email == "muhammadamirfaaiz.shamsolnizam@clarivate.com"
    assert researcher.researcher_title is not None
    assert researcher.researcher_title.value == "DRPROF"
    assert researcher.is_researcher is True


def test_the_model_reads_only_tags_of_the_xsd_or_the_real_record() -> None:
    xsd = json.loads((PUBLIC / "rest-researcher-xsd-fields.json").read_text())
    known = set(xsd["researcher"]) | set(_record()["researcher"])
    read = {
        "researcher_first_name",
        "researcher_middle_name",
        "researcher_last_name",
        "researcher_title",
        "researcher_organization_affiliation",
        "researcher_keyword",
        "user_identifier",
    }
    assert read <= known
    # every section the XSD lists in the plural has its singular list key in JSON
    singular = {s for s in xsd["sections"] if not s.endswith("s")}
    assert {"researcher_keyword", "researcher_honor", "researcher_education"} <= singular
    # the real record carries the XSD's tags under the same names
    shared = set(_record()["researcher"]) & set(xsd["researcher"])
    assert len(shared) == 11
    assert {"researcher_suffix", "photo_url", "profile_identifier_url"} == set(
        xsd["researcher"]
    ) - shared

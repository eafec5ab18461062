"""XML: the real asset record round-trips, patch bodies, job instances, safe parsing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esploro_async.models import (
    Asset,
    CodeValue,
    JobInstance,
    PartialDate,
    assets_from_xml,
    assets_to_xml,
    build_asset_patch_xml,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "real"


def canonical(text: str) -> str:
    """XML equivalence: C14N 2.0 with whitespace-only/surrounding text whitespace stripped.

    The XML declaration, attribute quoting, ``<a/>`` vs ``<a></a>`` and indentation are
    normalised; elements, attributes, text and order must match.
    """
    return ET.canonicalize(text, strip_text=True)


def _read(name: str) -> str:
    path = FIXTURES / name
    return path.read_text(encoding="utf-8")


def test_asset_xml_fixture_round_trips() -> None:
    text = _read("asset-record.xml")
    asset = Asset.from_xml(text)
    out = asset.to_xml()
    assert canonical(out) == canonical(text)
    assert out.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    # through a dict and back as well
    again = Asset.from_dict(asset.to_dict())
    assert canonical(again.to_xml()) == canonical(text)
    assert canonical(assets_to_xml(assets_from_xml(text))) == canonical(text)


def test_asset_xml_typed_getters() -> None:
    asset = Asset.from_xml(_read("asset-record.xml"))
    assert asset.asset_id == "991278154700561"
    assert asset.doi == "10.1080/00472778.2024.2326581"
    assert asset.identifiers["scopus"] == "2-s2.0-85189762960"
    assert asset.date_published_parsed == PartialDate(2024)
    assert asset.language == ["eng"]
    assert asset.deposit_status == CodeValue("draft")
    assert asset.resource_type == CodeValue("publication.journalArticle")
    assert asset.links == []
    assert asset.portal_visibility is False
    assert asset.local_fields["local.note1"].startswith('<?xml version="1.0"')


def test_asset_xml_creators_in_their_order_with_identifiers_and_affiliations() -> None:
    creators = Asset.from_xml(_read("asset-record.xml")).creators
    assert [c.order for c in creators] == [3, 0, 1, 2]
    assert creators[0].additional_identifiers == {
        "FACEBOOK": "42345345",
        "GoogleScholarID": "testtes325sh",
        "Other": "othertest",
    }
    assert [a.value for a in creators[1].affiliations] == [
        "41___MANAGEMENT_CENTER_INNSBRUCK_(INNSBRUCK)",
        "41___UNIVERSITÄT_INNSBRUCK_(INNSBRUCK)",
    ]
    assert creators[1].affiliations[1].desc == "Universität Innsbruck (Austria, Innsbruck)"


def test_asset_xml_edit_changes_one_element() -> None:
    text = _read("asset-record.xml")
    asset = Asset.from_xml(text)
    asset.doi = "10.20/30456"
    edited = ET.fromstring(asset.to_xml().split("\n", 1)[1])
    original = ET.fromstring(text.split("\n", 1)[1])
    rec_a, rec_b = original.find("record"), edited.find("record")
    assert rec_a is not None
    assert rec_b is not None
    assert [c.tag for c in rec_a] == [c.tag for c in rec_b]
    diffs = [
        a.tag
        for a, b in zip(rec_a, rec_b, strict=True)
        if canonical(ET.tostring(a, "unicode")) != canonical(ET.tostring(b, "unicode"))
    ]
    assert diffs == ["identifier.doi"]


def test_patch_body() -> None:
    body = build_asset_patch_xml({"identifier.doi": "10.20/30456"})
    assert body == (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<ns3:records total_record_count="1" xmlns:ns2="http://esploro_record" '
        'xmlns:ns3="http://rest_esploro"><record><identifier.doi>10.20/30456</identifier.doi>'
        "</record></ns3:records>"
    )
    body = build_asset_patch_xml(
        {"identifier.pmid": 123, "language": ["eng", "ger"], "x": {"y": True}, "n": None}
    )
    assert "<identifier.pmid>123</identifier.pmid>" in body
    assert "<language>eng</language><language>ger</language>" in body
    assert "<x><y>true</y></x>" in body
    assert "<n />" in body or "<n/>" in body
    assert "&lt;" in build_asset_patch_xml({"t": "a<b"})
    with pytest.raises(ValueError, match="not a valid XML"):
        build_asset_patch_xml({"bad key": "x"})


def test_bare_record_and_empty_document() -> None:
    asset = Asset.from_xml("<record><title>T</title><a k='v'>x</a></record>")
    assert asset.to_dict() == {"title": "T", "a": {"@k": "v", "#text": "x"}}
    with pytest.raises(ValueError, match="no <record>"):
        Asset.from_xml('<ns3:records xmlns:ns3="http://rest_esploro"/>')


def test_xml_parsing_refuses_entities() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
        "<record><title>&b;</title></record>"
    )
    with pytest.raises(Exception, match=r"(?i)DTD|entit"):
        Asset.from_xml(bomb)


@pytest.fixture
def real_instance() -> JobInstance:
    """The real finished job instance (``job-instance.xml``)."""
    return JobInstance.from_xml(_read("job-instance.xml"))


def test_job_instance_from_xml_status_and_progress(real_instance: JobInstance) -> None:
    job = real_instance
    assert job.id == "9563643080000561"
    assert job.status == CodeValue("COMPLETED_SUCCESS", "Completed Successfully")
    assert job.is_finished
    assert job.progress == 100
    assert job.submitted_by == CodeValue("exl_api", "Ex Libris, API")
    assert job["status"] == {"value": "COMPLETED_SUCCESS", "desc": "Completed Successfully"}
    assert job["progress"] == "100"


def test_job_instance_from_xml_alerts_and_counters(real_instance: JobInstance) -> None:
    job = real_instance
    assert len(job.alerts) == 1
    assert job.alerts[0].value == "alert_general_success"
    counters = job.counter_values
    assert counters["import_research_assets_files.asset_failed"] == 1
    assert len(job.counters) == 6
    assert "alerts" not in job
    assert "counters" not in job


def test_job_instance_from_xml_links_to_itself_and_its_job(real_instance: JobInstance) -> None:
    job = real_instance
    assert job.link is not None
    assert job.link.endswith("/instances/9563643080000561")
    info = job.job_info
    assert info is not None
    assert info.id == "M50173"
    assert info.link == "https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/jobs/M50173"
    assert info.category == CodeValue("RESEARCH_ASSETS", "Research Assets")


def test_job_instance_from_xml_round_trips_through_a_dict(real_instance: JobInstance) -> None:
    job = real_instance
    assert JobInstance.from_dict(job.to_dict()).to_dict() == job.to_dict()


def test_job_instance_running() -> None:
    job = JobInstance.from_xml("<job_instance><status>RUNNING</status></job_instance>")
    assert not job.is_finished
    assert job.counters == []


tags = st.sampled_from(["a", "b", "c", "identifier.doi", "file.name", "x_y"])
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6
).filter(lambda s: s == s.strip())
attrs_st = st.dictionaries(st.sampled_from(["desc", "link", "k"]), texts, max_size=2)


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> ET.Element:
    elem = ET.Element(draw(tags))
    elem.attrib.update(draw(attrs_st))
    if depth < 3 and draw(st.booleans()):
        for _ in range(draw(st.integers(0, 4))):
            elem.append(draw(elements(depth + 1)))
    if len(elem) == 0:
        elem.text = draw(texts) or None
    return elem


@settings(max_examples=30, deadline=None)
@given(st.lists(elements(), max_size=4))
def test_arbitrary_xml_records_round_trip(children: list[ET.Element]) -> None:
    record = ET.Element("record")
    record.extend(children)
    doc = (
        '<ns3:records total_record_count="1" xmlns:ns2="http://esploro_record" '
        'xmlns:ns3="http://rest_esploro">' + ET.tostring(record, "unicode") + "</ns3:records>"
    )
    assert canonical(Asset.from_xml(doc).to_xml()) == canonical(doc)

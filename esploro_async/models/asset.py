"""``Asset``: an Esploro research output, in JSON or in the ``<ns3:records>`` XML form."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from esploro_async.models._base import Record, View
from esploro_async.models._codes import CodeValue, CodeValueLike
from esploro_async.models._dates import PartialDate
from esploro_async.models._fields import flag, text
from esploro_async.models._json import (
    as_bool,
    as_int,
    as_list,
    as_str,
    json_copy,
    unwrap_list,
)
from esploro_async.models._xml import (
    element_to_json,
    json_to_element,
    local_name,
    parse_xml,
    records_envelope,
)

__all__ = [
    "Asset",
    "AssetFile",
    "AssetLink",
    "Creator",
    "assets_from_xml",
    "assets_to_xml",
    "build_asset_patch_xml",
]


def _obj(data: Any) -> Mapping[str, Any]:
    return data if isinstance(data, Mapping) else {}


def _code_or(data: Mapping[str, Any], with_desc: str, plain: str) -> CodeValue | None:
    """Read ``xxxWithDesc`` when it is an object, else the plain code key."""
    code = (
        CodeValue.from_json(data.get(with_desc))
        if isinstance(data.get(with_desc), Mapping)
        else None
    )
    return (
        code
        if code is not None and code.value is not None
        else CodeValue.from_json(data.get(plain))
    )


def _additional_identifiers(value: Any) -> dict[str, str]:
    """JSON ``{"UNIV_ID": "1"}`` or XML ``{"entry": [{"key": .., "value": ..}]}``."""
    out: dict[str, str] = {}
    if not isinstance(value, Mapping):
        return out
    if set(value) == {"entry"}:
        for entry in as_list(value["entry"]):
            if isinstance(entry, Mapping):
                key, val = as_str(entry.get("key")), as_str(entry.get("value"))
                if key is not None and val is not None:
                    out[key] = val
        return out
    for key, val in value.items():
        text = as_str(val)
        if text is not None:
            out[key] = text
    return out


@attrs.frozen
class Creator:
    """A creator (or contributor) of an asset; a read-only view of one list item.

    ``affiliations`` come from ``affiliationWithDesc`` (JSON) or, when that holds nothing,
    from the XML pair ``affiliation``/``affiliationName``. Edit creators through
    ``asset["creators"]``.
    """

    name: str | None
    """``creatorname`` (or ``contributorname``/``organization`` for contributors)."""
    given_name: str | None
    """``givenname``."""
    family_name: str | None
    """``familyname``."""
    middle_name: str | None
    """``middlename``."""
    order: int | None
    """``order`` read as an int (``"2"`` -> 2)."""
    role: str | None
    """``role`` (e.g. ``Editor``)."""
    user_primary_id: str | None
    """``user.primaryId``: the researcher's primary id when the creator is a researcher."""
    alma_user_id: str | None
    """``almaUserId``."""
    orcid: str | None
    """``identifier.orcid``."""
    is_display_in_public_profile: bool | None
    """``isDisplayInPublicProfile``."""
    affiliations: tuple[CodeValue, ...]
    """Affiliation codes with descriptions."""
    additional_identifiers: Mapping[str, str] = attrs.field(hash=False)
    """``additionalIdentifiers`` as ``{type: value}`` (JSON object or XML entries)."""
    raw: Mapping[str, Any] = attrs.field(hash=False, eq=False, repr=False)
    """The item's JSON object (a copy)."""

    @classmethod
    def from_json(cls, data: Any) -> Creator:
        """Build from a creator/contributor object; a bare string is taken as the name."""
        if isinstance(data, str):
            data = {"creatorname": data}
        d = _obj(data)
        affiliations: list[CodeValue] = []
        for item in as_list(d.get("affiliationWithDesc")):
            code = CodeValue.from_json(item) if isinstance(item, Mapping) else None
            if code is not None:
                affiliations.append(code)
        if not affiliations:
            names = [as_str(n) for n in as_list(d.get("affiliationName"))]
            for i, code_value in enumerate(as_list(d.get("affiliation"))):
                text = as_str(code_value)
                if text:
                    affiliations.append(CodeValue(text, names[i] if i < len(names) else None))
        name = d.get("creatorname", d.get("contributorname", d.get("organization")))
        return cls(
            name=as_str(name),
            given_name=as_str(d.get("givenname")),
            family_name=as_str(d.get("familyname")),
            middle_name=as_str(d.get("middlename")),
            order=as_int(d.get("order")),
            role=as_str(d.get("role")),
            user_primary_id=as_str(d.get("user.primaryId")),
            alma_user_id=as_str(d.get("almaUserId")),
            orcid=as_str(d.get("identifier.orcid")),
            is_display_in_public_profile=as_bool(d.get("isDisplayInPublicProfile")),
            affiliations=tuple(affiliations),
            additional_identifiers=_additional_identifiers(d.get("additionalIdentifiers")),
            raw=json_copy(dict(d)),
        )


@attrs.frozen
class AssetFile:
    """One entry of ``files`` (read-only view; keys are ``file.*``)."""

    name: str | None
    """``file.name``."""
    display_name: str | None
    """``file.displayName``."""
    description: str | None
    """``file.description``."""
    mime_type: str | None
    """``file.mimeType``."""
    size: int | None
    """``file.size`` in bytes (``"296"`` -> 296)."""
    type: CodeValue | None
    """``fileTypeWithDesc``, or ``file.type`` when that is null."""
    license: CodeValue | None
    """``fileLicenseCodeWithDesc``, or ``file.license.code``."""
    rights: str | None
    """``file.rights`` (e.g. ``Open``, ``Embargo,09/11/2026``)."""
    embargo_expiry_date: str | None
    """``file.embargo_expiry_date`` (raw, often ``YYYYMMDD`` or empty)."""
    order: int | None
    """``file.order``."""
    supplemental: bool | None
    """``file.supplemental`` (``"yes"``/``"no"``)."""
    download_url: str | None
    """``fileDownloadUrl``."""
    persistent_url: str | None
    """``file.persistent.url``."""
    creation_date: str | None
    """``file.creationDate`` (raw, ``YYYY-MM-DD HH:MM:SS``)."""
    raw: Mapping[str, Any] = attrs.field(hash=False, eq=False, repr=False)
    """The item's JSON object (a copy)."""

    @classmethod
    def from_json(cls, data: Any) -> AssetFile:
        """Build from one ``files`` item (non-objects give an all-``None`` file)."""
        d = _obj(data)
        return cls(
            name=as_str(d.get("file.name")),
            display_name=as_str(d.get("file.displayName")),
            description=as_str(d.get("file.description")),
            mime_type=as_str(d.get("file.mimeType")),
            size=as_int(d.get("file.size")),
            type=_code_or(d, "fileTypeWithDesc", "file.type"),
            license=_code_or(d, "fileLicenseCodeWithDesc", "file.license.code"),
            rights=as_str(d.get("file.rights")),
            embargo_expiry_date=as_str(d.get("file.embargo_expiry_date")),
            order=as_int(d.get("file.order")),
            supplemental=as_bool(d.get("file.supplemental")),
            download_url=as_str(d.get("fileDownloadUrl")),
            persistent_url=as_str(d.get("file.persistent.url")),
            creation_date=as_str(d.get("file.creationDate")),
            raw=json_copy(dict(d)),
        )


@attrs.frozen
class AssetLink:
    """One entry of ``links`` (read-only view; keys are ``link.*``)."""

    url: str | None
    """``link.url``."""
    type: CodeValue | None
    """``linkTypeWithDesc``, or ``link.type``."""
    title: str | None
    """``link.title``."""
    description: str | None
    """``link.description``."""
    rights: str | None
    """``link.rights``."""
    license: CodeValue | None
    """``linkLicenseCodeWithDesc``, or ``link.license``."""
    ownership: CodeValue | None
    """``linkOwnershipWithDesc``, or ``link.ownership``."""
    order: int | None
    """``link.order``."""
    supplemental: bool | None
    """``link.supplemental``."""
    display_in_viewer: bool | None
    """``link.display_in_viewer``."""
    raw: Mapping[str, Any] = attrs.field(hash=False, eq=False, repr=False)
    """The item's JSON object (a copy)."""

    @classmethod
    def from_json(cls, data: Any) -> AssetLink:
        """Build from one ``links`` item (non-objects give an all-``None`` link)."""
        d = _obj(data)
        return cls(
            url=as_str(d.get("link.url")),
            type=_code_or(d, "linkTypeWithDesc", "link.type"),
            title=as_str(d.get("link.title")),
            description=as_str(d.get("link.description")),
            rights=as_str(d.get("link.rights")),
            license=_code_or(d, "linkLicenseCodeWithDesc", "link.license"),
            ownership=_code_or(d, "linkOwnershipWithDesc", "link.ownership"),
            order=as_int(d.get("link.order")),
            supplemental=as_bool(d.get("link.supplemental")),
            display_in_viewer=as_bool(d.get("link.display_in_viewer")),
            raw=json_copy(dict(d)),
        )


@attrs.define(eq=False, repr=False)
class Asset(Record):
    """A research output (``GET /esploro/v1/assets/{id}`` record), lossless.

    Works on both the JSON form and the JSON-like form produced by :meth:`from_xml`
    (where lists arrive wrapped, e.g. ``{"creators": {"creator": [...]}}``, and single values
    are not lists); the typed getters accept both shapes.

    Source of every typed accessor: the real sandbox answers in ``tests/fixtures/real``
    (``asset-get-single.json``, ``assets-get-by-ids.json``, ``asset-record.xml``, from the
    Esploro files-loader Cloud App's ``documentation/example-api-response``), the fields parsed
    by AdelphiLibraries ``esploroFunctions.gs`` (``originalRepository.assetId``, ``creators[]``,
    ``links[]``, ``files[]``, ``local.fields``, ``depositStatusWithDesc``), and the patch
    fields of Ex Libris' "Update Asset by API" article (``date.published``, ``identifier.*``,
    ``links[]``, ``temporary.linksToExtract``).
    """

    _ID_PATHS = (("originalRepository", "assetId"),)

    # -- XML ----------------------------------------------------------------------------------

    @classmethod
    def from_xml(cls, text: str | bytes, *, view: View | None = None) -> Asset:
        """Parse the first ``<record>`` of an ``<ns3:records>`` document (or a bare record).

        Parsing uses defusedxml. Raises ``ValueError`` when there is no record.
        """
        assets = assets_from_xml(text, view=view)
        if not assets:
            raise ValueError("the XML document holds no <record>")
        return assets[0]

    def to_xml_element(self) -> ET.Element:
        """The ``<record>`` element for this asset (generic convention, see ``_xml``)."""
        return json_to_element("record", self._data)

    def to_xml(self) -> str:
        """This asset as a complete ``<ns3:records total_record_count="1">`` document.

        Exact for assets read with :meth:`from_xml`. For an asset read from JSON, lists are
        written as repeated elements (``<creators>`` per creator, no ``<creator>`` wrapper),
        which is not Esploro's XML layout: send JSON-sourced data as JSON.
        """
        return records_envelope([self.to_xml_element()])

    # -- typed properties ---------------------------------------------------------------------

    asset_id = text("originalRepository", "assetId")
    """``originalRepository.assetId`` (assets have no top-level id); read-only."""

    @property
    def title(self) -> str | None:
        """``title``."""
        return self._str("title")

    @title.setter
    def title(self, value: str | None) -> None:
        self._set(("title",), value)

    @property
    def doi(self) -> str | None:
        """``identifier.doi``. Note: the API accepts ``identifier.*`` patches in XML only."""
        return self._str("identifier.doi")

    @doi.setter
    def doi(self, value: str | None) -> None:
        self._set(("identifier.doi",), value)

    @property
    def identifiers(self) -> dict[str, str | list[str]]:
        """All top-level ``identifier.*`` keys, keyed by the part after ``identifier.``.

        Values are strings, or lists of strings for list values; nulls and objects are
        skipped.
        """
        out: dict[str, str | list[str]] = {}
        for key, value in self._data.items():
            if not key.startswith("identifier."):
                continue
            if isinstance(value, list):
                out[key[len("identifier.") :]] = [
                    s for s in (as_str(v) for v in value) if s is not None
                ]
                continue
            text = as_str(value)
            if text is not None:
                out[key[len("identifier.") :]] = text
        return out

    @property
    def creators(self) -> list[Creator]:
        """``creators`` (JSON list, or XML ``<creators><creator>``), in stored order."""
        return [Creator.from_json(c) for c in unwrap_list(self._value("creators"), "creator")]

    @property
    def contributors(self) -> list[Creator]:
        """``contributors`` (name from ``contributorname`` or ``organization``)."""
        value = self._value("contributors")
        return [Creator.from_json(c) for c in unwrap_list(value, "contributor")]

    @property
    def resource_type(self) -> CodeValue | None:
        """``resourceTypeEsploroWithDesc``, falling back to ``resourcetype.esploro``.

        Setting writes ``resourcetype.esploro`` (the writable code) and, only if the record
        already has it, ``resourceTypeEsploroWithDesc``.
        """
        return _code_or(self._data, "resourceTypeEsploroWithDesc", "resourcetype.esploro")

    @resource_type.setter
    def resource_type(self, value: CodeValueLike) -> None:
        code = CodeValue.coerce(value)
        self._set(("resourcetype.esploro",), None if code is None else code.value)
        if "resourceTypeEsploroWithDesc" in self._data:
            self._set_code(("resourceTypeEsploroWithDesc",), code)

    @property
    def date_published(self) -> str | None:
        """``date.published`` raw (``YYYYMMDD``, ``YYYYMM`` or ``YYYY``).

        Accepts a string, a :class:`PartialDate` or a :class:`datetime.date` (written as
        ``YYYYMMDD``).
        """
        return self._str("date.published")

    @date_published.setter
    def date_published(self, value: str | PartialDate | datetime.date | None) -> None:
        if isinstance(value, datetime.date):
            value = PartialDate.from_date(value)
        self._set(("date.published",), None if value is None else str(value))

    @property
    def date_published_parsed(self) -> PartialDate | None:
        """``date.published`` parsed; ``None`` when absent or unparsable."""
        return PartialDate.parse(self._value("date.published"))

    @property
    def publisher(self) -> str | None:
        """``publisher``."""
        return self._str("publisher")

    @publisher.setter
    def publisher(self, value: str | None) -> None:
        self._set(("publisher",), value)

    @property
    def keywords(self) -> list[str]:
        """All keyword strings, every language, duplicates removed (first occurrence kept).

        JSON shape: ``[{"language": "und", "values": [...]}]``; plain strings and
        ``{"value": ...}`` items are accepted too.
        """
        out: list[str] = []
        for item in unwrap_list(self._value("keywords"), "keyword"):
            values = (
                as_list(item.get("values", item.get("value")))
                if isinstance(item, Mapping)
                else [item]
            )
            for value in values:
                text = as_str(value)
                if text is not None and text not in out:
                    out.append(text)
        return out

    @property
    def language(self) -> list[str]:
        """``language`` codes (a list in JSON, a single string in XML); set writes a list."""
        return self._strs("language")

    @language.setter
    def language(self, value: str | Iterable[str] | None) -> None:
        if isinstance(value, str):
            value = [value]
        self._set(("language",), None if value is None else list(value))

    @property
    def files(self) -> list[AssetFile]:
        """``files``, read-only views."""
        return [AssetFile.from_json(f) for f in unwrap_list(self._value("files"), "file")]

    @property
    def links(self) -> list[AssetLink]:
        """``links``, read-only views."""
        return [AssetLink.from_json(x) for x in unwrap_list(self._value("links"), "link")]

    @property
    def deposit_status(self) -> CodeValue | None:
        """``depositStatusWithDesc``, falling back to ``asset.deposit.status`` (XML)."""
        return _code_or(self._data, "depositStatusWithDesc", "asset.deposit.status")

    open_access = flag("openaccess")
    """``openaccess`` (``"yes"``/``"no"``; ``"unknown"`` gives ``None``)."""

    peer_reviewed = flag("peerreview")
    """``peerreview`` (``"yes"``/``"no"``)."""

    portal_visibility = flag("portal_visibility")
    """``portal_visibility`` (``"true"``/``"false"``)."""

    @property
    def abstracts(self) -> list[str]:
        """``description.abstract`` texts (``[{"language", "value"}]`` or plain strings)."""
        out: list[str] = []
        for item in as_list(self._value("description.abstract")):
            text = as_str(item.get("value")) if isinstance(item, Mapping) else as_str(item)
            if text:
                out.append(text)
        return out

    @property
    def local_fields(self) -> dict[str, str]:
        """``local.fields`` as ``{"local.note1": ...}`` (string values only)."""
        value = self._value("local.fields")
        if not isinstance(value, Mapping):
            return {}
        return {k: s for k, v in value.items() if (s := as_str(v)) is not None}


def assets_from_xml(text: str | bytes, *, view: View | None = None) -> list[Asset]:
    """Parse every ``<record>`` of an ``<ns3:records>`` document (or one bare ``<record>``).

    Uses defusedxml. Each record's content is converted with the generic, invertible
    convention of ``esploro_async.models._xml`` so that :meth:`Asset.to_xml` gives an
    equivalent document back.
    """
    root = parse_xml(text)
    if local_name(root.tag) == "record":
        elements = [root]
    else:
        elements = [child for child in root if local_name(child.tag) == "record"]
    out: list[Asset] = []
    for elem in elements:
        value = element_to_json(elem)
        out.append(Asset(data=value if isinstance(value, dict) else {}, view=view))
    return out


def assets_to_xml(assets: Iterable[Asset]) -> str:
    """Serialise assets into one ``<ns3:records total_record_count="N">`` document."""
    return records_envelope(a.to_xml_element() for a in assets)


def build_asset_patch_xml(fields: Mapping[str, Any]) -> str:
    """Build the XML body for ``POST /esploro/v1/assets/{id}?op=patch&action=...``.

    ``build_asset_patch_xml({"identifier.doi": "10.20/30456"})`` gives:

    ```text
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <ns3:records total_record_count="1" xmlns:ns2="http://esploro_record"
        xmlns:ns3="http://rest_esploro"><record><identifier.doi>10.20/30456</identifier.doi>
        </record></ns3:records>
    ```

    Keys are element names (dots allowed); lists become repeated elements, objects nested
    elements, ``None`` an empty element. Raises ``ValueError`` for invalid element names.
    """
    return records_envelope([json_to_element("record", dict(fields))])

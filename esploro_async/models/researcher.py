"""``Researcher``: an Esploro researcher (an Alma user with a ``researcher`` sub-object)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from esploro_async.models._base import Record
from esploro_async.models._codes import CodeValue, CodeValueLike
from esploro_async.models._fields import text
from esploro_async.models._json import as_bool, as_list, as_str, json_copy
from esploro_async.models._orcid import check_orcid

__all__ = ["Researcher", "ResearcherAffiliation"]

ORCID_TYPE = "ORCID"
"""``id_type.value`` that marks the ORCID entry of ``user_identifier`` (compared upper-case)."""


@attrs.frozen
class ResearcherAffiliation:
    """One ``researcher.researcher_organization_affiliation`` item (read-only view)."""

    organization_code: str | None
    """``organization_code``."""
    organization_name: str | None
    """``organization_name`` (present in some responses)."""
    position: CodeValue | None
    """``position`` code (``OrganizationPositions`` code table)."""
    title: str | None
    """``title``."""
    start_date: str | None
    """``start_date`` (raw string)."""
    end_date: str | None
    """``end_date`` (raw string)."""
    raw: Mapping[str, Any] = attrs.field(hash=False, eq=False, repr=False)
    """The item's JSON object (a copy)."""

    @classmethod
    def from_json(cls, data: Any) -> ResearcherAffiliation:
        """Build from one affiliation object; a bare string is taken as the org code."""
        if isinstance(data, str):
            data = {"organization_code": data}
        d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        return cls(
            organization_code=as_str(d.get("organization_code")),
            organization_name=as_str(d.get("organization_name")),
            position=CodeValue.from_json(d.get("position")),
            title=as_str(d.get("title")),
            start_date=as_str(d.get("start_date")),
            end_date=as_str(d.get("end_date")),
            raw=json_copy(dict(d)),
        )


def _id_type(entry: Any) -> str | None:
    """``id_type.value`` of a ``user_identifier`` entry (a bare string id_type is accepted)."""
    if not isinstance(entry, Mapping):
        return None
    id_type = entry.get("id_type")
    if isinstance(id_type, Mapping):
        return as_str(id_type.get("value"))
    return as_str(id_type)


def _is_orcid(entry: Any) -> bool:
    id_type = _id_type(entry)
    return id_type is not None and id_type.strip().upper() == ORCID_TYPE


@attrs.define(eq=False, repr=False)
class Researcher(Record):
    """A researcher: a brief ``GET /researchers`` list item or a full ``view=full`` record.

    Brief items carry ``primary_id``, ``first_name``, ``last_name``, ``status``,
    ``is_researcher`` and ``link``. Full records are Alma-user-like and add a ``researcher``
    object (``researcher_first_name``, ``user_identifier`` ...). Check :attr:`view` before a
    PUT: a brief record written back would wipe every field it lacks.

    Which name is which (a real record, ``tests/fixtures/public/researcher-full.json``, has
    user ``last_name`` "Shomzy" and ``researcher_last_name`` "Shamsolnizam"):

    * ``first_name``/``middle_name``/``last_name``/``full_name`` at the top level are the
      Alma **user's** name, the official one (HR/SIS); read them as :attr:`user_first_name`,
      :attr:`user_middle_name`, :attr:`user_last_name`, :attr:`user_full_name`;
    * ``researcher.researcher_first_name`` ... are the **researcher's** name, the form
      Esploro shows and publishes; read them as :attr:`researcher_first_name` ...;
    * :attr:`first_name`, :attr:`last_name` and :attr:`full_name` give the researcher's
      name when the record has one, else the user's.

    Sources of the typed accessors:

    * ``primary_id``, ``first_name``, ``last_name``, ``status``, ``is_researcher``, ``link``:
      the list items parsed by AdelphiLibraries/exlibris_api_tools ``esploro_api.py``
      (working code against the production gateway);
    * ``emails``/``preferred_email``: ``contact_info.email[].email_address``, read by the same
      code for ``view=full``;
    * ``identifiers``/``orcid``: ``user_identifier[]`` with ``id_type.value == "ORCID"``, at the
      top level and under ``researcher``, read and written by the University of Miami
      ORCID–Esploro integration (``src/app/apis.py``);
    * ``researcher_title``, ``affiliations`` (``researcher_organization_affiliation[]``) and
      ``keywords`` (``researcher_keyword[]``), and the ``researcher_first_name`` /
      ``researcher_last_name`` fallbacks: the Esploro Cloud App researcher model used for PUT
      (``cloudapp/src/app/models/researcher.ts``) and Ex Libris' ``rest_researcher.xsd``.
    """

    _ID_PATHS = (("primary_id",),)

    def _researcher(self) -> Mapping[str, Any]:
        sub = self._data.get("researcher")
        return sub if isinstance(sub, Mapping) else {}

    def _has_researcher(self) -> bool:
        return isinstance(self._data.get("researcher"), dict)

    @property
    def primary_id(self) -> str:
        """``primary_id``: every stored researcher has one, so it is typed ``str``.

        A record built without one (a new researcher not yet set up) gives ``""``, like
        any getter it never raises; :attr:`has_primary_id` tells the two apart.
        """
        return self._str("primary_id") or ""

    @primary_id.setter
    def primary_id(self, value: str | None) -> None:
        self._set(("primary_id",), value)

    @property
    def has_primary_id(self) -> bool:
        """Whether the record has a ``primary_id`` (a new record may not yet)."""
        return self._str("primary_id") is not None

    @property
    def user_first_name(self) -> str | None:
        """``first_name``: the Alma user's (official) first name."""
        return self._str("first_name")

    @property
    def user_middle_name(self) -> str | None:
        """``middle_name``: the Alma user's (official) middle name."""
        return self._str("middle_name")

    @property
    def user_last_name(self) -> str | None:
        """``last_name``: the Alma user's (official) last name."""
        return self._str("last_name")

    @property
    def user_full_name(self) -> str | None:
        """``full_name``: the Alma user's full name as Alma composes it (read-only there)."""
        return self._str("full_name")

    @property
    def researcher_first_name(self) -> str | None:
        """``researcher.researcher_first_name``: the name Esploro shows and publishes."""
        return as_str(self._researcher().get("researcher_first_name")) or None

    @property
    def researcher_middle_name(self) -> str | None:
        """``researcher.researcher_middle_name``."""
        return as_str(self._researcher().get("researcher_middle_name")) or None

    @property
    def researcher_last_name(self) -> str | None:
        """``researcher.researcher_last_name``: the name Esploro shows and publishes."""
        return as_str(self._researcher().get("researcher_last_name")) or None

    @property
    def full_name(self) -> str | None:
        """The researcher's name as one string: ``researcher_first/middle/last_name`` when the
        record has them, else the user's ``full_name``, else ``first/middle/last_name``."""
        parts = [
            self.researcher_first_name,
            self.researcher_middle_name,
            self.researcher_last_name,
        ]
        if not any(parts):
            if self.user_full_name:
                return self.user_full_name
            parts = [self.user_first_name, self.user_middle_name, self.user_last_name]
        joined = " ".join(p.strip() for p in parts if p and p.strip())
        return joined or None

    def _name(self, field: str) -> str | None:
        preferred = as_str(self._researcher().get(f"researcher_{field}"))
        return preferred if preferred else self._str(field)

    def _set_name(self, field: str, value: str | None) -> None:
        if self._has_researcher():
            self._set(("researcher", f"researcher_{field}"), value)
        else:
            self._set((field,), value)

    @property
    def first_name(self) -> str | None:
        """First name: ``researcher.researcher_first_name`` when non-empty, else ``first_name``.

        Setting writes ``researcher.researcher_first_name`` when the record has a
        ``researcher`` object, else the top-level ``first_name``.
        """
        return self._name("first_name")

    @first_name.setter
    def first_name(self, value: str | None) -> None:
        self._set_name("first_name", value)

    @property
    def last_name(self) -> str | None:
        """Last name: ``researcher.researcher_last_name`` when non-empty, else ``last_name``.

        Setting follows the same rule as :attr:`first_name`.
        """
        return self._name("last_name")

    @last_name.setter
    def last_name(self, value: str | None) -> None:
        self._set_name("last_name", value)

    @property
    def researcher_title(self) -> CodeValue | None:
        """``researcher.researcher_title`` (``UserTitles`` code)."""
        return CodeValue.from_json(self._researcher().get("researcher_title"))

    @researcher_title.setter
    def researcher_title(self, value: CodeValueLike) -> None:
        self._set_code(("researcher", "researcher_title"), value)

    @property
    def status(self) -> CodeValue | None:
        """``status`` (e.g. ``{"value": "ACTIVE", "desc": "Active"}``)."""
        return self._code("status")

    @status.setter
    def status(self, value: CodeValueLike) -> None:
        self._set_code(("status",), value)

    @property
    def is_researcher(self) -> bool | None:
        """``is_researcher`` (``true``, ``"true"``, ``"yes"`` ... accepted).

        Setting keeps the stored shape (a string stays a string); a new key is a JSON bool.
        """
        return self._bool("is_researcher")

    @is_researcher.setter
    def is_researcher(self, value: bool | None) -> None:
        self._set_bool_like_existing(("is_researcher",), value)

    link = text("link")
    """``link``: the record's API URL (brief items)."""

    def _identifier_lists(self) -> list[tuple[tuple[str, ...], Any]]:
        out: list[tuple[tuple[str, ...], Any]] = [
            (("user_identifier",), self._data.get("user_identifier"))
        ]
        if self._has_researcher():
            out.append(
                (("researcher", "user_identifier"), self._researcher().get("user_identifier"))
            )
        return out

    @property
    def identifiers(self) -> list[tuple[str | None, str | None]]:
        """``(id_type, value)`` of every ``user_identifier``, top level then ``researcher``."""
        out: list[tuple[str | None, str | None]] = []
        for _path, value in self._identifier_lists():
            for entry in as_list(value):
                if isinstance(entry, Mapping):
                    out.append((_id_type(entry), as_str(entry.get("value"))))
        return out

    @property
    def orcid(self) -> str | None:
        """The ORCID: first ``user_identifier`` with ``id_type.value == "ORCID"``.

        The top-level list is searched first, then ``researcher.user_identifier``. Setting
        edits the ``value`` of that entry in place (other keys kept); without one, appends
        ``{"value": ..., "id_type": {"value": "ORCID"}}`` to the top-level list (a single
        object or a null there becomes a list). Setting ``None`` removes every ORCID entry.
        A value set is checked and stored bare (``https://orcid.org/0000-...`` becomes
        ``0000-...``); a wrong check digit raises `InvalidIdentifierError`, as ``apply`` and
        ``add_orcid_token`` do.
        """
        for _path, value in self._identifier_lists():
            for entry in as_list(value):
                if _is_orcid(entry):
                    return as_str(entry.get("value"))
        return None

    @orcid.setter
    def orcid(self, value: str | None) -> None:
        if value is None:
            self._remove_orcids()
            return
        value = check_orcid(value)
        for _path, current in self._identifier_lists():
            if isinstance(current, dict) and _is_orcid(current):
                current["value"] = value
                return
            if isinstance(current, list):
                for entry in current:
                    if _is_orcid(entry):
                        entry["value"] = value
                        return
        current = self._data.get("user_identifier")
        new_entry = {"value": value, "id_type": {"value": ORCID_TYPE}}
        if isinstance(current, list):
            current.append(new_entry)
        else:
            self._set(("user_identifier",), [*as_list(current), new_entry])

    def _remove_orcids(self) -> None:
        for path, current in self._identifier_lists():
            if isinstance(current, dict) and _is_orcid(current):
                self._set(path, [])
            elif isinstance(current, list) and any(_is_orcid(e) for e in current):
                current[:] = [e for e in current if not _is_orcid(e)]

    @property
    def affiliations(self) -> list[ResearcherAffiliation]:
        """``researcher.researcher_organization_affiliation`` (read-only views)."""
        value = self._researcher().get("researcher_organization_affiliation")
        return [ResearcherAffiliation.from_json(a) for a in as_list(value)]

    @property
    def emails(self) -> list[str]:
        """``contact_info.email[].email_address``, in stored order (preferred not sorted)."""
        contact = self._data.get("contact_info")
        emails = contact.get("email") if isinstance(contact, Mapping) else None
        out: list[str] = []
        for entry in as_list(emails):
            text = as_str(entry.get("email_address")) if isinstance(entry, Mapping) else None
            if text:
                out.append(text)
        return out

    @property
    def preferred_email(self) -> str | None:
        """The email flagged ``preferred``, else the first one, else ``None``."""
        contact = self._data.get("contact_info")
        emails = contact.get("email") if isinstance(contact, Mapping) else None
        for entry in as_list(emails):
            if isinstance(entry, Mapping) and as_bool(entry.get("preferred")):
                found = as_str(entry.get("email_address"))
                if found:
                    return found
        all_emails = self.emails
        return all_emails[0] if all_emails else None

    @property
    def keywords(self) -> list[str]:
        """``researcher.researcher_keyword`` values (``{"value": ...}`` items or strings)."""
        out: list[str] = []
        for item in as_list(self._researcher().get("researcher_keyword")):
            text = as_str(item.get("value")) if isinstance(item, Mapping) else as_str(item)
            if text:
                out.append(text)
        return out

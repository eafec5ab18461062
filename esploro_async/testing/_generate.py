"""Deterministic synthetic records: record ``n`` is a pure function of ``(seed, n)``.

Shapes follow the real payloads (``fixtures/real``): dotted keys, numbers as strings
(with the few real ints kept as ints), ``null`` and ``{}`` values, ``{value, desc}``
codes and non-ASCII names.
"""

from __future__ import annotations

import datetime as _dt
import random
import re
from typing import Any

from esploro_async.testing._vocabulary import (
    CJK,
    DEPTS,
    FAMILY,
    GIVEN,
    LANGS,
    LICENSES,
    MIDDLE,
    OA_STATUS,
    POSITIONS,
    PUBLISHERS,
    SUBJECTS,
    TITLES,
    TYPES,
    WORDS,
)

INST = "SIM_INST"
INST_SUFFIX = "04321"
PORTAL = "https://sim-university.esploro.exlibrisgroup.com"

_ASSET_ID_RE = re.compile(r"^99(\d{8})" + INST_SUFFIX + "$")
_RESEARCHER_ID_RE = re.compile(r"^R(\d{8})$")
_DOI_RE = re.compile(r"^10\.55555/sim\.(\d+)$")

DAY0 = _dt.date(2015, 1, 1).toordinal()


def _rng(seed: int, kind: str, n: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{n}")


# --- ids -------------------------------------------------------------------------------


def researcher_id(n: int) -> str:
    """The primary id of synthetic researcher ``n``."""
    return f"R{n:08d}"


def parse_researcher_id(primary_id: str) -> int | None:
    """The index encoded in a synthetic researcher id, or ``None``."""
    m = _RESEARCHER_ID_RE.match(primary_id)
    return int(m.group(1)) if m else None


def asset_id(n: int) -> str:
    """The asset id (``originalRepository.assetId``) of synthetic asset ``n``."""
    return f"99{n:08d}{INST_SUFFIX}"


def parse_asset_id(aid: str) -> int | None:
    """The index encoded in a synthetic asset id, or ``None``."""
    m = _ASSET_ID_RE.match(aid)
    return int(m.group(1)) if m else None


def asset_doi(n: int) -> str:
    """The DOI of synthetic asset ``n``."""
    return f"10.55555/sim.{n}"


def parse_asset_doi(doi: str) -> int | None:
    """The index encoded in a synthetic DOI, or ``None``."""
    m = _DOI_RE.match(doi.strip().lower())
    return int(m.group(1)) if m else None


def alma_user_id(n: int) -> str:
    """The internal Alma user id of synthetic researcher ``n``."""
    return f"95{n:09d}0{INST_SUFFIX[1:]}"


def asset_update_ordinal(seed: int, n: int) -> int:
    """Proleptic ordinal of the (hidden) last-update date of synthetic asset ``n``."""
    return DAY0 + (n * 7919 + seed * 104729) % 3900


# --- people ----------------------------------------------------------------------------


def person_name(seed: int, n: int) -> tuple[str, str, str]:
    """``(first, middle, last)`` of synthetic researcher ``n``."""
    r = _rng(seed, "name", n)
    if r.random() < 0.12:
        given, family = r.choice(CJK)
        return given, "", family
    return r.choice(GIVEN), r.choice(MIDDLE), r.choice(FAMILY)


def display_name(first: str, middle: str, last: str) -> str:
    """How a name is displayed (CJK names family-first without spaces)."""
    if first and ord(first[0]) > 0x2E80:
        return f"{last}{first}"
    return " ".join(p for p in (first, middle, last) if p)


def orcid(seed: int, n: int) -> str:
    """A checksum-valid ORCID iD for synthetic researcher ``n``."""
    r = _rng(seed, "orcid", n)
    digits = "000" + str(r.randint(1, 3)) + "".join(str(r.randint(0, 9)) for _ in range(11))
    total = 0
    for ch in digits:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    s = digits + ("X" if check == 10 else str(check))
    return "-".join(s[i : i + 4] for i in range(0, 16, 4))


def organizations(seed: int) -> list[dict[str, Any]]:
    """The internal research organizations of the synthetic institution."""
    out: list[dict[str, Any]] = [
        {
            "organization_code": f"{INST}___ROOT",
            "organization_name": "Sim University",
            "organization_type": {"value": "institution", "desc": "Institution"},
            "parent_organization": None,
            "status": {"value": "ACTIVE", "desc": "Active"},
            "start_date": "1901-01-01Z",
            "end_date": None,
            "organization_name_variant": [],
        }
    ]
    for i, name in enumerate(DEPTS):
        out.append(
            {
                "organization_code": f"{INST}___D{i + 1:02d}",
                "organization_name": name,
                "organization_type": {"value": "department", "desc": "Department"},
                "parent_organization": {"value": f"{INST}___ROOT", "desc": "Sim University"},
                "status": {"value": "ACTIVE", "desc": "Active"},
                "start_date": f"{1950 + (i * 7 + seed) % 60}-01-01Z",
                "end_date": None,
                "organization_name_variant": [{"value": name.upper(), "lang": "und"}]
                if i % 3 == 0
                else [],
            }
        )
    return out


def researcher(seed: int, n: int) -> dict[str, Any]:
    """The full (``view=full``) record of synthetic researcher ``n``."""
    r = _rng(seed, "researcher", n)
    first, middle, last = person_name(seed, n)
    pid = researcher_id(n)
    title = r.choice(TITLES)
    pos = r.choice(POSITIONS)
    dept_i = r.randrange(len(DEPTS))
    email = f"{pid.lower()}@sim-university.example"
    ident: list[dict[str, Any]] = [
        {
            "id_type": {"value": "ORCID", "desc": "ORCID"},
            "value": orcid(seed, n),
            "note": None,
            "status": "ACTIVE",
            "segment_type": "External",
        }
    ]
    if r.random() < 0.5:
        ident.append(
            {
                "id_type": {"value": "UNIV_ID", "desc": "University ID"},
                "value": str(14000000 + n),
                "note": None,
                "status": "ACTIVE",
                "segment_type": "External",
            }
        )
    from_year = 1990 + r.randrange(25)
    active = r.random() < 0.93
    return {
        "record_type": {"value": "PUBLIC", "desc": "Public"},
        "primary_id": pid,
        "first_name": first,
        "middle_name": middle,
        "last_name": last,
        "full_name": display_name(first, middle, last),
        "pin_number": None,
        "user_title": {"value": title[0], "desc": title[1]},
        "job_category": {"value": "", "desc": ""},
        "job_description": None,
        "gender": {"value": "", "desc": ""},
        "user_group": {"value": "01", "desc": "Faculty"},
        "campus_code": {"value": "MAIN", "desc": "Main Campus"},
        "web_site_url": "",
        "cataloger_level": {"value": "00", "desc": "[00] Default Level"},
        "preferred_language": {"value": "en", "desc": "English"},
        "expiry_date": f"{2027 + r.randrange(5)}-12-31Z",
        "purge_date": None,
        "account_type": {"value": "EXTERNAL", "desc": "External"},
        "external_id": "SIS",
        "password": None,
        "force_password_change": None,
        "status": {"value": "ACTIVE", "desc": "Active"}
        if active
        else {"value": "INACTIVE", "desc": "Inactive"},
        "status_date": f"20{15 + r.randrange(10)}-0{1 + r.randrange(9)}-1{r.randrange(10)}Z",
        "requests": None,
        "loans": None,
        "fees": None,
        "is_researcher": True,
        "contact_info": {
            "address": [],
            "email": [
                {
                    "email_address": email,
                    "description": None,
                    "preferred": True,
                    "segment_type": "External",
                    "email_type": [{"value": "work", "desc": "Work"}],
                }
            ],
            "phone": [
                {
                    "phone_number": f"+1 555 {r.randrange(10000):04d}",
                    "preferred": True,
                    "preferred_sms": False,
                    "segment_type": "External",
                    "phone_type": [{"value": "office", "desc": "Office"}],
                }
            ]
            if r.random() < 0.6
            else [],
        },
        "pref_first_name": "",
        "pref_middle_name": "",
        "pref_last_name": "",
        "user_identifier": ident,
        "user_role": [
            {
                "status": {"value": "ACTIVE", "desc": "Active"},
                "scope": {"value": INST, "desc": "Sim University"},
                "role_type": {"value": "1500", "desc": "Researcher"},
                "parameter": [],
            }
        ],
        "user_block": [],
        "user_note": [],
        "user_statistic": [],
        "proxy_for_user": [],
        "researcher": {
            "researcher_first_name": first,
            "researcher_middle_name": middle,
            "researcher_last_name": last,
            "researcher_name_suffix": None,
            "researcher_title": {"value": title[0], "desc": title[1]},
            "position": {"value": pos[0], "desc": pos[1]},
            "display_title": f"{pos[1]}, {DEPTS[dept_i]}",
            "portal_profile": {"value": "true", "desc": "Yes"},
            "auto_capture": r.random() < 0.5,
            "research_center": False,
            "default_publication_language": {"value": "en", "desc": "English"},
            "researcher_keyword": [{"value": w} for w in r.sample(WORDS, 2)],
            "researcher_research_topic": [{"value": str(1004000 + r.randrange(100))}],
            "researcher_organization_affiliation": [
                {
                    "organization_code": f"{INST}___D{dept_i + 1:02d}",
                    "organization_name": DEPTS[dept_i],
                    "start_date": f"{from_year + 8}-09-01Z",
                    "end_date": None,
                    "position": {"value": pos[0], "desc": pos[1]},
                    "title": "",
                    "order": "1",
                }
            ],
            "researcher_external_organization_affiliation": [],
            "researcher_education": [
                {
                    "organization_code": "",
                    "organization_name": "Universität Innsbruck",
                    "degree": "Masters",
                    "from_year": str(from_year),
                    "to_year": str(from_year + 2),
                    "additional_details": None,
                }
            ],
            "researcher_name_variant": [],
            "researcher_webpage": [],
            "researcher_alternate_email": [],
            "user_identifier": [dict(ident[0])],
        },
    }


def researcher_brief(record: dict[str, Any], link: str) -> dict[str, Any]:
    """The brief list-view subset of a researcher record (only fields it really has)."""
    out: dict[str, Any] = {}
    for key in (
        "primary_id",
        "first_name",
        "last_name",
        "full_name",
        "status",
        "record_type",
        "user_group",
        "is_researcher",
    ):
        if key in record:
            out[key] = record[key]
    out["link"] = link
    return out


def _creator(r: random.Random, seed: int, n_researchers: int, k: int) -> dict[str, Any]:
    """Creator ``k`` of an asset: one of the researchers (six times in ten), or a stranger."""
    c: dict[str, Any] = {"order": str(k + 1), "isDisplayInPublicProfile": r.random() < 0.5}
    if n_researchers and r.random() < 0.6:
        rn = r.randrange(n_researchers)
        first, middle, last = person_name(seed, rn)
        dept = DEPTS[_rng(seed, "researcher", rn).randrange(len(DEPTS))]
        c["affiliationWithDesc"] = [
            {"value": f"{INST}___{dept[:10].upper()}", "desc": dept, "order": "1"}
        ]
        c["almaUserId"] = alma_user_id(rn)
        c.update(creatorname=display_name(first, middle, last), familyname=last, givenname=first)
        if middle:
            c["middlename"] = middle
        c["user.primaryId"] = researcher_id(rn)
        if r.random() < 0.5:
            c["identifier.orcid"] = orcid(seed, rn)
    else:
        first, family = r.choice(GIVEN), r.choice(FAMILY)
        c.update(creatorname=f"{first} {family}", familyname=family, givenname=first)
    return c


def _publication_dates(r: random.Random) -> tuple[str, str]:
    """``date.published`` (``YYYYMMDD``, ``YYYYMM`` or ``YYYY``) and the date as shown."""
    year = 1995 + r.randrange(31)
    month, day = 1 + r.randrange(12), 1 + r.randrange(28)
    date_form = r.randrange(3)
    published = (
        f"{year}{month:02d}{day:02d}"
        if date_form == 0
        else f"{year}{month:02d}"
        if date_form == 1
        else str(year)
    )
    shown = (
        f"{day:02d}/{month:02d}/{year}"
        if date_form == 0
        else f"{month:02d}/{year}"
        if date_form == 1
        else str(year)
    )
    return published, shown


def _files(r: random.Random, n: int, aid: str, slug: str, name: str) -> list[dict[str, Any]]:
    """The one file of an asset that has one."""
    ext = r.choice(["pdf", "txt", "html"])
    return [
        {
            "fileTypeWithDesc": None,
            "fileLicenseCodeWithDesc": None,
            "fileDownloadUrl": f"{PORTAL}/view/delivery/{INST}/12{n:09d}0561/13{n:09d}0561",
            "file.name": f"{name}.{ext}",
            "file.creationDate": f"20{15 + r.randrange(10)}-06-27 14:29:38",
            "file.mimeType": {
                "pdf": "application/pdf",
                "txt": "text/plain",
                "html": "text/html",
            }[ext],
            "file.type": None,
            "file.description": None,
            "file.rights": "Open",
            "file.license.code": None,
            "file.size": str(r.randint(200, 5_000_000)),
            "file.extension": ext,
            "file.persistent.url": f"{PORTAL}/esploro/outputs/{slug}/{aid}#file-0",
            "file.order": "0",
            "file.supplemental": "no",
            "file.embargo_expiry_date": "",
            "file.displayName": f"{name}.{ext}",
        }
    ]


def _links(n: int) -> list[dict[str, Any]]:
    """The link to the published version (its DOI)."""
    return [
        {
            "linkTypeWithDesc": {"value": "published", "desc": "Published (Version of record)"},
            "linkLicenseCodeWithDesc": None,
            "linkOwnershipWithDesc": {"value": "owner.external", "desc": "External"},
            "link.url": f"https://doi.org/{asset_doi(n)}",
            "link.type": "published",
            "link.description": None,
            "link.title": None,
            "link.rights": "open",
            "link.supplemental": False,
            "link.license": None,
            "link.ownership": "owner.external",
            "link.order": 1,
            "link.display_in_viewer": False,
        }
    ]


def _journal(r: random.Random) -> list[dict[str, Any]]:
    """The journal an article is part of."""
    return [
        {
            "relationtype": "ispartof",
            "relationtitle": f"Journal of {r.choice(WORDS).capitalize()} Studies",
            "issue": str(r.randint(1, 12)),
            "volume": str(r.randint(1, 80)),
            "identifier.issn": f"{r.randrange(10000):04d}-{r.randrange(1000):03d}X",
            "relation.category": "INTERNAL",
        }
    ]


def _add_rights(
    r: random.Random, rec: dict[str, Any], oa: str, lic: tuple[str | None, str | None]
) -> None:
    """Publisher, open access, peer review and licence, in the order the API lists them."""
    if r.random() < 0.8:
        rec["publisher"] = r.choice(PUBLISHERS)
    rec["openaccess"] = oa
    if oa == "yes":
        rec["openAccessStatus"] = r.choice(OA_STATUS)
    rec["peerreview"] = r.choice(["yes", "no"])
    if lic[0] is not None:
        rec["license"] = lic[0]
        rec["licenseWithDesc"] = {"value": lic[0], "desc": lic[1]}


def _add_identifiers(r: random.Random, rec: dict[str, Any], n: int, slug: str, aid: str) -> None:
    """The DOI, sometimes a PubMed id, the portal URI and sometimes links, in that order."""
    rec["identifier.doi"] = asset_doi(n)
    if r.random() < 0.3:
        rec["identifier.pmid"] = str(30000000 + n)
    rec["identifier.uri"] = f"{PORTAL}/esploro/outputs/{slug}/{aid}"
    if r.random() < 0.4:
        rec["links"] = _links(n)


def _add_usage_and_subjects(r: random.Random, rec: dict[str, Any], oa: str, rtype: str) -> None:
    """Views and downloads, open access, type, subjects, keywords, journal and abstract."""
    rec["asset.views"] = r.randrange(500)
    if r.random() < 0.5:
        rec["asset.downloads"] = r.randrange(100)
    rec["open_access_indicator"] = "Yes" if oa == "yes" else "No"
    rec["resourcetype.esploro"] = rtype
    rec["subject.esploro"] = r.sample(SUBJECTS, r.randint(1, 2))
    rec["keywords"] = [{"language": "und", "values": r.sample(WORDS, 2)}]
    if r.random() < 0.5:
        rec["relationships"] = _journal(r)
    if r.random() < 0.6:
        rec["description.abstract"] = [
            {"language": "und", "value": " ".join(r.choices(WORDS, k=25)).capitalize() + "."}
        ]


def asset(seed: int, n: int, n_researchers: int) -> dict[str, Any]:
    """The JSON record of synthetic asset ``n`` (creators drawn from the researchers)."""
    r = _rng(seed, "asset", n)
    aid = asset_id(n)
    rtype, rdesc, slug = r.choice(TYPES)
    title_words = r.sample(WORDS, r.randint(3, 8))
    title = " ".join(title_words).capitalize()
    creators = [_creator(r, seed, n_researchers, k) for k in range(r.randint(1, 5))]
    published, shown = _publication_dates(r)
    oa = r.choice(["yes", "no", "unknown"])
    langs = r.sample(LANGS, r.choice([1, 1, 1, 2]))
    lic = r.choice(LICENSES)
    rec: dict[str, Any] = {
        "mobileCompatibility": "unknown",
        "sourceCodeAvailability": "unknown",
        "creators": creators,
    }
    if r.random() < 0.3:
        rec["contributors"] = [
            {"order": "1", "organization": r.choice(PUBLISHERS), "role": "Institution"}
        ]
    rec["event"] = {}
    rec["title"] = title
    _add_rights(r, rec, oa, lic)
    rec["language"] = [code for code, _ in langs]
    if r.random() < 0.4:
        rec["pages"] = str(r.randint(1, 400))
    rec["etd"] = {}
    rec["patent"] = {}
    rec["originalRepository"] = {"assetId": aid}
    rec["temporary"] = {}
    rec["depositStatusWithDesc"] = {"value": "approved", "desc": "Approved"}
    if r.random() < 0.35:
        rec["files"] = _files(r, n, aid, slug, title_words[0])
    rec["displayedDateByPriorityEsploroCP"] = shown
    rec["translatedLanguages"] = [name for _, name in langs]
    _add_identifiers(r, rec, n, slug, aid)
    rec["date.published"] = published
    _add_usage_and_subjects(r, rec, oa, rtype)
    rec["local.fields"] = {"local.note1": f"sim note {n}", "local.note2": ""}
    rec["asset.affiliation"] = sorted(
        {c["affiliationWithDesc"][0]["desc"] for c in creators if "affiliationWithDesc" in c}
    )
    rec["portal_visibility"] = "true"
    rec["profile_visibility"] = "true"
    rec["resourceTypeEsploroWithDesc"] = {"value": rtype, "desc": rdesc}
    return rec

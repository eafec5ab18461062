"""The data behind the simulated gateway: a lazily generated synthetic institution.

Records are never materialised up front.  A :class:`RecordStore` keeps only the *order*
of its records as a compact ``array('q')`` of integer keys; key ``n`` below the synthetic
size is generated on demand from ``(seed, n)`` (see :mod:`._generate`).  Written,
created and patched records live in an overlay ``dict`` and are returned verbatim
(key order included), so a swap-all ``PUT`` is read back exactly as sent.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import random
from array import array
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import attrs

from esploro_async.testing import _generate as gen

__all__ = ["RecordStore", "SyntheticInstitution"]

JsonDict = dict[str, Any]


def _asset_id_of(record: JsonDict) -> str | None:
    repo = record.get("originalRepository")
    if isinstance(repo, dict):
        aid = repo.get("assetId")
        return str(aid) if aid else None
    return None


def _set_asset_id(record: JsonDict, aid: str) -> None:
    repo = record.get("originalRepository")
    if not isinstance(repo, dict):
        repo = {}
        record["originalRepository"] = repo
    repo["assetId"] = aid


def _researcher_id_of(record: JsonDict) -> str | None:
    pid = record.get("primary_id")
    return str(pid) if pid else None


def _set_researcher_id(record: JsonDict, pid: str) -> None:
    record["primary_id"] = pid


class RecordStore:
    """An ordered, mutable collection of JSON records with lazily generated defaults.

    Order matters: ``GET`` list endpoints page over :meth:`ids` with ``offset``/``limit``,
    so :meth:`insert` and :meth:`delete` between two page requests reproduce the drift a
    real harvest sees.  All mutation helpers bump :attr:`version`.
    """

    def __init__(
        self,
        *,
        size: int,
        make: Callable[[int], JsonDict],
        id_of_index: Callable[[int], str],
        parse_id: Callable[[str], int | None],
        id_of_record: Callable[[JsonDict], str | None],
        set_id: Callable[[JsonDict, str], None],
    ) -> None:
        self._order = array("q", range(size))
        self._n_synth = size
        self._next = size
        self._make = make
        self._id_of_index = id_of_index
        self._parse_id = parse_id
        self._id_of_record = id_of_record
        self._set_id = set_id
        self._overlay: dict[int, JsonDict] = {}
        self._custom: dict[str, int] = {}
        self._key_id: dict[int, str] = {}
        self._deleted: set[int] = set()
        self._modified: dict[int, int] = {}
        #: Incremented by every mutation (used to invalidate cached filtered views).
        self.version = 0
        #: Returns today's date ordinal; the gateway points it at its simulated clock.
        self.today: Callable[[], int] = lambda: _dt.date.today().toordinal()

    # -- lookup ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and self._key(record_id) is not None

    def _key(self, record_id: str) -> int | None:
        k = self._custom.get(record_id)
        if k is not None:
            return None if k in self._deleted else k
        n = self._parse_id(record_id)
        if n is None or n in self._deleted or n in self._key_id:
            return None
        if n < self._n_synth or n in self._overlay:
            return n
        return None

    def _id_at(self, k: int) -> str:
        custom = self._key_id.get(k)
        return custom if custom is not None else self._id_of_index(k)

    def _record_at(self, k: int) -> JsonDict:
        rec = self._overlay.get(k)
        return rec if rec is not None else self._make(k)

    def ref(self, record_id: str) -> JsonDict | None:
        """The stored record itself (not a copy), or ``None``.  Do not mutate it."""
        k = self._key(record_id)
        return None if k is None else self._record_at(k)

    def get(self, record_id: str) -> JsonDict | None:
        """A deep copy of the record with this id, or ``None`` if absent."""
        rec = self.ref(record_id)
        return None if rec is None else copy.deepcopy(rec)

    def ids(self) -> list[str]:
        """All ids, in list order."""
        return [self._id_at(k) for k in self._order]

    def iter_page(self, offset: int, limit: int) -> Iterator[tuple[str, JsonDict]]:
        """``(id, stored record)`` pairs for list positions ``[offset, offset+limit)``."""
        for k in self._order[offset : offset + limit]:
            yield self._id_at(k), self._record_at(k)

    def is_modified(self, record_id: str) -> bool:
        """Whether the record was written, created or patched (lives in the overlay)."""
        k = self._key(record_id)
        return k is not None and k in self._overlay

    def keys_updated_since(self, ordinal: int, synth_ordinal: Callable[[int], int]) -> list[str]:
        """Ids (list order) whose last-update date ordinal is ``>= ordinal``."""
        out = []
        mod = self._modified
        for k in self._order:
            d = mod.get(k)
            if d is None:
                d = synth_ordinal(k) if k < self._n_synth else self.today()
            if d >= ordinal:
                out.append(self._id_at(k))
        return out

    def overlay_items(self) -> Iterable[tuple[str, JsonDict]]:
        """``(id, record)`` for every written/created record still present."""
        for k, rec in self._overlay.items():
            if k not in self._deleted:
                yield self._id_at(k), rec

    # -- mutation -------------------------------------------------------------------
    def _new_key(self, record_id: str | None) -> tuple[int, str]:
        k = self._next
        self._next += 1
        if record_id is None:
            record_id = self._id_of_index(k)
            while record_id in self._custom:
                k = self._next
                self._next += 1
                record_id = self._id_of_index(k)
        else:
            self._custom[record_id] = k
            self._key_id[k] = record_id
        return k, record_id

    def insert(self, position: int | None = None, record: JsonDict | None = None) -> str:
        """Insert a record at list ``position`` (``None`` = append); returns its id.

        ``record=None`` generates a fresh synthetic record.  A record without an id gets
        a new one written into it.  Raises ``KeyError`` if the id already exists.
        """
        rid = self._id_of_record(record) if record is not None else None
        if rid is not None and rid in self:
            raise KeyError(f"duplicate id {rid!r}")
        k, rid = self._new_key(rid)
        if record is None:
            record = self._make(k)
        self._set_id_if_missing(record, rid)
        self._overlay[k] = record
        self._modified[k] = self.today()
        pos = len(self._order) if position is None else position
        self._order.insert(pos, k)
        self.version += 1
        return rid

    def _set_id_if_missing(self, record: JsonDict, rid: str) -> None:
        if self._id_of_record(record) is None:
            self._set_id(record, rid)

    def put(self, record_id: str, record: JsonDict) -> None:
        """Replace the record wholesale (swap-all): it becomes exactly ``record``."""
        k = self._key(record_id)
        if k is None:
            raise KeyError(record_id)
        self._overlay[k] = record
        self._modified[k] = self.today()
        self.version += 1

    def delete(self, record_id: str) -> bool:
        """Remove the record; ``False`` if it did not exist."""
        k = self._key(record_id)
        if k is None:
            return False
        self._order.remove(k)
        self._deleted.add(k)
        self._overlay.pop(k, None)
        self.version += 1
        return True

    def churn(
        self,
        rng: random.Random,
        *,
        changed: int = 0,
        appeared: int = 0,
        disappeared: int = 0,
        change: Callable[[JsonDict, random.Random], None],
    ) -> list[str]:
        """Change, add and remove records at random, as a day of a live institution does.

        ``changed`` records get ``change(record, rng)`` applied to a copy (written back, so
        their update date becomes today); ``appeared`` new synthetic records are inserted at
        random list positions; ``disappeared`` records are deleted. Returns the ids changed
        or added. Driven only by ``rng``, so a seed replays the same day.
        """
        touched: list[str] = []
        if self._order:
            for position in rng.sample(range(len(self._order)), min(changed, len(self._order))):
                rid = self._id_at(self._order[position])
                record = copy.deepcopy(self._record_at(self._order[position]))
                change(record, rng)
                self.put(rid, record)
                touched.append(rid)
        for _ in range(appeared):
            touched.append(self.insert(rng.randrange(len(self._order) + 1)))
        for _ in range(min(disappeared, len(self._order))):
            self.delete(self._id_at(self._order[rng.randrange(len(self._order))]))
        return touched

    def move(self, record_id: str, position: int) -> None:
        """Move an existing record to list ``position``."""
        k = self._key(record_id)
        if k is None:
            raise KeyError(record_id)
        self._order.remove(k)
        self._order.insert(position, k)
        self.version += 1


def _load_data(name: str) -> Any:
    text = (
        resources.files("esploro_async.testing").joinpath("data").joinpath(name).read_text("utf-8")
    )
    if name.endswith(".json"):
        return json.loads(text)
    return text


class SyntheticInstitution:
    """A synthetic Esploro institution generated from ``seed`` and sizes.

    Attributes: :attr:`researchers` and :attr:`assets` (:class:`RecordStore`),
    :attr:`organizations`, :attr:`sets`, :attr:`code_tables`, :attr:`import_profiles`,
    :attr:`jobs`, :attr:`mapping_tables`, :attr:`activities` and :attr:`reports`
    (analytics, see :mod:`.analytics`).  Jobs and mapping tables are the real fixture
    payloads (``jobs-list.json``, ``job-details.json``, ``mapping-table*.json``).
    """

    def __init__(
        self,
        seed: int = 0,
        researchers: int = 200,
        assets: int = 500,
        *,
        analytics_rows: int = 2_345,
    ) -> None:
        from esploro_async.testing.analytics import default_reports

        self.seed = seed
        n_res = researchers
        self.researchers = RecordStore(
            size=researchers,
            make=lambda n: gen.researcher(seed, n),
            id_of_index=gen.researcher_id,
            parse_id=gen.parse_researcher_id,
            id_of_record=_researcher_id_of,
            set_id=_set_researcher_id,
        )
        self.assets = RecordStore(
            size=assets,
            make=lambda n: gen.asset(seed, n, n_res),
            id_of_index=gen.asset_id,
            parse_id=gen.parse_asset_id,
            id_of_record=_asset_id_of,
            set_id=_set_asset_id,
        )
        self.organizations: list[JsonDict] = gen.organizations(seed)
        self.sets: list[JsonDict] = [
            _set("9500000010004321", "Sim researchers sample", "RESEARCHERS", "Researchers"),
            _set("9500000020004321", "Sim open access assets", "IER", "Research assets"),
            _set("9500000030004321", "CloudApp-FilesLoaderSet-sim", "IER", "Research assets"),
        ]
        #: Members per set id, resolved against the stores at request time.
        self.set_members: dict[str, Callable[[], list[tuple[str, str]]]] = {
            "9500000010004321": lambda: [(i, "researchers") for i in self.researchers.ids()[:25]],
            "9500000020004321": lambda: [(i, "assets") for i in self.assets.ids()[:120]],
            "9500000030004321": list,
        }
        self.code_tables: dict[str, JsonDict] = _code_tables()
        self.code_tables["systemJobStatus"] = _load_data("code-table-systemJobStatus.json")
        self.import_profiles: list[JsonDict] = [
            {
                "id": f"61000000{i}0004321",
                "name": name,
                "description": name,
                "type": {"value": "RESEARCH_ASSETS", "desc": "Research assets"},
                "status": {"value": "ACTIVE", "desc": "Active"},
            }
            for i, name in enumerate(("Crossref import", "ORCID harvest", "Scopus daily"), 1)
        ]
        jobs = _load_data("jobs-list.json")
        self.jobs: list[JsonDict] = jobs["job"]
        self.jobs_total: int = jobs["total_record_count"]
        self.job_details: dict[str, JsonDict] = {"M50173": _load_data("job-details.json")}
        self.job_instance_xml: dict[tuple[str, str], str] = {
            ("M50173", "9563643080000561"): _load_data("job-instance.xml")
        }
        self.mapping_tables_list: JsonDict = _load_data("mapping-tables-list.json")
        self.mapping_tables: dict[str, JsonDict] = {
            "AssetFileAndLinkTypes": _load_data("mapping-table-AssetFileAndLinkTypes.json")
        }
        self.activities: list[JsonDict] = []
        self.reports = default_reports(seed, analytics_rows)
        #: Job runs started with ``POST /almaws/v1/conf/jobs/{id}?op=run``, by
        #: ``(job id, instance id)``; each takes simulated time (see :class:`SimJobRun`).
        self.job_runs: dict[tuple[str, str], SimJobRun] = {}
        #: Final status forced per job id (e.g. ``{"M50173": "COMPLETED_FAILED"}``), any
        #: ``systemJobStatus`` code (see :mod:`esploro_async.testing.jobs`);
        #: other runs end ``COMPLETED_SUCCESS``.
        self.job_outcomes: dict[str, str] = {}
        self._next_id = 0

    def new_id(self, prefix: str) -> str:
        """A fresh numeric id in the institution's style (``96...4321``)."""
        self._next_id += 1
        return f"{prefix}{self._next_id:010d}4321"

    def set_member_list(self, set_id: str) -> list[tuple[str, str]]:
        """The members of a set as a list the caller may change (materialised once)."""
        members = self.set_members[set_id]()
        self.set_members[set_id] = lambda: members
        return members

    @classmethod
    def from_fixtures(
        cls, *paths: str | Path, seed: int = 0, researchers: int = 50, assets: int = 0
    ) -> SyntheticInstitution:
        """An institution whose asset list starts with the records of real fixture files.

        Each path is a JSON file with a ``{"records": [...]}`` envelope (such as
        ``asset-get-single.json``) or a single record.  Records are served back verbatim.
        """
        inst = cls(seed=seed, researchers=researchers, assets=assets)
        pos = 0
        for p in paths:
            data = json.loads(Path(p).read_text("utf-8"))
            records = data["records"] if isinstance(data, dict) and "records" in data else [data]
            for rec in records:
                inst.add_asset(rec, position=pos)
                pos += 1
        return inst

    def churn(
        self,
        seed: int | str,
        *,
        assets: tuple[int, int, int] = (0, 0, 0),
        researchers: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        """A day of changes: ``(changed, appeared, disappeared)`` assets and researchers.

        Changed assets get a new title; changed researchers a new last name (seen in the
        brief list) or, one time in two, only a new keyword (seen in the full record only).
        Seeded: the same ``seed`` makes the same changes to the same institution.
        """
        rng = random.Random(f"churn:{self.seed}:{seed}")
        changed, appeared, disappeared = assets
        self.assets.churn(
            rng, changed=changed, appeared=appeared, disappeared=disappeared, change=_retitle
        )
        changed, appeared, disappeared = researchers
        self.researchers.churn(
            rng, changed=changed, appeared=appeared, disappeared=disappeared, change=_rename
        )

    def add_asset(self, record: JsonDict, position: int | None = None) -> str:
        """Add an asset record verbatim (its ``originalRepository.assetId`` is kept)."""
        return self.assets.insert(position, record)

    def add_researcher(self, record: JsonDict, position: int | None = None) -> str:
        """Add a researcher record verbatim (its ``primary_id`` is kept)."""
        return self.researchers.insert(position, record)


def _retitle(record: JsonDict, rng: random.Random) -> None:
    record["title"] = f"{record.get('title', '')} (rev. {rng.randrange(10**6)})"


def _rename(record: JsonDict, rng: random.Random) -> None:
    if rng.random() < 0.5:
        record["last_name"] = f"{record.get('last_name', '')}-{rng.randrange(10**4)}"
        return
    keywords = record.setdefault("researcher", {}).setdefault("researcher_keyword", [])
    if isinstance(keywords, list):
        keywords.append({"value": f"topic {rng.randrange(10**6)}"})


@attrs.define
class SimJobRun:
    """One simulated job instance: queued, then running, then finished at ``ends_at``.

    Times are the gateway's monotonic clock. The real instance of
    ``tests/fixtures/real/job-instance.xml`` ran 3.9 s for one asset: a run takes
    ``base_seconds + per_member_seconds × members`` and is queued for its first tenth.
    ``counters`` are ``(code, description, value)``, shown once the run has ended.
    """

    job: JsonDict
    instance_id: str
    parameters: dict[str, str]
    submitted_at: float
    submit_wall: _dt.datetime
    duration: float
    final_status: str
    counters: list[tuple[str, str, int]]

    base_seconds: ClassVar[float] = 4.0
    per_member_seconds: ClassVar[float] = 0.02

    def status_at(self, t: float) -> tuple[str, int]:
        """``(status code, progress %)`` at monotonic time ``t``.

        ``QUEUED`` for the first tenth, ``INITIALIZING`` to 15 %, ``RUNNING``, then
        ``FINALIZING`` for the last tenth, then :attr:`final_status` at 100 % (a final
        ``MANUAL_HANDLING_REQUIRED`` stays at 99 %).
        """
        elapsed = t - self.submitted_at
        if elapsed >= self.duration:
            manual = self.final_status == "MANUAL_HANDLING_REQUIRED"
            return self.final_status, 99 if manual else 100
        share = elapsed / self.duration
        if share < 0.10:
            return "QUEUED", 0
        if share < 0.15:
            return "INITIALIZING", 0
        progress = min(99, int(100 * (share - 0.10) / 0.9))
        return ("FINALIZING" if share >= 0.9 else "RUNNING"), progress


def _set(sid: str, name: str, content: str, desc: str) -> JsonDict:
    base = "https://api-na.hosted.exlibrisgroup.com/esploro/v1/researchconf/sets"
    return {
        "id": sid,
        "name": name,
        "description": None,
        "type": {"value": "ITEMIZED", "desc": "Itemized"},
        "content": {"value": content, "desc": desc},
        "private": {"value": "false", "desc": "No"},
        "status": {"value": "ACTIVE", "desc": "Active"},
        "created_by": {"value": "exl_api", "desc": "Ex Libris, API"},
        "created_date": "2025-10-05T09:38:16.058Z",
        "number_of_members": {"value": 0, "link": f"{base}/{sid}/members"},
        "link": f"{base}/{sid}",
    }


def _code_tables() -> dict[str, JsonDict]:
    def table(name: str, desc: str, rows: list[tuple[str, str]]) -> JsonDict:
        return {
            "name": name,
            "description": desc,
            "sub_system": {"value": "RESEARCH", "desc": "Research"},
            "patron_facing": False,
            "language": {"value": "en", "desc": "English"},
            "scope": {
                "institution_id": {"value": gen.INST, "desc": "Sim University"},
                "library_id": {"value": "", "desc": ""},
            },
            "row": [
                {"code": c, "description": d, "default": i == 0, "enabled": True}
                for i, (c, d) in enumerate(rows)
            ],
        }

    return {
        "UserTitles": table(
            "UserTitles", "User Titles", [("DR", "Dr."), ("PROF", "Prof."), ("MS", "Ms.")]
        ),
        "OrganizationPositions": table(
            "OrganizationPositions",
            "Organization Positions",
            [("PROFESSOR", "Professor"), ("LECTURER", "Lecturer"), ("PHD_STUDENT", "PhD Student")],
        ),
        "EsploroPortalField": table(
            "EsploroPortalField", "Esploro Portal Field", [("true", "Yes"), ("false", "No")]
        ),
        "AssetFileAndLinkTypesApplicability": table(
            "AssetFileAndLinkTypesApplicability",
            "Asset file and link types applicability",
            [("file", "File"), ("link", "Link"), ("both", "Both")],
        ),
    }

"""Jobs and job instances (Alma ``/conf/jobs`` shapes, also under ``/researchconf/jobs``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from esploro_async.models._base import Record, View
from esploro_async.models._codes import CodeValue
from esploro_async.models._json import as_int, as_list, as_str
from esploro_async.models._xml import element_to_alma_json, parse_xml

__all__ = ["FINISHED_JOB_STATUSES", "Job", "JobCounter", "JobInstance"]

FINISHED_JOB_STATUSES = frozenset(
    {
        "COMPLETED_SUCCESS",
        "COMPLETED_NO_BULKS",
        "COMPLETED_WARNINGS",
        "COMPLETED_FAILED",
        "FAILED",
        "SKIPPED",
        "CANCELLED",
        "ABORTED",
    }
)
"""Job-instance status codes after which the status no longer changes (Alma's list)."""


@attrs.define(eq=False, repr=False)
class Job(Record):
    """A job definition (list item or ``GET /conf/jobs/{id}``) or a ``?op=run`` response."""

    @property
    def id(self) -> str | None:
        """``id`` (e.g. ``M50173``)."""
        return self._str("id")

    @property
    def name(self) -> str | None:
        """``name``."""
        return self._str("name")

    @property
    def description(self) -> str | None:
        """``description``."""
        return self._str("description")

    @property
    def type(self) -> CodeValue | None:
        """``type`` (``MANUAL``, ``SCHEDULED`` ...)."""
        return self._code("type")

    @property
    def category(self) -> CodeValue | None:
        """``category`` (e.g. ``RESEARCH_ASSETS``)."""
        return self._code("category")

    @property
    def content(self) -> CodeValue | None:
        """``content``."""
        return self._code("content")

    @property
    def link(self) -> str | None:
        """``link``."""
        return self._str("link")

    @property
    def parameters(self) -> dict[str, str | None]:
        """``parameter[]`` as ``{name: value}`` (``name`` may be a code object)."""
        out: dict[str, str | None] = {}
        for item in as_list(self._value("parameter")):
            if not isinstance(item, Mapping):
                continue
            name = CodeValue.from_json(item.get("name"))
            if name is not None and name.value is not None:
                out[name.value] = as_str(item.get("value"))
        return out

    @property
    def additional_info(self) -> str | None:
        """``additional_info.value`` of a run response (``Job no. ... triggered on ...``)."""
        value = self._value("additional_info")
        return as_str(value.get("value")) if isinstance(value, Mapping) else as_str(value)

    @property
    def instance_link(self) -> str | None:
        """``additional_info.link``: the job instance to poll after ``op=run``."""
        return self._str("additional_info", "link")

    @property
    def instance_id(self) -> str | None:
        """The instance id: the last path segment of :attr:`instance_link`."""
        link = self.instance_link
        if not link:
            return None
        return link.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


@attrs.frozen
class JobCounter:
    """One job-instance counter: ``{"type": {"value", "desc"}, "value": "3"}``."""

    type: CodeValue | None
    """What is counted (``value`` = key, ``desc`` = label)."""
    value: int | None
    """The count (``"3"`` -> 3; ``None`` if not a number)."""

    @classmethod
    def from_json(cls, data: Any) -> JobCounter:
        """Build from one ``counter`` item."""
        d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        return cls(CodeValue.from_json(d.get("type")), as_int(d.get("value")))


@attrs.define(eq=False, repr=False)
class JobInstance(Record):
    """A job instance (``GET /conf/jobs/{id}/instances/{instance_id}``), Alma JSON shape.

    :meth:`from_xml` converts the XML form with Alma's conventions (see
    ``esploro_async.models._xml.element_to_alma_json``): text stays a string, a ``desc``
    attribute makes ``{"value": text, "desc": ...}``, ``<counters><counter>`` becomes
    ``"counter": [...]`` and ``link`` attributes become ``"link"`` keys.
    """

    @classmethod
    def from_xml(cls, text: str | bytes, *, view: View | None = None) -> JobInstance:
        """Parse ``<job_instance>`` XML (defusedxml) into the JSON-equivalent record."""
        value = element_to_alma_json(parse_xml(text))
        return cls(data=value if isinstance(value, dict) else {}, view=view)

    @property
    def id(self) -> str | None:
        """``id``."""
        return self._str("id")

    @property
    def external_id(self) -> str | None:
        """``external_id``."""
        return self._str("external_id")

    @property
    def name(self) -> str | None:
        """``name``."""
        return self._str("name")

    @property
    def status(self) -> CodeValue | None:
        """``status`` (e.g. ``COMPLETED_SUCCESS``)."""
        return self._code("status")

    @property
    def is_finished(self) -> bool:
        """``True`` when :attr:`status` is in :data:`FINISHED_JOB_STATUSES`."""
        status = self.status
        return status is not None and (status.value or "").upper() in FINISHED_JOB_STATUSES

    @property
    def progress(self) -> int | None:
        """``progress`` in percent."""
        return self._int("progress")

    @property
    def submitted_by(self) -> CodeValue | None:
        """``submitted_by``."""
        return self._code("submitted_by")

    @property
    def submit_time(self) -> str | None:
        """``submit_time`` (raw ISO timestamp)."""
        return self._str("submit_time")

    @property
    def start_time(self) -> str | None:
        """``start_time`` (raw ISO timestamp)."""
        return self._str("start_time")

    @property
    def end_time(self) -> str | None:
        """``end_time`` (raw ISO timestamp)."""
        return self._str("end_time")

    @property
    def alerts(self) -> list[CodeValue]:
        """``alert[]`` codes (also read from an ``alerts: {alert: ...}`` wrapper)."""
        value = self._value("alert")
        if value is None:
            value = self._value("alerts", "alert")
        return [c for c in (CodeValue.from_json(a) for a in as_list(value)) if c is not None]

    @property
    def counters(self) -> list[JobCounter]:
        """``counter[]`` (also read from a ``counters: {counter: ...}`` wrapper)."""
        value = self._value("counter")
        if value is None:
            value = self._value("counters", "counter")
        return [JobCounter.from_json(c) for c in as_list(value)]

    @property
    def counter_values(self) -> dict[str, int | None]:
        """Counters as ``{type code: count}``."""
        return {c.type.value: c.value for c in self.counters if c.type and c.type.value}

    @property
    def job_info(self) -> Job | None:
        """``job_info`` as a :class:`Job` (``None`` when absent)."""
        value = self._value("job_info")
        return Job.from_dict(value) if isinstance(value, Mapping) else None

    @property
    def link(self) -> str | None:
        """``link``."""
        return self._str("link")

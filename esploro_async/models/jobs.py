"""Jobs and job instances (Alma ``/conf/jobs`` shapes, also under ``/researchconf/jobs``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from esploro_async.models._base import Record, View
from esploro_async.models._codes import CodeValue
from esploro_async.models._fields import coded, number, text
from esploro_async.models._json import as_int, as_list, as_str
from esploro_async.models._xml import element_to_alma_json, parse_xml

__all__ = [
    "ABORTED_JOB_STATUSES",
    "ACTIVE_JOB_STATUSES",
    "FAILED_JOB_STATUSES",
    "FINISHED_JOB_STATUSES",
    "JOB_STATUSES",
    "MANUAL_HANDLING_REQUIRED",
    "Job",
    "JobCounter",
    "JobInstance",
]

JOB_STATUSES: tuple[str, ...] = (
    "QUEUED",
    "PENDING",
    "INITIALIZING",
    "RUNNING",
    "MANUAL_HANDLING_REQUIRED",
    "FINALIZING",
    "COMPLETED_SUCCESS",
    "COMPLETED_NO_BULKS",
    "COMPLETED_FAILED",
    "FAILED",
    "COMPLETED_WARNING",
    "USER_ABORTED",
    "SYSTEM_ABORTED",
    "SKIPPED",
)
"""Every job-instance status, in the order of Ex Libris' ``systemJobStatus`` code table
(``tests/fixtures/public/codetable_response.json``)."""

ACTIVE_JOB_STATUSES = frozenset({"QUEUED", "PENDING", "INITIALIZING", "RUNNING", "FINALIZING"})
"""Statuses of an instance that is still on its way to an end by itself."""

MANUAL_HANDLING_REQUIRED = "MANUAL_HANDLING_REQUIRED"
"""The status of an instance that waits for a person in Alma/Esploro: it neither runs on nor
ends by itself."""

ABORTED_JOB_STATUSES = frozenset({"USER_ABORTED", "SYSTEM_ABORTED"})
"""The statuses of an instance stopped before its end, by a user or by the system."""

FAILED_JOB_STATUSES = frozenset({"COMPLETED_FAILED", "FAILED"}) | ABORTED_JOB_STATUSES
"""The finished statuses that mean the job did not do its work (failed or aborted)."""

FINISHED_JOB_STATUSES = (
    frozenset({"COMPLETED_SUCCESS", "COMPLETED_NO_BULKS", "COMPLETED_WARNING", "SKIPPED"})
    | FAILED_JOB_STATUSES
)
"""Job-instance status codes after which the status no longer changes."""


@attrs.define(eq=False, repr=False)
class Job(Record):
    """A job definition (list item or ``GET /conf/jobs/{id}``) or a ``?op=run`` response.

    Source: the real answers in ``tests/fixtures/real`` (``jobs-list.json``,
    ``job-details.json``) and the real ``op=run`` answer of the Esploro files-loader Cloud
    App (``jobs-post-api.md``: ``parameter[]`` of ``{name: {value}, value}`` and
    ``additional_info`` ``{value, link}``).
    """

    id = text("id")
    """``id`` (e.g. ``M50173``)."""

    name = text("name")
    """``name``."""

    description = text("description")
    """``description``."""

    type = coded("type")
    """``type`` (``MANUAL``, ``SCHEDULED`` ...)."""

    category = coded("category")
    """``category`` (e.g. ``RESEARCH_ASSETS``)."""

    content = coded("content")
    """``content``."""

    link = text("link")
    """``link``."""

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

    instance_link = text("additional_info", "link")
    """``additional_info.link``: the job instance to poll after ``op=run``."""

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

    Source: the real instance ``tests/fixtures/real/job-instance.xml`` (``status`` with
    ``desc``, ``progress``, ``alerts``, ``counters`` of ``type``/``value``, ``job_info``);
    status codes are Alma's job statuses.

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

    id = text("id")
    """``id``."""

    external_id = text("external_id")
    """``external_id``."""

    name = text("name")
    """``name``."""

    status = coded("status")
    """``status`` (e.g. ``COMPLETED_SUCCESS``)."""

    @property
    def status_code(self) -> str | None:
        """:attr:`status` ``value`` in upper case (``None`` when absent)."""
        status = self.status
        if status is None:
            return None
        return (status.value or "").strip().upper() or None

    @property
    def is_finished(self) -> bool:
        """``True`` once the instance has ended: it has an ``end_time``, or its status is in
        :data:`FINISHED_JOB_STATUSES`.

        An ``end_time`` wins over the status: Ex Libris' own sample instance says
        ``QUEUED`` with progress 100 and an ``end_time``.
        """
        return bool(self.end_time) or self.status_code in FINISHED_JOB_STATUSES

    @property
    def failed(self) -> bool:
        """``True`` when :attr:`status` is in :data:`FAILED_JOB_STATUSES` (aborted included)."""
        return self.status_code in FAILED_JOB_STATUSES

    @property
    def aborted(self) -> bool:
        """``True`` when :attr:`status` is ``USER_ABORTED`` or ``SYSTEM_ABORTED``."""
        return self.status_code in ABORTED_JOB_STATUSES

    @property
    def needs_manual_handling(self) -> bool:
        """``True`` when :attr:`status` is ``MANUAL_HANDLING_REQUIRED`` and it has not ended."""
        return self.status_code == MANUAL_HANDLING_REQUIRED and not self.end_time

    progress = number("progress")
    """``progress`` in percent."""

    submitted_by = coded("submitted_by")
    """``submitted_by``."""

    submit_time = text("submit_time")
    """``submit_time`` (raw ISO timestamp)."""

    start_time = text("start_time")
    """``start_time`` (raw ISO timestamp)."""

    end_time = text("end_time")
    """``end_time`` (raw ISO timestamp)."""

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

    link = text("link")
    """``link``."""

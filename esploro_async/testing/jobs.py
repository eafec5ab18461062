"""Simulated job instances: the JSON of a :class:`SimJobRun` at a moment, and its
``JOB_END`` webhook.

Statuses and their descriptions are Ex Libris' ``systemJobStatus`` code table
(``data/code-table-systemJobStatus.json``, a copy of
``tests/fixtures/public/codetable_response.json``). A run ends in the status set in
``SyntheticInstitution.job_outcomes`` (default ``COMPLETED_SUCCESS``), any of the 14:

* a finished status gets ``end_time``, ``alert`` and ``counter``;
* ``MANUAL_HANDLING_REQUIRED`` stays so, without ``end_time``, until the run's
  ``final_status`` is changed (a person resolving it);
* an active status (``QUEUED`` ...) as the outcome still gets an ``end_time``, as in Ex
  Libris' own sample instance (``QUEUED``, progress 100, with an ``end_time``).
"""

from __future__ import annotations

import datetime as _dt
import json
from importlib import resources
from typing import Any

from esploro_async.models.jobs import MANUAL_HANDLING_REQUIRED
from esploro_async.testing import _generate as gen
from esploro_async.testing.institution import SimJobRun

__all__ = ["ALERT_DESC", "JOB_STATUS_DESC", "instance_json", "job_end_webhook"]


def _status_table() -> dict[str, str]:
    text = (
        resources.files("esploro_async.testing")
        .joinpath("data")
        .joinpath("code-table-systemJobStatus.json")
        .read_text("utf-8")
    )
    return {row["code"]: row["description"] for row in json.loads(text)["row"]}


JOB_STATUS_DESC: dict[str, str] = _status_table()
"""``systemJobStatus`` code -> description (e.g. ``USER_ABORTED`` -> ``Aborted by User``)."""

ALERT_DESC = {
    "alert_general_success": (
        "The job completed successfully. For more information view the report details."
    ),
    "alert_general_failure": "The job failed. For more information view the report details.",
}
_SUCCESS = frozenset({"COMPLETED_SUCCESS", "COMPLETED_NO_BULKS", "COMPLETED_WARNING", "SKIPPED"})


def iso(when: _dt.datetime) -> str:
    """Alma's timestamp form: ``2025-10-05T09:11:32.123Z``."""
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def instance_json(run: SimJobRun, now: float, base_url: str) -> dict[str, Any]:
    """The instance as ``GET /almaws/v1/conf/jobs/{id}/instances/{instance}`` shows it at
    monotonic time ``now``."""
    job = run.job
    status, progress = run.status_at(now)
    base = f"{base_url}/almaws/v1/conf/jobs/{job['id']}"
    start = run.submit_wall + _dt.timedelta(seconds=run.duration / 10)
    data: dict[str, Any] = {
        "id": run.instance_id,
        "name": f"{job['name']} - via API - {run.parameters.get('job_name', '')}".rstrip(),
        "submitted_by": {"value": "exl_api", "desc": "Ex Libris, API"},
        "submit_time": iso(run.submit_wall),
        "progress": progress,
        "status": {"value": status, "desc": JOB_STATUS_DESC.get(status, status.title())},
    }
    if status != "QUEUED" or progress == 100:
        data["start_time"] = iso(start)
    if progress == 100 and status != MANUAL_HANDLING_REQUIRED:
        end = run.submit_wall + _dt.timedelta(seconds=run.duration)
        data["end_time"] = iso(end)
        data["status_date"] = end.date().isoformat() + "Z"
        alert = "alert_general_success" if status in _SUCCESS else "alert_general_failure"
        data["alert"] = [{"value": alert, "desc": ALERT_DESC[alert]}]
        data["counter"] = [
            {"type": {"value": code, "desc": desc}, "value": str(value)}
            for code, desc, value in run.counters
        ]
    data["job_info"] = {
        **{k: job[k] for k in ("id", "name", "description", "type", "category") if k in job},
        "link": base,
    }
    data["link"] = f"{base}/instances/{run.instance_id}"
    return data


def job_end_webhook(run: SimJobRun, now: float, base_url: str) -> dict[str, Any]:
    """The ``JOB_END`` webhook message Alma sends for ``run`` (sign its JSON bytes with
    ``esploro_async.webhooks.sign``)."""
    instance = instance_json(run, now, base_url)
    return {
        "id": f"{run.instance_id}-job-end",
        "action": "JOB_END",
        "institution": {"value": gen.INST, "desc": "Sim University"},
        "time": instance.get("end_time", iso(run.submit_wall)),
        "job_instance": instance,
    }

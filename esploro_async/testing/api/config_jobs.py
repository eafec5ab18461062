"""Jobs (``/conf/jobs``): the list, details, instances, and Alma's ``op=run``."""

from __future__ import annotations

from typing import Any

from esploro_async.testing import _xml
from esploro_async.testing import jobs as _jobs
from esploro_async.testing.api._base import (
    XML_CT,
    ApiArea,
    ApiError,
    ApiRequest,
    ApiResponse,
    json_response,
)
from esploro_async.testing.api.assets import _links_to_extract
from esploro_async.testing.institution import SimJobRun


class JobsApi(ApiArea):
    """Jobs, their instances, and the runs started with ``op=run``."""

    def _job_run(self, req: ApiRequest, job_id: str) -> ApiResponse:
        if req.query.get("op") != "run":
            raise ApiError(
                400, "40166411", f"Invalid value for parameter op: {req.query.get('op')}"
            )
        inst = self.inst
        job = self._find_job(job_id)
        if job.get("type", {}).get("value") != "MANUAL":
            raise ApiError(400, "40166411", f"Job {job_id} is not a manual job")
        params = _job_parameters(self._json_object(req))
        set_id = params.get("set_id")
        members: list[tuple[str, str]] = []
        if set_id is not None:
            if set_id not in inst.set_members:
                raise ApiError(400, "402885", f"Set {set_id} was not found.")
            members = inst.set_members[set_id]()
        elif job.get("category", {}).get("value") == "RESEARCH_ASSETS":
            raise ApiError(400, "40166410", "Mandatory parameter missing: set_id")
        now = self._clock()
        iid = inst.new_id("98")
        run = SimJobRun(
            job=job,
            instance_id=iid,
            parameters=params,
            submitted_at=now,
            submit_wall=self._wall_clock(now),
            duration=SimJobRun.base_seconds + SimJobRun.per_member_seconds * len(members),
            final_status=inst.job_outcomes.get(job_id, "COMPLETED_SUCCESS"),
            counters=self._job_counters(job, members),
        )
        inst.job_runs[(job_id, iid)] = run
        base = f"{req.base_url}/almaws/v1/conf/jobs/{job_id}"
        when = run.submit_wall.strftime("%a, %d %b %Y %H:%M:%S GMT")
        answer = {
            **{k: v for k, v in job.items() if k != "link"},
            "parameter": [{"name": {"value": k}, "value": v} for k, v in params.items()],
            "additional_info": {
                "value": f"Job no. {iid} triggered on {when}",
                "link": f"{base}/instances/{iid}",
            },
            "link": base,
        }
        return json_response(answer)

    def _job_counters(
        self, job: dict[str, Any], members: list[tuple[str, str]]
    ) -> list[tuple[str, str, int]]:
        if job["id"] != "M50173":
            return [("objects_processed", "Number of objects processed", len(members))]
        ok = failed = skipped = files = 0
        for mid, _ in members:
            rec = self.inst.assets.ref(mid)
            links = _links_to_extract(rec) if rec is not None else None
            if links is None:
                failed += 1
            elif links:
                ok += 1
                files += len(links)
            else:
                ok += 1
                skipped += 1
        prefix = "import_research_assets_files."
        return [
            (prefix + "asset_succeeded", "Number of assets succeeded", ok),
            (prefix + "asset_partial_succeeded", "Number of assets partially succeeded", 0),
            (prefix + "asset_failed", "Number of assets failed", failed),
            (prefix + "file_uploaded", "Number of files uploaded", files),
            (prefix + "file_failed_to_upload", "Number of files failed to upload", 0),
            (prefix + "file_skipped_upload", "Number of files skipped upload", skipped),
        ]

    def _run_json(self, req: ApiRequest, run: SimJobRun) -> dict[str, Any]:
        return _jobs.instance_json(run, self._clock(), req.base_url)

    def job_end_webhook(self, job_id: str, instance_id: str, base_url: str) -> dict[str, Any]:
        """The ``JOB_END`` webhook of a run started with ``op=run`` (see
        :func:`esploro_async.testing.jobs.job_end_webhook`)."""
        run = self.inst.job_runs[(job_id, instance_id)]
        return _jobs.job_end_webhook(run, self._clock(), base_url)

    def _jobs(self, req: ApiRequest, args: tuple[str, ...]) -> ApiResponse:
        inst = self.inst
        if not args:
            limit, offset = self._paging(req)
            return self._page_json(
                inst.jobs[offset : offset + limit], "job", len(inst.jobs), "total_record_count"
            )
        job_id = args[0]
        job = self._find_job(job_id)
        if len(args) == 1:
            return json_response(job)
        if args[1] != "instances" or len(args) > 3:
            raise ApiError(404, "402893", f"No such resource: {req.path}")
        if len(args) == 2:
            return self._job_instances(req, job_id)
        return self._job_instance(req, (job_id, args[2]))

    def _find_job(self, job_id: str) -> dict[str, Any]:
        inst = self.inst
        job = inst.job_details.get(job_id) or next(
            (j for j in inst.jobs if j["id"] == job_id), None
        )
        if job is None:
            raise ApiError(400, "402885", f"Job {job_id} was not found.")
        return job

    def _job_instances(self, req: ApiRequest, job_id: str) -> ApiResponse:
        """The instances of a job: those of the fixtures, then the runs started here."""
        inst = self.inst
        instances = [key for key in inst.job_instance_xml if key[0] == job_id]
        runs = [run for key, run in inst.job_runs.items() if key[0] == job_id]
        items: list[dict[str, Any]] = []
        for _, iid in instances:
            data = self._instance_json(job_id, iid)
            items.append({k: data[k] for k in ("id", "name", "status", "progress") if k in data})
        for run in runs:
            data = self._run_json(req, run)
            keys: tuple[str, ...] = ("id", "name", "status", "progress", "link")
            items.append({k: data[k] for k in keys})
        return self._page_json(items, "job_instance", len(items), "total_record_count")

    def _job_instance(self, req: ApiRequest, key: tuple[str, str]) -> ApiResponse:
        inst = self.inst
        if key in inst.job_runs:
            return json_response(self._run_json(req, inst.job_runs[key]))
        if key not in inst.job_instance_xml:
            raise ApiError(400, "402885", f"Job instance {key[1]} was not found.")
        if req.wants_xml:
            return ApiResponse(200, inst.job_instance_xml[key].encode(), XML_CT)
        return json_response(self._instance_json(*key))

    def _instance_json(self, job_id: str, iid: str) -> dict[str, Any]:
        from defusedxml import ElementTree as SafeET

        root = SafeET.fromstring(self.inst.job_instance_xml[(job_id, iid)].encode())
        value = _xml.element_to_value(root)
        return value if isinstance(value, dict) else {}


def _job_parameters(body: dict[str, Any]) -> dict[str, str]:
    """``{"parameter": [{"name": {"value": n}, "value": v}]}`` (the Cloud App's body)."""
    items = body.get("parameter") or []
    out: dict[str, str] = {}
    for item in items if isinstance(items, list) else [items]:
        name = item.get("name") if isinstance(item, dict) else None
        key = name.get("value") if isinstance(name, dict) else name
        if not isinstance(key, str) or not key:
            raise ApiError(400, "402119", "General error: a job parameter has no name")
        out[key] = str(item.get("value", ""))
    return out

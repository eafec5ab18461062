"""The files-loading workflow of Esploro integrations, through ``client.config``.

Patch assets with links to extract, create an itemized ``IER`` set, add members, run the
"Import Research Assets Files" job on it and wait for the instance. Request and answer
shapes are the real sandbox ones published with the Esploro files-loader Cloud App
(``Testing-Environment/esploro-csv-researcher-loader``, ``documentation/example-api-response``:
``sets-createset-post-api.md``, ``sets-managemembers-post-api.md``, ``jobs-post-api.md``)
and ``tests/fixtures/real/job-instance.xml``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from resource_sim import Recorder, calls, query

from esploro_async import (
    BadRequestError,
    EsploroClient,
    JobFailedError,
    NotFoundError,
)
from esploro_async.models import Job, JobInstance, Set
from esploro_async.resources import job_instance_ids
from esploro_async.testing import SimulatedGateway

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]

FIXTURES = Path(__file__).parent.parent / "fixtures" / "real"

# The JSON answer of POST /almaws/v1/conf/jobs/M50762?op=run (jobs-post-api.md), verbatim.
REAL_RUN_ANSWER = {
    "id": "M50173",
    "name": "Import Research Assets Files",
    "description": "Import Research Assets Files",
    "type": {"value": "MANUAL", "desc": "Manual"},
    "category": {"value": "RESEARCH_ASSETS", "desc": "Research Assets"},
    "content": {"value": "IMPORT_RESEARCH_ASSETS_FILES", "desc": "Research assets"},
    "parameter": [
        {"name": {"value": "set_id"}, "value": "9563211250000561"},
        {
            "name": {"value": "job_name"},
            "value": "Import Research Assets Files - via API - forFileUploadJobViaUpdate",
        },
    ],
    "additional_info": {
        "value": "Job no. 9563643080000561 triggered on Sun, 05 Oct 2025 09:11:32 GMT",
        "link": "https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/jobs/M50173/instances/9563643080000561",
    },
    "link": "https://api-na.hosted.exlibrisgroup.com/almaws/v1/conf/jobs/M50173",
}


def test_a_real_run_answer_names_its_instance() -> None:
    run = Job.from_dict(REAL_RUN_ANSWER)
    assert run.instance_id == "9563643080000561"
    assert run.parameters["set_id"] == "9563211250000561"
    assert job_instance_ids(run) == ("M50173", "9563643080000561")
    finished = JobInstance.from_xml((FIXTURES / "job-instance.xml").read_bytes())
    assert finished.is_finished
    assert not finished.failed
    assert finished.counter_values["import_research_assets_files.asset_failed"] == 1
    with pytest.raises(ValueError, match="instance link"):
        job_instance_ids(Job.from_dict({"id": "M50173"}))


async def create_the_set_checked(client: EsploroClient, recorder: Recorder) -> Set:
    """Create the itemized IER set; check the request body is the real one and the answer."""
    s = await client.config.sets.create("Files to load", description="via the API")
    assert recorder.last().url.path == "/almaws/v1/conf/sets"
    assert recorder.last_json() == {
        "name": "Files to load",
        "type": {"value": "ITEMIZED"},
        "content": {"value": "IER"},
        "private": {"value": "true"},
        "status": {"value": "ACTIVE"},
        "description": "via the API",
    }
    assert s.id
    assert s.type is not None
    assert s.type.value == "ITEMIZED"
    assert s.number_of_members == 0
    return s


async def manage_members_checked(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder, set_id: str, ids: list[str]
) -> None:
    """An unknown id refuses the whole add unless told not to fail; list and remove members."""
    members = client.config.sets.members(set_id)
    with pytest.raises(BadRequestError) as refused:
        await members.add([*ids, "nope"])
    assert refused.value.error_code == "402886"
    updated = await members.add([*ids, "nope"], fail_on_invalid_id=False)
    assert updated.number_of_members == 3
    call = calls(gw)[-1]
    assert call.path == f"/almaws/v1/conf/sets/{set_id}"
    assert query(call) == {"op": "add_members", "fail_on_invalid_id": "false"}
    assert recorder.last_json() == {"members": {"member": [{"id": i} for i in [*ids, "nope"]]}}
    assert [m.id async for m in members.list()] == ids
    assert (await members.remove([ids[2]])).number_of_members == 2


async def run_the_job_checked(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder, set_id: str
) -> Job:
    """Run M50173 on the set: the real request shape, and an answer naming its instance."""
    run = await client.config.jobs.run("M50173", {"set_id": set_id, "job_name": "load"})
    assert calls(gw)[-1].path == "/almaws/v1/conf/jobs/M50173"
    assert query(calls(gw)[-1]) == {"op": "run"}
    assert recorder.last_json() == {
        "parameter": [
            {"name": {"value": "set_id"}, "value": set_id},
            {"name": {"value": "job_name"}, "value": "load"},
        ]
    }
    assert run.instance_id is not None
    assert (run.additional_info or "").startswith(f"Job no. {run.instance_id} triggered on")
    return run


def assert_progress_shown_in_order(seen: list[tuple[str | None, float | None]]) -> None:
    """The statuses go from queued or running to completed; the progress only grows to 100."""
    statuses = [status for status, _ in seen]
    assert statuses[0] in ("QUEUED", "RUNNING")
    assert statuses[-1] == "COMPLETED_SUCCESS"
    assert "RUNNING" in statuses
    progress = [p or 0 for _, p in seen]
    assert progress == sorted(progress)
    assert progress[-1] == 100


def assert_polls_of_one_instance_slow_down(gw: SimulatedGateway, instance_id: str) -> None:
    polls = calls(gw)
    assert {r.path for r in polls} == {f"/almaws/v1/conf/jobs/M50173/instances/{instance_id}"}
    gaps = [b.arrival - a.arrival for a, b in itertools.pairwise(polls)]
    assert gaps == sorted(gaps)  # the wait between polls only grows
    assert gaps[-1] > gaps[0]


async def test_load_files_through_a_set_and_a_job(
    client: EsploroClient, gw: SimulatedGateway, recorder: Recorder
) -> None:
    ids = gw.institution.assets.ids()[:3]
    for aid in ids[:2]:
        await client.assets.patch(
            aid, {"temporary": {"linksToExtract": [{"link.url": f"https://x.example/{aid}.pdf"}]}}
        )
    s = await create_the_set_checked(client, recorder)
    assert s.id
    await manage_members_checked(client, gw, recorder, s.id, ids)
    run = await run_the_job_checked(client, gw, recorder, s.id)
    assert run.instance_id is not None

    seen: list[tuple[str | None, float | None]] = []

    def progress_shown(instance: JobInstance) -> None:
        seen.append((instance.status.value if instance.status else None, instance.progress))

    gw.reset_log()
    done = await client.config.jobs.wait_for(run, poll_interval=0.5, on_progress=progress_shown)
    assert done.status is not None
    assert done.status.value == "COMPLETED_SUCCESS"
    assert done.counter_values == {
        "import_research_assets_files.asset_succeeded": 2,
        "import_research_assets_files.asset_partial_succeeded": 0,
        "import_research_assets_files.asset_failed": 0,
        "import_research_assets_files.file_uploaded": 2,
        "import_research_assets_files.file_failed_to_upload": 0,
        "import_research_assets_files.file_skipped_upload": 0,
    }
    assert_progress_shown_in_order(seen)
    assert_polls_of_one_instance_slow_down(gw, run.instance_id)

    await client.config.sets.delete(s.id)
    assert calls(gw)[-1].status == 204
    with pytest.raises(NotFoundError):
        await client.config.sets.get(s.id)


async def test_a_failed_job_raises_with_its_instance(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    gw.institution.job_outcomes["M50173"] = "COMPLETED_FAILED"
    s = await client.config.sets.create("Will fail")
    assert s.id is not None
    await client.config.sets.members(s.id).add(gw.institution.assets.ids()[:1])
    run = await client.config.jobs.run("M50173", {"set_id": s.id})
    with pytest.raises(JobFailedError, match="COMPLETED_FAILED") as failed:
        await client.config.jobs.wait_for(run, poll_interval=1.0)
    instance = failed.value.instance
    assert isinstance(instance, JobInstance)
    assert instance.failed
    assert [a.value for a in instance.alerts] == ["alert_general_failure"]


async def test_run_refuses_unknown_jobs_and_sets(client: EsploroClient) -> None:
    with pytest.raises(NotFoundError):
        await client.config.jobs.run("M0")
    with pytest.raises(NotFoundError):
        await client.config.jobs.run("M50173", {"set_id": "123"})
    with pytest.raises(ValueError, match="poll_interval"):
        await client.config.jobs.wait_for(Job.from_dict(REAL_RUN_ANSWER), poll_interval=0)

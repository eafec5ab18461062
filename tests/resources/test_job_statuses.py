"""``config.jobs.wait_for`` ends on every real job-instance status, within bounds.

The statuses are Ex Libris' ``systemJobStatus`` code table
(``tests/fixtures/public/codetable_response.json``, from scriptotek/php-alma-client); the
sample instance with status ``QUEUED`` and an ``end_time`` is Ex Libris' own
(``tests/fixtures/public/jobinstance_response.json``). The simulator ends a run in any of
the 14 statuses (``SyntheticInstitution.job_outcomes``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable
from pathlib import Path

import anyio
import httpx
import pytest
from resource_sim import BASE_URL, calls

from esploro_async import (
    EsploroClient,
    JobAbortedError,
    JobFailedError,
    JobManualHandlingError,
    JobWaitTimeoutError,
)
from esploro_async.models import (
    ACTIVE_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    JOB_STATUSES,
    MANUAL_HANDLING_REQUIRED,
    Job,
    JobInstance,
)
from esploro_async.testing import SimulatedGateway
from esploro_async.testing.institution import SimJobRun
from esploro_async.webhooks import WebhookReceiver, sign

pytestmark = pytest.mark.looptime
pytest_plugins = ["resource_fixtures"]

PUBLIC = Path(__file__).parent.parent / "fixtures" / "public"
RETURNING = {"COMPLETED_SUCCESS", "COMPLETED_NO_BULKS", "COMPLETED_WARNING", "SKIPPED"}
FAILING = {"COMPLETED_FAILED", "FAILED"}
ABORTING = {"USER_ABORTED", "SYSTEM_ABORTED"}


def test_the_status_list_is_ex_libris_code_table() -> None:
    table = json.loads((PUBLIC / "codetable_response.json").read_text())
    assert table["name"] == "systemJobStatus"
    assert tuple(row["code"] for row in table["row"]) == JOB_STATUSES
    # every status is exactly one of: still going, waiting for a person, ended
    for code in JOB_STATUSES:
        kinds = [code in ACTIVE_JOB_STATUSES, code == MANUAL_HANDLING_REQUIRED]
        kinds.append(code in FINISHED_JOB_STATUSES)
        assert kinds.count(True) == 1, code
    assert RETURNING | FAILING | ABORTING == FINISHED_JOB_STATUSES


def test_an_instance_with_an_end_time_has_ended_whatever_its_status() -> None:
    sample = JobInstance.from_dict(json.loads((PUBLIC / "jobinstance_response.json").read_text()))
    assert sample.status_code == "QUEUED"
    assert sample.end_time
    assert sample.is_finished
    assert not sample.failed


async def _run(client: EsploroClient, gw: SimulatedGateway, outcome: str) -> Job:
    gw.institution.job_outcomes["M50173"] = outcome
    s = await client.config.sets.create(f"ends {outcome}")
    assert s.id is not None
    await client.config.sets.members(s.id).add(gw.institution.assets.ids()[:2])
    return await client.config.jobs.run("M50173", {"set_id": s.id})


def _polls(gw: SimulatedGateway, run: Job) -> int:
    path = f"/almaws/v1/conf/jobs/M50173/instances/{run.instance_id}"
    return sum(1 for r in calls(gw) if r.path == path)


async def assert_the_wait_ends_as_the_status_says(
    wait: Awaitable[JobInstance], outcome: str, seen: list[str | None]
) -> None:
    """A returning or active status returns the instance; the others raise their own error
    (manual handling after its 120 s timeout, once the callback saw it)."""
    if outcome in RETURNING or outcome in ACTIVE_JOB_STATUSES:
        done = await wait  # an active status as the end still carries an end_time
        assert done.status_code == outcome
        assert done.end_time
    elif outcome in ABORTING:
        with pytest.raises(JobAbortedError, match=outcome) as aborted:
            await wait
        assert isinstance(aborted.value.instance, JobInstance)
    elif outcome in FAILING:
        with pytest.raises(JobFailedError, match=outcome) as failed:
            await wait
        assert not isinstance(failed.value, JobAbortedError)
    else:
        assert outcome == MANUAL_HANDLING_REQUIRED
        with pytest.raises(JobManualHandlingError, match="Monitor Jobs") as manual:
            await wait
        assert manual.value.waited >= 120.0
        assert seen[-1] == MANUAL_HANDLING_REQUIRED  # the callback saw it


@pytest.mark.parametrize("outcome", JOB_STATUSES)
async def test_wait_for_ends_on_every_status(
    client: EsploroClient, gw: SimulatedGateway, outcome: str
) -> None:
    run = await _run(client, gw, outcome)
    seen: list[str | None] = []
    started = anyio.current_time()
    wait = client.config.jobs.wait_for(
        run,
        poll_interval=1.0,
        manual_handling_timeout=120.0,
        deadline=3600.0,
        on_progress=lambda i: seen.append(i.status_code),
    )
    await assert_the_wait_ends_as_the_status_says(wait, outcome, seen)
    elapsed = anyio.current_time() - started
    assert elapsed < 200  # 4 s of run, plus 120 s of manual handling at most
    assert _polls(gw, run) <= 20


async def test_manual_handling_resolved_in_time_lets_the_wait_go_on(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    run = await _run(client, gw, MANUAL_HANDLING_REQUIRED)
    sim = gw.institution.job_runs[("M50173", run.instance_id or "")]

    def resolve_when_seen(instance: JobInstance) -> None:
        if instance.needs_manual_handling:
            sim.final_status = "COMPLETED_WARNING"  # a person resolved it

    done = await client.config.jobs.wait_for(
        run, poll_interval=1.0, manual_handling_timeout=60.0, on_progress=resolve_when_seen
    )
    assert done.status_code == "COMPLETED_WARNING"


async def test_the_wait_has_an_overall_deadline(
    client: EsploroClient, gw: SimulatedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SimJobRun, "base_seconds", 10 * 24 * 3600.0)  # a ten-day job
    run = await _run(client, gw, "COMPLETED_SUCCESS")
    started = anyio.current_time()
    with pytest.raises(JobWaitTimeoutError, match="not cancelled") as timed_out:
        await client.config.jobs.wait_for(run, deadline=900.0)
    assert 900.0 <= anyio.current_time() - started < 960.0
    assert isinstance(timed_out.value.instance, JobInstance)
    assert _polls(gw, run) <= 30


async def test_default_wait_is_bounded(
    client: EsploroClient, gw: SimulatedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SimJobRun, "base_seconds", 30 * 24 * 3600.0)
    run = await _run(client, gw, "COMPLETED_SUCCESS")
    with pytest.raises(JobWaitTimeoutError):
        await client.config.jobs.wait_for(run)
    assert _polls(gw, run) < 6 * 60 + 20  # at most one poll a minute for six hours


async def _post(receiver: WebhookReceiver, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["X-Exl-Signature"] = signature
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.localhost") as http:
        return await http.post("/", content=body, headers=headers)


async def test_a_job_end_webhook_ends_the_wait_in_two_requests(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    receiver = WebhookReceiver("hook-secret")
    run = await _run(client, gw, "COMPLETED_SUCCESS")
    instance_id = run.instance_id or ""
    answers: list[int] = []

    async def alma_sends_job_end() -> None:
        await anyio.sleep(10)  # the run has ended by then
        message = gw.api.job_end_webhook("M50173", instance_id, BASE_URL)
        body = json.dumps(message).encode()
        answers.append((await _post(receiver, body, sign(body, "hook-secret"))).status_code)

    result: list[JobInstance] = []
    started = anyio.current_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(alma_sends_job_end)
        result.append(await client.config.jobs.wait_for(run, events=receiver))
    assert answers == [204]
    assert result[0].status_code == "COMPLETED_SUCCESS"
    assert _polls(gw, run) == 2
    assert anyio.current_time() - started < 12


async def test_a_lost_webhook_falls_back_to_polling(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    receiver = WebhookReceiver("hook-secret")
    run = await _run(client, gw, "COMPLETED_SUCCESS")
    done = await client.config.jobs.wait_for(run, events=receiver, fallback_interval=30.0)
    assert done.status_code == "COMPLETED_SUCCESS"
    assert _polls(gw, run) == 2  # the first read, then the fallback poll 30 s later


async def test_a_job_end_that_came_first_costs_one_request(
    client: EsploroClient, gw: SimulatedGateway
) -> None:
    receiver = WebhookReceiver("hook-secret")
    run = await _run(client, gw, "COMPLETED_SUCCESS")
    await anyio.sleep(10)
    body = json.dumps(gw.api.job_end_webhook("M50173", run.instance_id or "", BASE_URL)).encode()
    assert (await _post(receiver, body, sign(body, "hook-secret"))).status_code == 204
    assert (receiver.job_end(run.instance_id or "") or {})["status"]["value"] == "COMPLETED_SUCCESS"
    await client.config.jobs.wait_for(run, events=receiver)
    assert _polls(gw, run) == 1


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    # The test vector of MITLibraries/alma-webhook-lambdas (tests/conftest.py): secret
    # "itsasecret", body {"action": "JOB_END"} as json.dumps writes it.
    body = json.dumps({"action": "JOB_END"}).encode()
    assert sign(body, "itsasecret") == "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uE="
    receiver = WebhookReceiver("itsasecret")
    assert receiver.verify(body, "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uE=")
    assert not receiver.verify(body + b" ", "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uE=")
    assert "itsasecret" not in repr(receiver)


async def test_the_receiver_answers_the_challenge() -> None:
    receiver = WebhookReceiver("s3cret", max_body_bytes=1000)
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.localhost") as http:
        challenge = await http.get("/", params={"challenge": "abc 123"})
        assert challenge.status_code == 200
        assert challenge.json() == {"challenge": "abc 123"}
        assert (await http.get("/")).status_code == 400
        assert (await http.put("/", content=b"{}")).status_code == 405
    assert receiver.rejected == 0  # it counts refused events, not these


async def test_the_receiver_refuses_what_is_not_alma_and_takes_a_signed_job_end() -> None:
    seen: list[dict[str, object]] = []
    receiver = WebhookReceiver("s3cret", max_body_bytes=1000, on_event=seen.append)
    job_end = json.dumps({"action": "JOB_END", "job_instance": {"id": "42"}}).encode()
    assert (await _post(receiver, job_end, None)).status_code == 401
    assert (await _post(receiver, job_end, sign(job_end, "other"))).status_code == 401
    assert (await _post(receiver, b"[1]", sign(b"[1]", "s3cret"))).status_code == 400
    big = b"{" + b" " * 2000 + b"}"
    assert (await _post(receiver, big, sign(big, "s3cret"))).status_code == 413
    assert receiver.rejected == 4
    assert receiver.job_end("42") is None
    assert seen == []
    assert (await _post(receiver, job_end, sign(job_end, "s3cret"))).status_code == 204
    assert receiver.job_end("42") == {"id": "42"}
    assert seen == [{"action": "JOB_END", "job_instance": {"id": "42"}}]


def most_polls(poll: float, largest: float, deadline: float) -> int:
    """Polls of the back-off series from ``poll`` to ``largest``, cut at the deadline."""
    bound, delay, t = 1, poll, 0.0
    while t < deadline:
        t += delay
        delay = min(largest, delay * 1.5)
        bound += 1
    return bound


def assert_ended_as_the_status_says(
    outcome: str, ended: type[Exception] | None, elapsed: float, deadline: float
) -> None:
    """The wait timed out at its deadline, or ended in the error (or none) of the status."""
    if ended is JobWaitTimeoutError:
        assert elapsed >= deadline - 1e-6
    elif outcome in ABORTING:
        assert ended is JobAbortedError
    elif outcome in FAILING:
        assert ended is JobFailedError
    elif outcome == MANUAL_HANDLING_REQUIRED:
        assert ended is JobManualHandlingError
    else:  # a finished success, or an active status that came with an end_time
        assert ended is None


@pytest.mark.parametrize("seed", range(12))
async def test_every_wait_is_bounded_over_random_schedules(
    client: EsploroClient, gw: SimulatedGateway, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Whatever the outcome, the job's length and the pacing: the wait ends by its deadline
    (plus one poll), with at most the polls its back-off allows, in the way the status says."""
    rng = random.Random(seed)
    outcome = rng.choice(JOB_STATUSES)
    monkeypatch.setattr(SimJobRun, "base_seconds", rng.choice([1.0, 30.0, 600.0, 50_000.0]))
    poll, largest = rng.uniform(0.5, 5.0), rng.uniform(5.0, 120.0)
    deadline, manual = rng.uniform(60.0, 3000.0), rng.uniform(0.0, 900.0)
    run = await _run(client, gw, outcome)
    started = anyio.current_time()
    try:
        done = await client.config.jobs.wait_for(
            run,
            poll_interval=poll,
            max_interval=largest,
            deadline=deadline,
            manual_handling_timeout=manual,
        )
        ended: type[Exception] | None = None
        assert done.is_finished
    except (JobFailedError, JobManualHandlingError, JobWaitTimeoutError) as exc:
        ended = type(exc)
    elapsed = anyio.current_time() - started
    assert elapsed <= deadline + 5.0
    assert _polls(gw, run) <= most_polls(poll, largest, deadline) + 1
    assert_ended_as_the_status_says(outcome, ended, elapsed, deadline)


async def test_an_hour_long_job_costs_two_requests_with_the_webhook_not_68(
    client: EsploroClient, gw: SimulatedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SimJobRun, "base_seconds", 3500.0)
    receiver = WebhookReceiver("hook-secret")
    polled = await _run(client, gw, "COMPLETED_SUCCESS")
    await client.config.jobs.wait_for(polled)  # the default back-off, no webhook
    hooked = await _run(client, gw, "COMPLETED_SUCCESS")

    async def alma_sends_job_end() -> None:
        await anyio.sleep(3520)
        message = gw.api.job_end_webhook("M50173", hooked.instance_id or "", BASE_URL)
        body = json.dumps(message).encode()
        await _post(receiver, body, sign(body, "hook-secret"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(alma_sends_job_end)
        done = await client.config.jobs.wait_for(hooked, events=receiver)
    assert done.status_code == "COMPLETED_SUCCESS"
    assert _polls(gw, hooked) == 2
    assert _polls(gw, polled) >= 60

"""``client.config.jobs``: job definitions, runs (``op=run``) and their instances.

Every path is under ``/almaws/v1/conf/jobs``: the real payloads link there (the job list,
job details and job instance of ``tests/fixtures/real``), and the Esploro files-loader
Cloud App runs ``POST /almaws/v1/conf/jobs/{id}?op=run`` with a ``parameter`` list and
polls the instance named by ``additional_info.link`` (``jobs-post-api.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from typing_extensions import Unpack

from esploro_async.errors import (
    JobAbortedError,
    JobFailedError,
    JobManualHandlingError,
    JobWaitTimeoutError,
)
from esploro_async.models import Job, JobInstance
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import Resource, StreamOptions, Timeout, json_object
from esploro_async.resources._paths import segment

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient
    from esploro_async.webhooks import WebhookReceiver

__all__ = ["JobInstances", "Jobs", "ProgressCallback", "job_instance_ids"]

JOBS = "/almaws/v1/conf/jobs"

ProgressCallback = Callable[[JobInstance], object]
"""Called with each polled `JobInstance` (status, progress, counters so far)."""


def _job(data: dict[str, Any]) -> Job:
    return Job.adopt(data, view="brief")


def _instance(data: dict[str, Any]) -> JobInstance:
    return JobInstance.adopt(data, view="brief")


def job_instance_ids(run: Job | JobInstance | str) -> tuple[str, str]:
    """``(job id, instance id)`` from a run answer, an instance, or an instance link.

    A run answer names its instance in ``additional_info.link``; an instance has its own
    ``link`` (``.../conf/jobs/{job}/instances/{instance}``) or ``job_info.id``.
    """
    link: str | None
    if isinstance(run, Job):
        link = run.instance_link
    elif isinstance(run, JobInstance):
        link = run.link
        info = run.job_info
        if not link and info is not None and info.id and run.id:
            return info.id, run.id
    else:
        link = run
    parts = (link or "").split("?", 1)[0].rstrip("/").split("/")
    if len(parts) >= 3 and parts[-2] == "instances" and parts[-3] and parts[-1]:
        return parts[-3], parts[-1]
    raise ValueError(f"cannot tell the job and instance of {run!r}: no instance link")


class JobInstances(Resource):
    """The instances (runs) of one job: ``client.config.jobs.instances(job_id)``."""

    def __init__(self, client: BaseClient, job_id: str) -> None:
        super().__init__(client)
        self.job_id = job_id
        self._path = f"{JOBS}/{segment(job_id, 'job id')}/instances"

    def list(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[JobInstance]:
        """The job's instances as brief records (list key ``job_instance``)."""
        return self._stream(self._path, "job_instance", _instance, params or {}, options)

    async def get(
        self,
        instance_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> JobInstance:
        """One instance: status, progress, counters, alerts:

        ```python
        run = await client.config.jobs.instances("M50173").get("9563643080000561")
        print(run.status, run.progress, run.is_finished, run.counter_values)
        ```

        `NotFoundError` if unknown.
        """
        data = await self._get_object(
            f"{self._path}/{segment(instance_id, 'job instance id')}",
            params,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return JobInstance.adopt(data, view="full")


class Jobs(Resource):
    """Job definitions, ``run``, instances and `wait_for`."""

    def list(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Job]:
        """Every job definition (list key ``job``); filters such as ``type`` go in ``params``:

        ```python
        async for job in client.config.jobs.list(params={"type": "MANUAL"}):
            print(job.id, job.name, job.category)
        ```
        """
        return self._stream(JOBS, "job", _job, params or {}, options)

    def __call__(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Job]:
        """Deprecated: ``client.config.jobs()`` is ``client.config.jobs.list()``."""
        warnings.warn(
            "client.config.jobs() is deprecated; use client.config.jobs.list()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.list(params=params, **options)

    async def get(
        self,
        job_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Job:
        """One job definition by id (e.g. ``M50173``). `NotFoundError` if unknown."""
        data = await self._get_object(
            f"{JOBS}/{segment(job_id, 'job id')}",
            params,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Job.adopt(data, view="full")

    async def run(
        self,
        job_id: str,
        parameters: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Job:
        """Run a manual job now (``POST .../jobs/{id}?op=run``) with job ``parameters``.

        Returns the API's answer: ``instance_id``/``instance_link`` name the new instance;
        pass the answer to `wait_for`. Never replayed after an ambiguous failure (the job
        would run twice):

        ```python
        run = await client.config.jobs.run("M50173", {"set_id": s.id})
        done = await client.config.jobs.wait_for(run)
        print(done.status, done.counter_values)
        ```
        """
        body = {
            "parameter": [
                {"name": {"value": str(name)}, "value": str(value)}
                for name, value in (parameters or {}).items()
            ]
        }
        response = await self._request(
            "POST",
            f"{JOBS}/{segment(job_id, 'job id')}",
            params={**(params or {}), "op": "run"},
            json=body,
            format="json",
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return Job.adopt(json_object(response), view="full")

    def instances(self, job_id: str) -> JobInstances:
        """The instances of job ``job_id``: ``.list()``, ``.get(instance_id)``."""
        return JobInstances(self._client, job_id)

    async def wait_for(
        self,
        run: Job | JobInstance | str,
        *,
        poll_interval: float = 2.0,
        max_interval: float = 60.0,
        backoff: float = 1.5,
        deadline: float | None = 6 * 3600.0,
        manual_handling_timeout: float = 600.0,
        events: WebhookReceiver | None = None,
        fallback_interval: float = 3600.0,
        on_progress: ProgressCallback | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> JobInstance:
        """Poll a job instance until it ends; return it, or raise.

        ``run`` is the answer of `run`, a `JobInstance`, or an instance link. Polls go
        through governance like every request; the wait between polls starts at
        ``poll_interval`` seconds and grows by ``backoff`` up to ``max_interval``.
        ``on_progress`` gets every polled instance (also one that needs manual handling):

        ```python
        done = await client.config.jobs.wait_for(
            run, on_progress=lambda i: print(i.status, i.progress)
        )
        ```

        The instance has ended when it has an ``end_time`` or a finished status of
        Ex Libris' ``systemJobStatus`` table (see ``esploro_async.models.JOB_STATUSES``).
        ``COMPLETED_SUCCESS``, ``COMPLETED_WARNING``, ``COMPLETED_NO_BULKS`` and
        ``SKIPPED`` return the instance.

        With ``events`` (a `esploro_async.webhooks.WebhookReceiver` that Alma's ``JOB_END``
        webhooks reach), the wait sleeps until the instance's ``JOB_END`` arrives, then
        reads the instance once more: a job that ends within ``fallback_interval`` (an
        hour) costs two requests. In case a webhook is lost it also polls after
        ``fallback_interval`` seconds, then after twice that, and so on (a six-hour job:
        four requests).

        Raises:
            JobFailedError: the instance ended ``FAILED`` or ``COMPLETED_FAILED``.
            JobAbortedError: it ended ``USER_ABORTED`` or ``SYSTEM_ABORTED``.
            JobManualHandlingError: it stayed ``MANUAL_HANDLING_REQUIRED`` for
                ``manual_handling_timeout`` seconds: a person must resolve it in Alma.
            JobWaitTimeoutError: ``deadline`` seconds passed (``None``: no deadline);
                the job was not cancelled.
        """
        job_id, instance_id = job_instance_ids(run)
        wait = _JobWait(f"job {job_id} instance {instance_id}", deadline, manual_handling_timeout)
        wait.pacing(poll_interval, max_interval, backoff, fallback_interval)
        instances = self.instances(job_id)
        if events is not None:
            wait.signal = events.signal(instance_id)
        try:
            while True:
                instance = await instances.get(
                    instance_id, extra_headers=extra_headers, timeout=timeout
                )
                if on_progress is not None:
                    on_progress(instance)
                if instance.is_finished:
                    return _outcome(job_id, instance_id, instance)
                await wait.pause(instance)
        finally:
            if events is not None:
                events.forget(instance_id)


async def _sleep_or_signal(seconds: float, signal: anyio.Event) -> bool:
    """Sleep ``seconds`` or until ``signal``; ``True`` when the signal woke it."""
    with anyio.move_on_after(seconds):
        await signal.wait()
    return signal.is_set()


class _JobWait:
    """The bounds of one ``wait_for``: back-off, deadline, manual-handling allowance."""

    def __init__(self, where: str, deadline: float | None, manual_timeout: float) -> None:
        if (deadline is not None and deadline <= 0) or manual_timeout < 0:
            raise ValueError("need deadline > 0 (or None) and manual_handling_timeout >= 0")
        self.signal: anyio.Event | None = None
        """Set when the instance's ``JOB_END`` webhook arrives (``None``: poll only)."""
        self.where = where
        self.deadline = deadline
        self.manual_timeout = manual_timeout
        self.started = anyio.current_time()
        self.manual_since: float | None = None
        self.delay = self.max_interval = self.fallback = 1.0
        self.backoff = 1.0

    def pacing(self, first: float, largest: float, backoff: float, fallback: float) -> None:
        """Poll after ``first`` seconds, growing by ``backoff`` up to ``largest``; with a
        webhook, after ``fallback`` seconds, doubling each time."""
        if first <= 0 or largest < first or backoff < 1:
            raise ValueError("need 0 < poll_interval <= max_interval and backoff >= 1")
        self.delay, self.max_interval, self.backoff, self.fallback = (
            first,
            largest,
            backoff,
            fallback,
        )

    async def pause(self, instance: JobInstance) -> None:
        """Wait until the next poll: a sleep, cut short by the webhook signal once."""
        seconds = self.next_pause(instance, self.signal is not None)
        if self.signal is None:
            await anyio.sleep(seconds)
        elif await _sleep_or_signal(seconds, self.signal):
            self.signal = None  # woken once; if the next read disagrees, poll as usual

    def next_pause(self, instance: JobInstance, webhook: bool) -> float:
        """Seconds until the next poll, or raise when a bound is passed."""
        now = anyio.current_time()
        if instance.needs_manual_handling:
            if self.manual_since is None:
                self.manual_since = now
            waited = now - self.manual_since
            if waited >= self.manual_timeout:
                raise JobManualHandlingError(
                    f"{self.where} needs manual handling (MANUAL_HANDLING_REQUIRED for "
                    f"{waited:.0f} s): resolve it in Alma/Esploro (Monitor Jobs), then wait "
                    "again",
                    instance=instance,
                    waited=waited,
                )
        else:
            self.manual_since = None
        pause = self.fallback if webhook else self.delay
        if webhook:
            self.fallback *= 2  # a lost webhook is caught; a long job pays a few polls
        self.delay = min(self.max_interval, self.delay * self.backoff)
        if self.deadline is None:
            return pause
        left = self.started + self.deadline - now
        if left <= 0:
            status = instance.status_code or "without a status"
            raise JobWaitTimeoutError(
                f"{self.where} still {status} after the {self.deadline:.0f} s deadline of "
                "the wait; the job was not cancelled: wait again or check it in Alma",
                instance=instance,
                deadline=self.deadline,
            )
        return min(pause, left)


def _outcome(job_id: str, instance_id: str, instance: JobInstance) -> JobInstance:
    """``instance`` if it ended well, else the typed error of how it ended."""
    if not instance.failed:
        return instance
    status = instance.status
    message = (
        f"job {job_id} instance {instance_id} ended "
        f"{status.value if status else 'without a status'}"
        + (f" ({status.desc})" if status and status.desc else "")
    )
    if instance.aborted:
        raise JobAbortedError(message + ": run it again once the cause is known", instance=instance)
    raise JobFailedError(message, instance=instance)

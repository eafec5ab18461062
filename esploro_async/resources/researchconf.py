"""``client.config``: ``/esploro/v1/researchconf`` (sets, code tables, import profiles, jobs).

Mapping tables, which live under ``/esploro/v1/conf``, are on the same object (see
`esploro_async.resources.conf`). Everything here is read-only: Esploro's ``researchconf``
writes are unconfirmed (use Alma's ``/almaws/v1/conf`` through ``client.request``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from typing_extensions import Unpack

from esploro_async.models import CodeTable, ImportProfile, Job, JobInstance, Set, SetMember
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import ApiTestResult, StreamOptions
from esploro_async.resources.conf import MappingTablesMixin
from esploro_async.session import quote_segment

__all__ = ["Configuration"]


def _set(data: dict[str, Any]) -> Set:
    return Set.adopt(data, view="brief")


def _member(data: dict[str, Any]) -> SetMember:
    return SetMember.adopt(data, view="brief")


def _profile(data: dict[str, Any]) -> ImportProfile:
    return ImportProfile.adopt(data, view="brief")


def _job(data: dict[str, Any]) -> Job:
    return Job.adopt(data, view="brief")


def _instance(data: dict[str, Any]) -> JobInstance:
    return JobInstance.adopt(data, view="brief")


def _seg(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"a {what} is required")
    return quote_segment(value)


class Configuration(MappingTablesMixin):
    """Esploro configuration: sets, code tables, import profiles, jobs, mapping tables."""

    path = "/esploro/v1/researchconf"

    # -- sets ---------------------------------------------------------------------------
    def sets(
        self,
        *,
        content_type: Literal["IER", "RESEARCHERS"] | str | None = None,
        q: str | None = None,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Set]:
        """Sets, optionally by content type (``IER`` = research assets, ``RESEARCHERS``) and
        brief search ``q`` (e.g. ``"name~FilesLoader"``)::

            async for s in client.config.sets(content_type="IER", q="name~FilesLoader"):
                print(s.id, s.name, s.number_of_members)
        """
        query = {**(params or {}), "content_type": content_type, "q": q}
        return self._stream(f"{self.path}/sets", "set", _set, query, options)

    async def get_set(self, set_id: str, *, params: Mapping[str, Any] | None = None) -> Set:
        """One set by id. `NotFoundError` if unknown."""
        data = await self._get_object(f"{self.path}/sets/{_seg(set_id, 'set id')}", params)
        return Set.adopt(data, view="full")

    def set_members(
        self,
        set_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[SetMember]:
        """The members of a set (list key ``member``): ids and links::

        ids = [m.id async for m in client.config.set_members("9563654780000561")]
        """
        path = f"{self.path}/sets/{_seg(set_id, 'set id')}/members"
        return self._stream(path, "member", _member, params or {}, options)

    # -- code tables ---------------------------------------------------------------------
    async def code_table(self, name: str, *, params: Mapping[str, Any] | None = None) -> CodeTable:
        """A code table by name (e.g. ``UserTitles``)::

            titles = (await client.config.code_table("UserTitles")).as_mapping()

        `NotFoundError` if unknown.
        """
        data = await self._get_object(
            f"{self.path}/code-tables/{_seg(name, 'code table name')}", params
        )
        return CodeTable.adopt(data, view="full")

    # -- import profiles -----------------------------------------------------------------
    def import_profiles(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[ImportProfile]:
        """Every metadata import profile (list key ``import_profile``)."""
        return self._stream(
            f"{self.path}/md-import-profiles", "import_profile", _profile, params or {}, options
        )

    async def import_profile(
        self, profile_id: str, *, params: Mapping[str, Any] | None = None
    ) -> ImportProfile:
        """One metadata import profile by id. `NotFoundError` if unknown."""
        path = f"{self.path}/md-import-profiles/{_seg(profile_id, 'profile id')}"
        return ImportProfile.adopt(await self._get_object(path, params), view="full")

    # -- jobs ----------------------------------------------------------------------------
    def jobs(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Job]:
        """Every job definition (list key ``job``); filters such as ``type`` go in ``params``::

        async for job in client.config.jobs():
            print(job.id, job.name, job.category)
        """
        return self._stream(f"{self.path}/jobs", "job", _job, params or {}, options)

    async def job(self, job_id: str, *, params: Mapping[str, Any] | None = None) -> Job:
        """One job definition by id (e.g. ``M50173``). `NotFoundError` if unknown."""
        data = await self._get_object(f"{self.path}/jobs/{_seg(job_id, 'job id')}", params)
        return Job.adopt(data, view="full")

    def job_instances(
        self,
        job_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[JobInstance]:
        """The instances (runs) of a job, as brief records (list key ``job_instance``)."""
        path = f"{self.path}/jobs/{_seg(job_id, 'job id')}/instances"
        return self._stream(path, "job_instance", _instance, params or {}, options)

    async def job_instance(
        self, job_id: str, instance_id: str, *, params: Mapping[str, Any] | None = None
    ) -> JobInstance:
        """One job instance: status, progress, counters, alerts::

            run = await client.config.job_instance("M50173", "9563643080000561")
            print(run.status, run.progress, run.is_finished, run.counter_values)

        `NotFoundError` if unknown.
        """
        path = (
            f"{self.path}/jobs/{_seg(job_id, 'job id')}"
            f"/instances/{_seg(instance_id, 'instance id')}"
        )
        return JobInstance.adopt(await self._get_object(path, params), view="full")

    # -- test ----------------------------------------------------------------------------
    async def test(self, *, write: bool = False) -> ApiTestResult:
        """Check the key's read (``GET``) or write (``POST``) permission on ``researchconf``."""
        return await self._area_test(f"{self.path}/test", write=write)

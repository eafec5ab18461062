"""Blocking ``client.config`` (see `esploro_async.resources.researchconf`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from typing_extensions import Unpack

from esploro_async.models import CodeTable, ImportProfile, Job, JobInstance, Set, SetMember
from esploro_async.resources import ApiTestResult, Configuration, StreamOptions
from esploro_async.sync._streams import OffsetStream
from esploro_async.sync.conf import SyncMappingTablesMixin

__all__ = ["SyncConfiguration"]


class SyncConfiguration(SyncMappingTablesMixin[Configuration]):
    """Blocking version of `esploro_async.resources.Configuration`."""

    def sets(
        self,
        *,
        content_type: Literal["IER", "RESEARCHERS"] | str | None = None,
        q: str | None = None,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[Set]:
        """Blocking version of `esploro_async.resources.Configuration.sets`."""
        return self._stream(
            self._area.sets.list(content_type=content_type, q=q, params=params, **options)
        )

    def get_set(self, set_id: str, *, params: Mapping[str, Any] | None = None) -> Set:
        """Blocking version of `esploro_async.resources.Configuration.get_set`."""
        return self._handle.run(self._area.sets.get(set_id, params=params))

    def set_members(
        self,
        set_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[SetMember]:
        """Blocking version of `esploro_async.resources.Configuration.set_members`."""
        return self._stream(self._area.sets.members(set_id).list(params=params, **options))

    def code_table(self, name: str, *, params: Mapping[str, Any] | None = None) -> CodeTable:
        """Blocking version of `esploro_async.resources.Configuration.code_table`."""
        return self._handle.run(self._area.code_table(name, params=params))

    def import_profiles(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[ImportProfile]:
        """Blocking version of `esploro_async.resources.Configuration.import_profiles`."""
        return self._stream(self._area.import_profiles(params=params, **options))

    def import_profile(
        self, profile_id: str, *, params: Mapping[str, Any] | None = None
    ) -> ImportProfile:
        """Blocking version of `esploro_async.resources.Configuration.import_profile`."""
        return self._handle.run(self._area.import_profile(profile_id, params=params))

    def jobs(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[Job]:
        """Blocking version of `esploro_async.resources.Configuration.jobs`."""
        return self._stream(self._area.jobs.list(params=params, **options))

    def job(self, job_id: str, *, params: Mapping[str, Any] | None = None) -> Job:
        """Blocking version of `esploro_async.resources.Configuration.job`."""
        return self._handle.run(self._area.jobs.get(job_id, params=params))

    def job_instances(
        self,
        job_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[JobInstance]:
        """Blocking version of `esploro_async.resources.Configuration.job_instances`."""
        return self._stream(self._area.jobs.instances(job_id).list(params=params, **options))

    def job_instance(
        self, job_id: str, instance_id: str, *, params: Mapping[str, Any] | None = None
    ) -> JobInstance:
        """Blocking version of `esploro_async.resources.Configuration.job_instance`."""
        return self._handle.run(self._area.jobs.instances(job_id).get(instance_id, params=params))

    def test(self, *, write: bool = False) -> ApiTestResult:
        """Blocking version of `esploro_async.resources.Configuration.test`."""
        return self._handle.run(self._area.test(write=write))

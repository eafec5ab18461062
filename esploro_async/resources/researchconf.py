"""``client.config``: the configuration area, one object with sub-resources.

* ``client.config.sets``: sets and members (`esploro_async.resources.config_sets`);
* ``client.config.jobs``: jobs, runs, instances and ``wait_for``
  (`esploro_async.resources.config_jobs`);
* code tables and metadata import profiles (``/esploro/v1/researchconf``, below);
* mapping tables (``/esploro/v1/conf``, `esploro_async.resources.conf`).

The flat verbs of 0.1 (``sets()``, ``get_set()``, ``set_members()``, ``jobs()``, ``job()``,
``job_instances()``, ``job_instance()``) still work, with a ``DeprecationWarning``, until 0.3.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from esploro_async.models import CodeTable, ImportProfile, Job, JobInstance, Set, SetMember
from esploro_async.pagination import OffsetStream
from esploro_async.resources._base import ApiTestResult, StreamOptions, Timeout
from esploro_async.resources._code_tables import get_code_table
from esploro_async.resources._paths import segment
from esploro_async.resources.conf import MappingTablesMixin
from esploro_async.resources.config_jobs import Jobs
from esploro_async.resources.config_sets import Sets

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient

__all__ = ["Configuration"]


def _profile(data: dict[str, Any]) -> ImportProfile:
    return ImportProfile.adopt(data, view="brief")


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"client.config.{old} is deprecated; use client.config.{new} (removed in 0.3)",
        DeprecationWarning,
        stacklevel=3,
    )


class Configuration(MappingTablesMixin):
    """Configuration: ``sets``, ``jobs``, code tables, import profiles, mapping tables."""

    path = "/esploro/v1/researchconf"

    def __init__(self, client: BaseClient) -> None:
        super().__init__(client)
        self.sets: Sets = Sets(client)
        """Sets and their members."""
        self.jobs: Jobs = Jobs(client)
        """Jobs, runs and instances."""

    # -- code tables (researchconf: Esploro Cloud App services) ---------------------------
    async def code_table(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> CodeTable:
        """A code table by name (e.g. ``UserTitles``), from
        ``/esploro/v1/researchconf/code-tables/{name}`` (Esploro Cloud App services):

        ```python
        titles = (await client.config.code_table("UserTitles")).as_mapping()
        ```

        `NotFoundError` if unknown.
        """
        return await get_code_table(
            self,
            f"{self.path}/code-tables",
            name,
            params,
            extra_headers=extra_headers,
            timeout=timeout,
        )

    # -- import profiles (researchconf: path listed by the Ex Libris QA launcher) ---------
    def import_profiles(
        self, *, params: Mapping[str, Any] | None = None, **options: Unpack[StreamOptions]
    ) -> OffsetStream[ImportProfile]:
        """Every metadata import profile (list key ``import_profile``), from
        ``/esploro/v1/researchconf/md-import-profiles`` (path listed by the Ex Libris QA
        launcher; no public answer seen)."""
        return self._stream(
            f"{self.path}/md-import-profiles", "import_profile", _profile, params or {}, options
        )

    async def import_profile(
        self,
        profile_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ImportProfile:
        """One metadata import profile by id (``.../md-import-profiles/{id}``, path listed by
        the Ex Libris QA launcher). `NotFoundError` if unknown."""
        path = f"{self.path}/md-import-profiles/{segment(profile_id, 'profile id')}"
        data = await self._get_object(path, params, extra_headers=extra_headers, timeout=timeout)
        return ImportProfile.adopt(data, view="full")

    # -- test ----------------------------------------------------------------------------
    async def test(
        self,
        *,
        write: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ApiTestResult:
        """Check the key's read (``GET``) or write (``POST``) permission on ``researchconf``."""
        return await self._area_test(
            f"{self.path}/test", write=write, extra_headers=extra_headers, timeout=timeout
        )

    # -- deprecated flat verbs (until 0.3) -----------------------------------------------
    async def get_set(self, set_id: str, *, params: Mapping[str, Any] | None = None) -> Set:
        """Deprecated: use ``client.config.sets.get(set_id)``."""
        _deprecated("get_set()", "sets.get()")
        return await self.sets.get(set_id, params=params)

    def set_members(
        self,
        set_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[SetMember]:
        """Deprecated: use ``client.config.sets.members(set_id).list()``."""
        _deprecated("set_members()", "sets.members(id).list()")
        return self.sets.members(set_id).list(params=params, **options)

    async def job(self, job_id: str, *, params: Mapping[str, Any] | None = None) -> Job:
        """Deprecated: use ``client.config.jobs.get(job_id)``."""
        _deprecated("job()", "jobs.get()")
        return await self.jobs.get(job_id, params=params)

    def job_instances(
        self,
        job_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[StreamOptions],
    ) -> OffsetStream[JobInstance]:
        """Deprecated: use ``client.config.jobs.instances(job_id).list()``."""
        _deprecated("job_instances()", "jobs.instances(id).list()")
        return self.jobs.instances(job_id).list(params=params, **options)

    async def job_instance(
        self, job_id: str, instance_id: str, *, params: Mapping[str, Any] | None = None
    ) -> JobInstance:
        """Deprecated: use ``client.config.jobs.instances(job_id).get(instance_id)``."""
        _deprecated("job_instance()", "jobs.instances(id).get()")
        return await self.jobs.instances(job_id).get(instance_id, params=params)

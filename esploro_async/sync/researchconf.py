"""Blocking ``client.config`` (see `esploro_async.resources.researchconf`)."""

from __future__ import annotations

from typing import Final

from esploro_async.resources import Configuration
from esploro_async.resources.config_jobs import JobInstances, Jobs
from esploro_async.resources.config_sets import SetMembers, Sets
from esploro_async.sync._base import SyncResource, area, blocking
from esploro_async.sync.conf import SyncMappingTablesMixin

__all__ = [
    "SyncConfiguration",
    "SyncJobInstances",
    "SyncJobs",
    "SyncSetMembers",
    "SyncSets",
]


class SyncSetMembers(SyncResource[SetMembers]):
    """Blocking version of `esploro_async.resources.config_sets.SetMembers`."""

    list: Final = blocking(SetMembers.list)
    add: Final = blocking(SetMembers.add)
    remove: Final = blocking(SetMembers.remove)


class SyncSets(SyncResource[Sets]):
    """Blocking version of `esploro_async.resources.config_sets.Sets`."""

    __call__: Final = blocking(Sets.__call__)
    list: Final = blocking(Sets.list)
    get: Final = blocking(Sets.get)
    create: Final = blocking(Sets.create)
    delete: Final = blocking(Sets.delete)
    members: Final = blocking(Sets.members, SyncSetMembers)


class SyncJobInstances(SyncResource[JobInstances]):
    """Blocking version of `esploro_async.resources.config_jobs.JobInstances`."""

    list: Final = blocking(JobInstances.list)
    get: Final = blocking(JobInstances.get)


class SyncJobs(SyncResource[Jobs]):
    """Blocking version of `esploro_async.resources.config_jobs.Jobs`."""

    __call__: Final = blocking(Jobs.__call__)
    list: Final = blocking(Jobs.list)
    get: Final = blocking(Jobs.get)
    run: Final = blocking(Jobs.run)
    wait_for: Final = blocking(Jobs.wait_for)
    instances: Final = blocking(Jobs.instances, SyncJobInstances)


class SyncConfiguration(SyncMappingTablesMixin[Configuration]):
    """Blocking version of `esploro_async.resources.Configuration`."""

    sets: Final = area(SyncSets)
    jobs: Final = area(SyncJobs)
    code_table: Final = blocking(Configuration.code_table)
    import_profiles: Final = blocking(Configuration.import_profiles)
    import_profile: Final = blocking(Configuration.import_profile)
    test: Final = blocking(Configuration.test)
    # deprecated flat verbs (until 0.3)
    get_set: Final = blocking(Configuration.get_set)
    set_members: Final = blocking(Configuration.set_members)
    job: Final = blocking(Configuration.job)
    job_instances: Final = blocking(Configuration.job_instances)
    job_instance: Final = blocking(Configuration.job_instance)

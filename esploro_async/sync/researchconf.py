"""Blocking ``client.config`` (see `esploro_async.resources.researchconf`)."""

from __future__ import annotations

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

    list = blocking(SetMembers.list)
    add = blocking(SetMembers.add)
    remove = blocking(SetMembers.remove)


class SyncSets(SyncResource[Sets]):
    """Blocking version of `esploro_async.resources.config_sets.Sets`."""

    __call__ = blocking(Sets.__call__)
    list = blocking(Sets.list)
    get = blocking(Sets.get)
    create = blocking(Sets.create)
    delete = blocking(Sets.delete)
    members = blocking(Sets.members, SyncSetMembers)


class SyncJobInstances(SyncResource[JobInstances]):
    """Blocking version of `esploro_async.resources.config_jobs.JobInstances`."""

    list = blocking(JobInstances.list)
    get = blocking(JobInstances.get)


class SyncJobs(SyncResource[Jobs]):
    """Blocking version of `esploro_async.resources.config_jobs.Jobs`."""

    __call__ = blocking(Jobs.__call__)
    list = blocking(Jobs.list)
    get = blocking(Jobs.get)
    run = blocking(Jobs.run)
    wait_for = blocking(Jobs.wait_for)
    instances = blocking(Jobs.instances, SyncJobInstances)


class SyncConfiguration(SyncMappingTablesMixin[Configuration]):
    """Blocking version of `esploro_async.resources.Configuration`."""

    sets = area(SyncSets)
    jobs = area(SyncJobs)
    code_table = blocking(Configuration.code_table)
    import_profiles = blocking(Configuration.import_profiles)
    import_profile = blocking(Configuration.import_profile)
    test = blocking(Configuration.test)
    # deprecated flat verbs (until 0.3)
    get_set = blocking(Configuration.get_set)
    set_members = blocking(Configuration.set_members)
    job = blocking(Configuration.job)
    job_instances = blocking(Configuration.job_instances)
    job_instance = blocking(Configuration.job_instance)

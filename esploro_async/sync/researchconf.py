"""Blocking ``client.config`` (see `esploro_async.resources.researchconf`)."""

from __future__ import annotations

from esploro_async.resources import Configuration
from esploro_async.sync._base import blocking
from esploro_async.sync.conf import SyncMappingTablesMixin

__all__ = ["SyncConfiguration"]


class SyncConfiguration(SyncMappingTablesMixin[Configuration]):
    """Blocking version of `esploro_async.resources.Configuration`."""

    sets = blocking(Configuration.sets)
    get_set = blocking(Configuration.get_set)
    set_members = blocking(Configuration.set_members)
    code_table = blocking(Configuration.code_table)
    import_profiles = blocking(Configuration.import_profiles)
    import_profile = blocking(Configuration.import_profile)
    jobs = blocking(Configuration.jobs)
    job = blocking(Configuration.job)
    job_instances = blocking(Configuration.job_instances)
    job_instance = blocking(Configuration.job_instance)
    test = blocking(Configuration.test)

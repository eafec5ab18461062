"""The API areas, one module each; thin layers over `BaseClient.request` and the streams."""

from esploro_async.resources._base import (
    ApiTestResult,
    BriefRecordError,
    PatchFormatError,
    Resource,
    StreamOptions,
)
from esploro_async.resources.activities import Activities
from esploro_async.resources.analytics import Analytics
from esploro_async.resources.assets import MAX_IDS_PER_CALL, AssetBatch, Assets
from esploro_async.resources.conf import MappingTablesMixin
from esploro_async.resources.config_jobs import JobInstances, Jobs, job_instance_ids
from esploro_async.resources.config_sets import SetMembers, Sets
from esploro_async.resources.organizations import Organizations
from esploro_async.resources.researchconf import Configuration
from esploro_async.resources.researchers import DEFAULT_ORCID_SCOPES, OrcidToken, Researchers

__all__ = [
    "DEFAULT_ORCID_SCOPES",
    "MAX_IDS_PER_CALL",
    "Activities",
    "Analytics",
    "ApiTestResult",
    "AssetBatch",
    "Assets",
    "BriefRecordError",
    "Configuration",
    "JobInstances",
    "Jobs",
    "MappingTablesMixin",
    "OrcidToken",
    "Organizations",
    "PatchFormatError",
    "Researchers",
    "Resource",
    "SetMembers",
    "Sets",
    "StreamOptions",
    "job_instance_ids",
]

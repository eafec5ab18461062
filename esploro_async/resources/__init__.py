"""The API areas, one module each; thin layers over `BaseClient.request` and the streams.

Each area's module is loaded with the first use of one of its names (as `EsploroClient`
does with its areas): a script that uses one area loads only that one.
"""

import importlib
from typing import TYPE_CHECKING

from esploro_async.resources._base import (
    ApiTestResult,
    BriefRecordError,
    PatchFormatError,
    Resource,
    StreamOptions,
)

if TYPE_CHECKING:
    from esploro_async.resources.activities import Activities
    from esploro_async.resources.alma import Alma, AlmaAnalytics, AlmaUsers
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
    "Alma",
    "AlmaAnalytics",
    "AlmaUsers",
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

_MODULES = {
    "activities": ("Activities",),
    "alma": ("Alma", "AlmaAnalytics", "AlmaUsers"),
    "analytics": ("Analytics",),
    "assets": ("MAX_IDS_PER_CALL", "AssetBatch", "Assets"),
    "conf": ("MappingTablesMixin",),
    "config_jobs": ("JobInstances", "Jobs", "job_instance_ids"),
    "config_sets": ("SetMembers", "Sets"),
    "organizations": ("Organizations",),
    "researchconf": ("Configuration",),
    "researchers": ("DEFAULT_ORCID_SCOPES", "OrcidToken", "Researchers"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # loaded once: later look-ups find it directly
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Lossless typed models for Esploro records.

Every record class wraps the JSON object it was read from, verbatim, so that
``Model.from_dict(d).to_dict() == d`` for any JSON object ``d``; typed properties read and
write exactly their own keys. ``converter`` is a ``cattrs`` converter that knows them all
(the optional ``cattrs`` extra; loaded on first use).

Each record class is loaded with the first use of its name (an API area, a stream, a
script): a client that only sends `EsploroClient.request` never loads them.
"""

import importlib
from typing import TYPE_CHECKING

from esploro_async.models._base import Record, View
from esploro_async.models._codes import CodeValue, CodeValueLike

if TYPE_CHECKING:
    from esploro_async.models._converter import converter, make_converter
    from esploro_async.models._dates import PartialDate
    from esploro_async.models.activity import Activity
    from esploro_async.models.analytics import AnalyticsPath
    from esploro_async.models.asset import (
        Asset,
        AssetFile,
        AssetLink,
        Creator,
        assets_from_xml,
        assets_to_xml,
        build_asset_patch_xml,
    )
    from esploro_async.models.config import (
        CodeTable,
        CodeTableRow,
        ImportProfile,
        MappingTable,
        MappingTableRow,
        Set,
        SetMember,
    )
    from esploro_async.models.jobs import (
        ABORTED_JOB_STATUSES,
        ACTIVE_JOB_STATUSES,
        FAILED_JOB_STATUSES,
        FINISHED_JOB_STATUSES,
        JOB_STATUSES,
        MANUAL_HANDLING_REQUIRED,
        Job,
        JobCounter,
        JobInstance,
    )
    from esploro_async.models.organization import Organization
    from esploro_async.models.researcher import Researcher, ResearcherAffiliation

    RECORD_CLASSES: tuple[type[Record], ...]
    """Every concrete record class."""

__all__ = [
    "ABORTED_JOB_STATUSES",
    "ACTIVE_JOB_STATUSES",
    "FAILED_JOB_STATUSES",
    "FINISHED_JOB_STATUSES",
    "JOB_STATUSES",
    "MANUAL_HANDLING_REQUIRED",
    "RECORD_CLASSES",
    "Activity",
    "AnalyticsPath",
    "Asset",
    "AssetFile",
    "AssetLink",
    "CodeTable",
    "CodeTableRow",
    "CodeValue",
    "CodeValueLike",
    "Creator",
    "ImportProfile",
    "Job",
    "JobCounter",
    "JobInstance",
    "MappingTable",
    "MappingTableRow",
    "Organization",
    "PartialDate",
    "Record",
    "Researcher",
    "ResearcherAffiliation",
    "Set",
    "SetMember",
    "View",
    "assets_from_xml",
    "assets_to_xml",
    "build_asset_patch_xml",
    "converter",
    "make_converter",
]

_MODULES = {
    "_dates": ("PartialDate",),
    "activity": ("Activity",),
    "analytics": ("AnalyticsPath",),
    "asset": (
        "Asset",
        "AssetFile",
        "AssetLink",
        "Creator",
        "assets_from_xml",
        "assets_to_xml",
        "build_asset_patch_xml",
    ),
    "config": (
        "CodeTable",
        "CodeTableRow",
        "ImportProfile",
        "MappingTable",
        "MappingTableRow",
        "Set",
        "SetMember",
    ),
    "jobs": (
        "ABORTED_JOB_STATUSES",
        "ACTIVE_JOB_STATUSES",
        "FAILED_JOB_STATUSES",
        "FINISHED_JOB_STATUSES",
        "JOB_STATUSES",
        "MANUAL_HANDLING_REQUIRED",
        "Job",
        "JobCounter",
        "JobInstance",
    ),
    "organization": ("Organization",),
    "researcher": ("Researcher", "ResearcherAffiliation"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}
# Every concrete record class, in this order, as `RECORD_CLASSES`.
_RECORD_CLASS_NAMES = (
    "Researcher",
    "Asset",
    "Organization",
    "Set",
    "CodeTable",
    "MappingTable",
    "ImportProfile",
    "Job",
    "JobInstance",
    "Activity",
    "SetMember",
    "AnalyticsPath",
)


def __getattr__(name: str) -> object:
    # The record classes load on first use; cattrs is optional (the models do not need it
    # to convert themselves), so its converter is looked up anew, never kept here.
    if name in ("converter", "make_converter"):
        from esploro_async.models import _converter

        return getattr(_converter, name)
    if name == "RECORD_CLASSES":
        value: object = tuple(__getattr__(cls) for cls in _RECORD_CLASS_NAMES)
    elif name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # loaded once: later look-ups find it directly
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

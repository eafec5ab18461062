"""Lossless typed models for Esploro records.

Every record class wraps the JSON object it was read from, verbatim, so that
``Model.from_dict(d).to_dict() == d`` for any JSON object ``d``; typed properties read and
write exactly their own keys. ``converter`` is a ``cattrs`` converter that knows them all
(the optional ``cattrs`` extra; loaded on first use).
"""

from typing import TYPE_CHECKING

from esploro_async.models._base import Record, View
from esploro_async.models._codes import CodeValue, CodeValueLike
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
    FAILED_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    Job,
    JobCounter,
    JobInstance,
)
from esploro_async.models.organization import Organization
from esploro_async.models.researcher import Researcher, ResearcherAffiliation

RECORD_CLASSES: tuple[type[Record], ...] = (
    Researcher,
    Asset,
    Organization,
    Set,
    CodeTable,
    MappingTable,
    ImportProfile,
    Job,
    JobInstance,
    Activity,
    SetMember,
    AnalyticsPath,
)
"""Every concrete record class."""

__all__ = [
    "FAILED_JOB_STATUSES",
    "FINISHED_JOB_STATUSES",
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

if TYPE_CHECKING:
    from esploro_async.models._converter import converter, make_converter


def __getattr__(name: str) -> object:
    # cattrs is optional: the models do not need it to convert themselves.
    if name in ("converter", "make_converter"):
        from esploro_async.models import _converter

        return getattr(_converter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

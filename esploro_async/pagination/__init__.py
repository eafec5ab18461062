"""Streams over paged endpoints: offset/limit (concurrent) and analytics (resumption token)."""

from esploro_async.pagination.analytics import AnalyticsStream
from esploro_async.pagination.checkpoint import Checkpoint
from esploro_async.pagination.offset import Drift, HarvestEstimate, OffsetStream, Page
from esploro_async.pagination.speculation import ListingTotals

__all__ = [
    "AnalyticsStream",
    "Checkpoint",
    "Drift",
    "HarvestEstimate",
    "ListingTotals",
    "OffsetStream",
    "Page",
]

"""`HarvestEstimate`: what a harvest will cost, as `OffsetStream.estimate` says."""

from __future__ import annotations

import attrs

__all__ = ["HarvestEstimate"]


@attrs.frozen
class HarvestEstimate:
    """What a harvest will cost.

    Attributes:
        total_records: the total the API reports.
        remaining_records: records from the start (or checkpoint) position to the end.
        requests_needed: requests still to send (the first page is already fetched).
        quota_remaining: the daily-quota estimate now (None: unknown).
        daily_reserve: the floor governance protects.
        fits: whether the harvest finishes above the reserve (None: unknown).
    """

    total_records: int | None
    remaining_records: int | None
    requests_needed: int | None
    quota_remaining: int | None
    daily_reserve: int
    fits: bool | None

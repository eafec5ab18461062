"""`HarvestBudget`: what governance lets one harvest spend, as `OffsetStream` asks it.

The stream decides which pages to request (`PageScheduler`) and what to hand out
(`Frontier`); how much it may spend is a question for the client's governance, asked here:

- **the daily quota**: how many requests the rest of the harvest needs, whether it finishes
  above the daily reserve (`fits`, `estimate`; `refuse` raises `InsufficientQuotaError`),
  and how many may still start above the batch reserve (`room`);
- **requests in flight**: as many as keep the rate busy at the observed latency (rate x
  95th percentile of the latest round trips, `in_flight_now`), within governance's
  ``max_in_flight`` and ``prefetch`` (`beside_first`).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from esploro_async.errors import InsufficientQuotaError
from esploro_async.pagination.estimate import HarvestEstimate
from esploro_async.pagination.fetched import MAX_WAITING, FetchedPage
from esploro_async.pagination.scheduler import requests_after

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient

__all__ = ["HarvestBudget"]

_IN_FLIGHT_HEADROOM = 2


class HarvestBudget:
    """The quota and the concurrency one harvest of ``path`` may use (see the module docstring).

    Args:
        client: the client whose governance the harvest sends through.
        path: the endpoint (for the error messages).
        page_size: records per request.
        stride: how far apart pages start (`stride_for`).
        prefetch: the stream's ``prefetch`` (None: as the rate and the latency need).
        refuse: whether a harvest that cannot finish above the daily reserve is refused
            (``on_insufficient_quota="refuse"``).
    """

    def __init__(
        self,
        client: BaseClient,
        *,
        path: str,
        page_size: int,
        stride: int,
        prefetch: int | None,
        refuse: bool,
    ) -> None:
        self._client = client
        self._path = path
        self._page_size = page_size
        self._stride = stride
        self._prefetch = prefetch
        self._refuse = refuse
        self.latencies: deque[float] = deque(maxlen=32)
        """The round trips of the latest pages, in seconds."""

    def needed(self, offset: int, total: int) -> int:
        """Requests still to send after the page at ``offset`` for a listing of ``total``."""
        return requests_after(offset, total, self._page_size, self._stride)

    def fits(self, offset: int, total: int, *, counted: int = 0) -> bool:
        """Whether a harvest of ``total`` from ``offset`` may run (``on_insufficient_quota``,
        the quota); ``counted`` of its requests the quota estimate counts already."""
        if not self._refuse:
            return True
        snapshot = self._client.governance.snapshot()
        if snapshot.quota_estimate is None:
            return True
        needed = self.needed(offset, total) - counted
        return snapshot.quota_estimate - needed >= snapshot.daily_reserve

    def refuse(self, first: FetchedPage) -> None:
        """Raise `InsufficientQuotaError` for a harvest from ``first`` that does not fit."""
        snapshot = self._client.governance.snapshot()
        if first.total is None or snapshot.quota_estimate is None:
            return
        needed = self.needed(first.offset, first.total)
        raise InsufficientQuotaError(
            f"harvesting {self._path} needs {needed} more requests, but the daily quota has "
            f"{snapshot.quota_estimate} left and {snapshot.daily_reserve} are reserved. "
            "Run it after the reset, lower daily_reserve, or pass "
            "on_insufficient_quota='run' to harvest until the reserve and resume from the "
            "checkpoint after the reset.",
            needed=needed,
            remaining=snapshot.quota_estimate,
            reserve=snapshot.daily_reserve,
            resets_at=snapshot.quota_resets_at,
        )

    def estimate(self, first: FetchedPage, start: int) -> HarvestEstimate:
        """What the rest of a harvest from ``start``, whose first page is ``first``, costs."""
        snapshot = self._client.governance.snapshot()
        total = first.total
        if total is None:
            remaining = needed = None
        else:
            remaining = max(0, total - start)
            needed = self.needed(first.offset, total)
        fits = None
        if needed is not None and snapshot.quota_estimate is not None:
            fits = snapshot.quota_estimate - needed >= snapshot.daily_reserve
        return HarvestEstimate(
            total_records=total,
            remaining_records=remaining,
            requests_needed=needed,
            quota_remaining=snapshot.quota_estimate,
            daily_reserve=snapshot.daily_reserve,
            fits=fits,
        )

    def room(self) -> int:
        """Requests that may still start above the batch reserve (many while it is 0)."""
        snapshot = self._client.governance.snapshot()
        if snapshot.quota_estimate is not None:
            return snapshot.quota_estimate - snapshot.batch_reserve - 1
        # Unknown: with a reserve the first request probes the quota, alone.
        return 0 if snapshot.batch_reserve > 0 else MAX_WAITING

    def beside_first(self) -> int:
        """Pages that may be in flight (or wait in the buffer) beside the first one."""
        most = min(self._client.governance.max_in_flight, MAX_WAITING) - 1
        return most if self._prefetch is None else min(most, self._prefetch - 1)

    def in_flight_now(self) -> int:
        """Requests in flight that keep the rate busy: rate x 95th percentile round trip."""
        governance = self._client.governance
        rate = governance.snapshot().effective_rate
        latencies = sorted(self.latencies) or [0.5]
        p95 = latencies[round(0.95 * (len(latencies) - 1))]
        want = math.ceil(rate * p95) + _IN_FLIGHT_HEADROOM
        return max(2, min(governance.max_in_flight, want))

"""What governance tells the outside world: a snapshot and two kinds of event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

import attrs

__all__ = ["GovernanceSnapshot", "Listeners", "QuotaLowEvent", "ThrottledEvent"]

_log = logging.getLogger("esploro_async.governance")


@attrs.frozen
class GovernanceSnapshot:
    """A point-in-time view of an institution's governance, for dashboards and logs.

    Attributes:
        rate_limit: the configured ceiling (requests per second).
        current_rate: the adaptive rate now in force (before the safety margin).
        effective_rate: requests per second actually granted at most (after the margin).
        paused_until_in: seconds until senders resume after a 429, or 0.
        in_flight: attempts holding a slot now.
        waiting: attempts waiting for a slot or a permit.
        requests: attempts sent since the governance was created.
        retries: of those, retries.
        throttled: 429 ``PER_SECOND_THRESHOLD`` responses seen.
        quota_remaining: lowest ``X-Exl-Api-Remaining`` seen this quota day (None: unknown).
        quota_estimate: that minus the attempts in flight.
        daily_reserve: the floor below which nothing is sent (interactive lane).
        batch_reserve: the floor at which batch work stops.
        quota_resets_at: when the daily quota resets.
        safety_margin: the margin now in force (it moves with ``safety_margin="auto"``).
    """

    rate_limit: float
    current_rate: float
    effective_rate: float
    paused_until_in: float
    in_flight: int
    waiting: int
    requests: int
    retries: int
    throttled: int
    quota_remaining: int | None
    quota_estimate: int | None
    daily_reserve: int
    quota_resets_at: datetime
    batch_reserve: int = 0
    safety_margin: float = 0.10


@attrs.frozen
class ThrottledEvent:
    """The gateway answered 429 ``PER_SECOND_THRESHOLD``.

    Another integration is probably using the institution's per-second budget.
    ``current_rate`` is the rate after the adaptive decrease; ``count`` the total so far.
    """

    retry_after: float | None
    current_rate: float
    count: int


@attrs.frozen
class QuotaLowEvent:
    """The daily quota fell below a threshold registered with ``on_quota_below``."""

    threshold: int
    remaining: int
    resets_at: datetime


E = TypeVar("E")


class Listeners(Generic[E]):
    """Synchronous callbacks; one that raises is logged and does not disturb the request."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[E], object]] = []

    def add(self, callback: Callable[[E], object]) -> None:
        """Register ``callback``."""
        self._callbacks.append(callback)

    def emit(self, event: E) -> None:
        """Call every callback with ``event``."""
        for callback in self._callbacks:
            try:
                callback(event)
            except Exception:
                _log.exception("governance callback %r failed", callback)

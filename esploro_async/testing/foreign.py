"""Foreign load at the simulated gateway: arrivals from another integration of the institution.

Poisson arrivals (seeded) and arrivals scheduled at given monotonic times, both decided
lazily when a later client request arrives.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

__all__ = ["ForeignArrivals"]


class ForeignArrivals:
    """The foreign arrivals still to come: ``rate`` req/s of Poisson ones plus scheduled ones."""

    def __init__(self, rate: float, scheduled: Iterable[float], seed: int) -> None:
        self.rate = rate
        self._rng = random.Random(f"{seed}:foreign")
        self._poisson_next: float | None = None
        self._scheduled: list[float] = sorted(scheduled)

    def start(self, t: float) -> None:
        """Start the Poisson arrivals at monotonic time ``t`` (the first request's arrival)."""
        if self.rate > 0:
            self._poisson_next = t + self._rng.expovariate(self.rate)

    def schedule(self, times: Iterable[float]) -> None:
        """Add arrivals at monotonic ``times``."""
        self._scheduled = sorted([*self._scheduled, *times])

    def next_due(self, t: float) -> float | None:
        """The earliest foreign arrival due by ``t`` (consumed), or ``None``."""
        scheduled = self._scheduled[0] if self._scheduled else None
        poisson = self._poisson_next
        if poisson is not None and poisson <= t and (scheduled is None or poisson <= scheduled):
            self._poisson_next = poisson + self._rng.expovariate(self.rate)
            return poisson
        if scheduled is not None and scheduled <= t:
            return self._scheduled.pop(0)
        return None

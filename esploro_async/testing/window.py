"""The per-second threshold's sliding window, counted in integer nanoseconds as the gateway does."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

__all__ = ["NS", "ArrivalWindow", "max_in_window"]

NS = 1_000_000_000
"""Nanoseconds per second: arrival times are quantised to integer nanoseconds."""


class ArrivalWindow:
    """The counted arrivals of the last ``window`` seconds (``t - window < a <= t``)."""

    def __init__(self, window: float) -> None:
        self._window_ns = round(window * NS)
        self._counted: deque[int] = deque()

    def count(self, t_ns: int) -> int:
        """How many counted arrivals are still in the window at ``t_ns``."""
        counted = self._counted
        limit = t_ns - self._window_ns
        while counted and counted[0] <= limit:
            counted.popleft()
        return len(counted)

    def add(self, t_ns: int) -> None:
        """Count an arrival at ``t_ns`` (arrivals come in time order)."""
        self._counted.append(t_ns)


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """Most of ``times`` in any half-open window ``[t, t + window)`` (the gateway's rule).

    Times are quantised to integer nanoseconds, as the gateway does.
    """
    ns = sorted(round(t * NS) for t in times)
    w = round(window * NS)
    best = lo = 0
    for hi, t in enumerate(ns):
        while ns[lo] + w <= t:
            lo += 1
        best = max(best, hi - lo + 1)
    return best

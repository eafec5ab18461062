"""The simulated gateway's bookkeeping of its faults and latencies, per request.

:mod:`.faults` holds the immutable rules; here is what one gateway counts about them (how
many matching requests each fault has seen, how often it fired), so a rule can be shared.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

import attrs

from esploro_async.testing.faults import Fault, Latency, Stalls, endpoint_matches

__all__ = ["FaultState", "StallState", "latency_for", "pick_fault"]


@attrs.define
class FaultState:
    """One fault rule and what a gateway counted about it."""

    fault: Fault
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether a ``method`` request to ``path`` is one this fault watches."""
        f = self.fault
        return (f.method is None or f.method == method) and endpoint_matches(f.endpoint, path)

    def fires(self, rng: random.Random) -> bool:
        """Whether the fault fires on the request it has just seen (draws from ``rng``)."""
        f = self.fault
        if f.requests is not None and self.seen not in f.requests:
            return False
        if f.max_count is not None and self.fired >= f.max_count:
            return False
        return f.probability >= 1.0 or rng.random() < f.probability


@attrs.define
class StallState:
    """A gateway's `Stalls`: how many requests the stall under way still holds, and its draws."""

    stalls: Stalls
    rng: random.Random
    held: int = 0

    def delay(self) -> float:
        """The extra delay on the way to the gateway of the request being sent (mostly 0)."""
        stalls = self.stalls
        if not self.held and self.rng.random() < stalls.fraction:
            self.held = stalls.burst
        if not self.held:
            return 0.0
        self.held -= 1
        return self.rng.uniform(stalls.low, stalls.high)


def pick_fault(
    states: Iterable[FaultState], method: str, path: str, rng: random.Random
) -> Fault | None:
    """The first fault that fires on this request; every matching fault counts it as seen."""
    chosen: Fault | None = None
    for st in states:
        if not st.matches(method, path):
            continue
        st.seen += 1
        if chosen is None and st.fires(rng):
            st.fired += 1
            chosen = st.fault
    return chosen


def latency_for(default: Latency, by_endpoint: Mapping[str, Latency], path: str) -> Latency:
    """The latency of ``path``: the most specific matching endpoint's, else ``default``."""
    best: tuple[int, Latency] | None = None
    for key, lat in by_endpoint.items():
        if endpoint_matches(key, path):
            score = len(key) + 1000 if key.startswith("/") else 1
            if best is None or score > best[0]:
                best = (score, lat)
    return default if best is None else best[1]

"""The simulated gateway of the scenarios, and what its log says: 429s, peaks, rates."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from benchmarks.redis_workers.common import STEADY_SKIP
from esploro_async.testing import (
    GatewayLog,
    GatewayProcess,
    Latency,
    RequestRecord,
    max_in_window,
)


def _rate(times: Sequence[float]) -> float:
    """Events per second from the first of sorted ``times`` to the last (0 for fewer than 2)."""
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return (len(times) - 1) / span if span > 0 else 0.0


def _refused(log: Sequence[RequestRecord], code: str) -> int:
    """How many requests of ``log`` the gateway refused with ``code``."""
    return sum(1 for r in log if r.error_code == code)


def gateway_stats(gateway_log: GatewayLog) -> dict[str, Any]:
    """What the gateway saw: 429s, the most arrivals in any sliding second (429s included:
    the gateway never accepts more than 25), throughput."""
    log = [r for r in gateway_log.arrivals if r.error_code != "UNAUTHORIZED"]  # not warm-ups
    accepted = sorted(r.arrival for r in log if r.accepted)  # accepted ones all arrived
    arrivals = sorted(r.arrival for r in log)
    sent = [r.arrival for r in log if r.arrived]
    return {
        "requests": len(log),
        "accepted": len(accepted),
        "max_arrivals": max_in_window(sent),
        "daily_threshold": _refused(log, "DAILY_THRESHOLD"),
        "throttled": _refused(log, "PER_SECOND_THRESHOLD"),
        "max_in_window": max_in_window(gateway_log.counted_times, 1.0),
        "accepted_times": accepted,
        "throughput": _rate(accepted),
        "sent_rate": _rate(arrivals),
        "quota_remaining": gateway_log.quota_remaining,
    }


def start_gateway(
    *,
    latency: str = "0.2:0.8",
    researchers: int = 2000,
    up_fraction: float = 0.02,
    quota_remaining: int | None = None,
) -> GatewayProcess:
    """The simulated gateway of the scenarios, in a child process (enter it to start it)."""
    low, _, high = latency.partition(":")
    return GatewayProcess(
        researchers=researchers,
        assets=10,
        latency=Latency.uniform(float(low), float(high or low)),
        up_fraction=up_fraction,
        quota_remaining=quota_remaining,
        start=dt.datetime.now(dt.timezone.utc),
    )


def steady_rate(accepted: Sequence[float], skip: tuple[float, float] = STEADY_SKIP) -> float:
    """Accepted arrivals per second from ``skip[0]`` s after the first to ``skip[1]`` s
    before the last (NaN when the run is too short to have such a window)."""
    if len(accepted) < 2:
        return math.nan
    low, high = accepted[0] + skip[0], accepted[-1] - skip[1]
    inside = [t for t in accepted if low <= t <= high]
    if high - low < 5.0 or len(inside) < 2:
        return math.nan
    return (len(inside) - 1) / (inside[-1] - inside[0])

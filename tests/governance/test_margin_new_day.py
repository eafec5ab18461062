"""The automatic margin at a new quota day: what the arrival order proved must keep bounding it.

At midnight GMT ``X-Exl-Api-Remaining`` starts again from the full quota. `ArrivalOrder`
distrusts the count for the next pairs (it cannot tell a new day from a proxy rewriting the
header) and keeps the inversions it had seen (the jitter belongs to the path, not to the
day). While it distrusts the count (the dozen or so responses until the samples of the old
day leave the window of kept samples), the margin falls back to the starting 0.10 or to the
round trips' bound below it, but never below the jitter proven: it once read no inversion
then, and requests granted in those responses were spaced for less jitter than was proven.
"""

from __future__ import annotations

import pytest

from esploro_async.governance.adaptive import AdaptiveRate, RatePolicy

SPACING = 1.02 / 25
ROUND_TRIP = 0.5  # steady: the round trips alone allow the narrowest margin


def feed(rate: AdaptiveRate, delays: list[float], *, start: int, at: float) -> list[float]:
    """Requests sent every SPACING from ``at``, counted at arrival; the margin after each."""
    arrivals = sorted((i * SPACING + delay, i) for i, delay in enumerate(delays))
    counts = {index: start - rank for rank, (_, index) in enumerate(arrivals, start=1)}
    margins = []
    for i in range(len(delays)):
        sent = at + i * SPACING
        rate.interval(sent + ROUND_TRIP)
        rate.observe(sent + ROUND_TRIP, ROUND_TRIP, counts[i])
        margins.append(rate.margin)
    return margins


def test_the_margin_never_falls_below_the_proven_jitter_across_midnight() -> None:
    rate = AdaptiveRate(RatePolicy.auto())
    delays = [0.01] * 300
    delays[100] = 0.01 + 5.5 * SPACING  # overtaken by the next five requests
    feed(rate, delays, start=5_000, at=0.0)
    proven = rate.proven
    # Overtaken by five requests, the jitter proven is at least five spacings, and in force.
    assert proven >= 5 * SPACING
    assert rate.margin == pytest.approx(proven)
    # Midnight GMT: the count starts again from the full quota; the path is the same.
    after = feed(rate, [0.01] * 100, start=1_000_000, at=300 * SPACING)
    assert min(after) >= proven, f"the margin fell to {min(after):.3f} (proven {proven:.3f})"

"""Other integrations' requests, read from the daily counter, and the room they leave.

The gateway counts every request of the institution against one daily quota and writes
what is left into each response (``X-Exl-Api-Remaining``). Between two of our accepted
requests granted at ``s1 < s2`` and counted ``r1`` and ``r2``, the count fell by
``r1 - r2``: our own requests granted in ``(s1, s2]``, which governance knows, and the
others'. The rest are therefore the other integrations' arrivals in that interval; they are
placed at ``s2``, the latest they can have arrived, so that they stay in the sliding window
as long as they possibly can.

`ForeignLoad.hold` is the earliest time a request of ours may start so that the window at
its arrival is expected to hold fewer than ``rate_limit - headroom`` requests: ours granted
in the last second, the others' seen in it, and, for the time since the latest request
whose count came back (not seen yet), the others' rate times that time plus `_Z` standard
deviations of their count (Poisson's, widened by how clumped their counts were lately:
bursts of many requests at once leave room for a burst). Every window that will hold the
request is checked, not only the one at its arrival: a request stays in the window for a
second, and the others' arrivals during that second are what it may push out. Nothing is
held while no other integration was seen lately: a quiet institution runs at the rate gate's
own pace.

The physics: with the others at 10 req/s (Poisson) a window holds 15 or more of theirs about
8 % of the time, and a request of ours stays a second in the window, so neither side can be
kept free of 429s at any steady share of the 15 left on average. Reading the window the
others left (up to the latest count that came back, a few tenths of a second ago) lets our
requests go where their window is light and wait where it is heavy, which beats any fixed
rate; what arrives after the latest count is unknown, and that part of the window is the
whole of the trade.

Inferred, not documented: that the count falls by one per counted request and is written
at arrival. Two accepted requests of ours with the same count show it is written later
(when the response leaves): our own later requests then look like others', so the estimate
stops for good (nothing held; their 429s are still reacted to). No header at all, a new
quota day or a count that moves the wrong way leaves the estimate empty (nothing held).
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from esploro_async.governance.adaptive import AdaptiveRate, RatePolicy
    from esploro_async.governance.protocol import CounterTiming

__all__ = ["ForeignLoad", "counter_timing"]

# Seconds of samples the others' rate is measured over, and the least span it is divided by
# (over a shorter one, at the start, their count is taken over this span: an underestimate,
# not the nothing that let our first second run full).
_RATE_SPAN = 10.0
_MIN_SPAN = 0.5
# Standard deviations of the others' unseen arrivals kept free in a window.
_Z = 1.25
# Bins (s) their counts' spread is measured in, and the variance-to-mean ratio above which
# their arrivals count as bursts rather than Poisson noise.
_BIN = 0.25
_BURSTY = 3.0
# ... and of their count in a second, kept free by our pace.
_Z_PACE = 0.5
# The slowest pace (requests per second) the others' load can impose.
_MIN_PACE = 1.0
# A window is one second; event times within this of its edge count as inside.
_WINDOW = 1.0
_TOLERANCE = 1e-6
# Seconds of history kept.
_KEPT = _RATE_SPAN + 2 * _WINDOW
# Our grant of a sample is recorded a moment before the attempt takes its time.
_SAME = 0.002
# A count this far above the latest one is a new quota day, not jitter.
_NEW_DAY = 64


class ForeignLoad:
    """The other integrations' arrivals and rate, from ``(granted at, remaining)`` samples.

    Args:
        rate_limit: the gateway's per-second ceiling.
        headroom: requests kept free in every window beside the expected ones.
    """

    def __init__(self, rate_limit: float = 25.0, *, headroom: float = 0.0) -> None:
        self._limit = rate_limit
        self._headroom = headroom
        self._grants: list[float] = []  # ours, in time order
        self._samples: list[tuple[float, int]] = []  # (granted at, remaining), by time
        self._events: list[tuple[float, int]] | None = []  # the others': (at, how many)
        self._rate = 0.0
        self._clumping = 1.0  # variance over mean of their counts: 1 for Poisson arrivals
        self._departure = False  # the count is not taken at arrival: nothing to read

    @property
    def rate(self) -> float:
        """The other integrations' estimated requests per second (0 when none were seen)."""
        self._derive()
        return self._rate

    @property
    def clumping(self) -> float:
        """How much more their counts vary than Poisson arrivals' would (1: not measurably)."""
        self._derive()
        return self._clumping

    @property
    def departure(self) -> bool:
        """Whether two accepted requests of ours showed one count: written as responses leave."""
        return self._departure

    @property
    def reading(self) -> bool:
        """Whether responses carry the counter (without it the others cannot be seen)."""
        return len(self._samples) >= 2 and not self._departure

    def granted(self, now: float) -> None:
        """A request of ours was granted at ``now``."""
        grants = self._grants
        grants.append(now)
        if grants[0] < now - _KEPT:
            del grants[: bisect.bisect(grants, now - _KEPT)]

    def observe(self, sent: float, remaining: int) -> None:
        """An accepted request granted at ``sent`` was counted ``remaining``."""
        samples = self._samples
        if self._departure:
            return
        if samples and remaining > samples[-1][1] + _NEW_DAY:
            samples.clear()  # the count went up: a new quota day (or a rewritten header)
        if any(other == remaining and at != sent for at, other in samples[-32:]):
            self._departure = True  # two of ours counted alike: written as responses leave
            samples.clear()
            self._events = []
            self._rate = 0.0
            return
        bisect.insort(samples, (sent, remaining))
        self._events = None
        horizon = samples[-1][0] - _KEPT
        if samples[0][0] < horizon:
            del samples[: bisect.bisect(samples, (horizon, -1))]

    def hold(self, now: float) -> float:
        """The earliest time (``>= now``) a request of ours may start; ``-inf``: no hold.

        A request granted at ``t`` stays in every window that ends in ``[t, t + 1)``. For
        each such window: the requests already in it (ours granted and the others' seen)
        that have not left it yet, the others' unseen arrivals in it (their rate times the
        part of it after the latest count we saw, plus `_Z` standard deviations), and the
        new request itself must fit in ``rate_limit - headroom``. Within the span between
        two departures the last moment is the fullest, so the departures are the windows
        to check; waiting for one to leave is the only way to make room.
        """
        pace = self.pace(now)
        if pace is None:
            return -math.inf  # no other integration seen lately
        events = self._events
        assert events is not None  # derived by pace()
        grants = self._grants
        budget = self._limit - self._headroom - 1  # the new request included
        if grants:
            now = max(now, grants[-1] + 1.0 / pace)
        present = sorted(
            [(t, 1) for t in grants[bisect.bisect(grants, now - _WINDOW) :]]
            + [e for e in events if e[0] > now - _WINDOW]
        )
        last_seen = self._samples[-1][0]
        # fullest[k]: the fullest window among those that end as present[k:] leave.
        fullest = [self._unseen(now + _WINDOW, last_seen)] * (len(present) + 1)
        inside = 0
        for k in range(len(present) - 1, -1, -1):
            at, count = present[k]
            inside += count
            fullest[k] = max(fullest[k + 1], inside + self._unseen(at + _WINDOW, last_seen))
        for k in range(len(present) + 1):
            t = now if k == 0 else max(now, present[k - 1][0] + _WINDOW + _TOLERANCE)
            if fullest[k] <= budget:
                return t
        return now + _WINDOW

    def known(self, now: float) -> int:
        """Requests known to be in the window at ``now``: ours granted, the others' seen."""
        self._derive()
        events = self._events
        assert events is not None
        start = now - _WINDOW
        grants = self._grants
        ours = bisect.bisect(grants, now) - bisect.bisect(grants, start)
        return ours + sum(count for at, count in events if start < at <= now)

    def expected(self, now: float) -> float:
        """The expected count in the window at ``now``: `known`, and their unseen at their rate."""
        if not self._samples:
            return float(self.known(now))
        unseen = self.rate * min(_WINDOW, max(0.0, now - self._samples[-1][0]))
        return self.known(now) + unseen

    def pace(self, now: float) -> float | None:
        """Our requests per second that leave the others room; ``None``: none seen lately.

        What the others leave on average, less a share of their spread, so that the
        window's room is used evenly rather than in bursts.
        """
        self._derive()
        events = self._events
        if not events or events[-1][0] < now - 2 * _WINDOW:
            return None
        budget = self._limit - self._headroom - 1  # the new request included
        return max(budget - self._rate - _Z_PACE * math.sqrt(self._rate), _MIN_PACE)

    def _unseen(self, end: float, last_seen: float) -> float:
        """The others' arrivals not seen yet in the window ending at ``end``, kept free."""
        expected = self._rate * min(_WINDOW, max(0.0, end - last_seen))
        return expected + _Z * math.sqrt(expected * self._clumping)

    # -- internals ------------------------------------------------------------------------

    def _derive(self) -> None:
        """The others' arrivals between consecutive samples, and their rate.

        The others' count since the first sample is the fall of the counter less ours; with
        jitter our requests may arrive out of the order they were sent in, which moves that
        count up and down around the truth. Only its running maximum makes arrivals, so the
        jitter never adds up to arrivals that were not there.
        """
        if self._events is not None:
            return
        samples, grants = self._samples, self._grants
        events: list[tuple[float, int]] = []
        if samples:
            first_sent, first_remaining = samples[0]
            before = bisect.bisect(grants, first_sent + _SAME)
            seen = 0
            previous = first_sent
            for sent, remaining in samples[1:]:
                ours = bisect.bisect(grants, sent + _SAME) - before
                others = first_remaining - remaining - ours
                if others > seen:
                    # Spread evenly over the interval: a long gap between two samples of
                    # ours holds its arrivals anywhere in it, not all at its end.
                    step = (sent - previous) / (others - seen)
                    events += [(sent - i * step, 1) for i in range(others - seen)]
                    seen = others
                previous = sent
        events.sort()
        self._events = events
        span = samples[-1][0] - samples[0][0] if samples else 0.0
        if span <= 0.0:
            self._rate = 0.0
            return
        span = max(span, _MIN_SPAN)
        # The rate from the two ends only: jitter moves each end's count by as much up as
        # down, where the running maximum above only ever rises with it.
        ours = bisect.bisect(grants, samples[-1][0] + _SAME) - bisect.bisect(
            grants, samples[0][0] + _SAME
        )
        self._rate = max(0.0, samples[0][1] - samples[-1][1] - ours) / span
        self._clumping = _clumping(events, samples[-1][0])


def _clumping(events: list[tuple[float, int]], end: float) -> float:
    """How much more their counts vary than Poisson arrivals': variance over mean per `_BIN`.

    Bursts (many requests within a moment, then none) make it large: the room kept for their
    unseen arrivals then grows with it. Below `_BURSTY` it is sampling noise: 1.
    """
    bins = int(_RATE_SPAN / _BIN)
    counts = [0] * bins
    start = end - bins * _BIN
    for at, count in events:
        k = math.floor((at - start) / _BIN)
        if 0 <= k < bins:
            counts[k] += count
    mean = sum(counts) / bins
    if mean <= 0:
        return 1.0
    variance = sum((c - mean) ** 2 for c in counts) / bins
    ratio = variance / mean
    return ratio if ratio >= _BURSTY else 1.0


def counter_timing(
    others: ForeignLoad | None, adaptive: AdaptiveRate | None, policy: RatePolicy, counted: bool
) -> CounterTiming:
    """What a rate gate saw of ``X-Exl-Api-Remaining`` (see `CounterTiming`).

    ``others`` and ``adaptive`` read the counter when present (``adaptive`` only with the
    automatic margin); ``counted``: an accepted response carried it.
    """
    if others is None and not policy.auto_margin:
        return "unread"
    if (others is not None and others.departure) or (adaptive is not None and adaptive.departure):
        return "departure"
    return "arrival" if counted else "absent"

"""How much send-to-arrival delay varies, read from the order the gateway counted requests in.

The gateway decrements ``X-Exl-Api-Remaining`` as each request arrives and writes the
count into that request's response, so two responses tell in which order their requests
*arrived* (a lower count arrived later; other integrations' requests only leave gaps).
When a request sent ``g`` seconds after another one arrived first, their send-to-arrival
delays differ by more than ``g``: an *inversion*, hard evidence of at least ``g`` seconds
of jitter. Pairs sent ``g`` apart that arrived in order are evidence, weaker, that the
jitter is below ``g``; our own requests are spaced by the limiter's interval, so that is
the finest resolution this signal has.

`ArrivalOrder.bound` turns the recent pairs into a bound on the jitter: 1.15 x the resolution
(the 25th percentile of the gaps of the closest pairs checked, about one interval; each
response gives it the pairs with the four requests sent nearest to its own, which at up to
40 requests per second are all those sent within 0.1 s of it) or, after
inversions, what they prove (`ArrivalOrder.proven`), the larger of:

- ``g + resolution``, ``g`` the largest inverted gap: pairs come only at multiples of the
  interval, so a jitter just short of the next multiple shows as ``g``, and the pairs at the
  next multiple were seen in order;
- the spread ``J`` of a uniform jitter that inverts the close pairs (sent at most 0.1 s
  apart) as often as the latest ones were: a pair sent ``g`` apart arrives out of order with
  probability ``(1 - g / J)^2 / 2``, read from at least 8 close pairs and at most 30 % of
  them out of order (so at most about 4.4 times their mean gap). It answers within the first
  second of a harvest, where the largest gap still grows as the rare wide inversions come.

The margin this gives is what a uniform jitter needs and some: on the plainest model of the
gateway (requests sent every ``(1 + m) / 25`` s, each delayed uniformly within ``J``,
refused when 25 were accepted in the second before), 429s stay below 0.1 per 1,000 requests
from ``m`` = 1.0 ``J`` up to 0.1 s of jitter, 0.9 ``J`` at 0.2 s, 0.8 ``J`` at 0.3 s and 0.7
``J`` at 0.5 s, and both estimates settle near ``J``. (It was ``max(1.5 g, g + resolution)``,
which at 0.3 s of jitter held the margin near 0.42.) No bound is given before ``min_pairs``
close pairs were checked. The 15 % over the resolution is
there because a jitter just above one interval inverts neighbours about as rarely as it puts
a 26th arrival into a second at a margin of one interval: with no headroom, one run in three
at 43 ms of jitter drew a 429 before its first inversion showed; above the headroom a jitter
inverts pairs several times more often than it breaks the margin, so it is seen first.

The signal is used only while the header behaves as a count taken at arrival. Counts further
apart than the gateway could have taken in the time between the sends mark it unusable for
``min_pairs`` more pairs (a new quota day, a proxy rewriting the header), and the in-order
pairs seen so far are forgotten; the inversions are kept, since the jitter they proved does
not end with the quota day. Two accepted requests with the *same* count mark it unusable for
good (`departure`): a count taken as each request arrives falls by one at least between any
two of them, so the header is written later, when the response leaves (or cached), and its
order is that of the departures, whose inversions tell the round-trip spread rather than the
jitter before arrival. Before that shows, such inversions must not widen anything, even
briefly: an inversion is held back until the order has shown it is that of arrivals, by a
count *above* the one of the response that came back just before it (counts written as
responses leave fall in the order the responses come back; counted at arrival, the API's
varying work reorders them), or by ``_SETTLE`` (16) samples with no count twice (a count
written as responses leave then trails the arrivals by a constant time, and its inversions
are the jitter's). Counts written as responses leave show a count twice within 3-9 responses
at full rate; counted at arrival, a count rises within 2-8. Refused requests (429) are not
counted by the gateway, so their responses are not samples; a sample told twice (the same
send time and count) is one request. That the count is written at arrival is an inference
from the header's documented meaning, not a documented fact.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

__all__ = ["ArrivalOrder"]

# Pairs sent at most this far apart are compared (seconds).
_PAIR_WINDOW = 0.5
# Pairs this close count towards the resolution (seconds).
_CLOSE = 0.1
# New close pairs, and seconds of sending, after which the resolution is sorted out again
# (at 25 req/s the pairs come first; far above, the time keeps the sorting rare).
_RESORT = 64
_RESORT_SECONDS = 0.25
# The latest responses kept: at 25 req/s they hold every request sent within _PAIR_WINDOW.
_KEPT = 16
# Of those, the ones sent nearest give their in-order close pairs to the resolution: at up
# to 40 req/s that is every request sent within _CLOSE; above, the nearer pairs say all
# the farther ones would, and keeping these few keeps the bookkeeping per response small.
_NEAREST = 4
# Headroom over the resolution while no pair is inverted (module docstring).
_UNSEEN = 1.15
# Close pairs needed before their share out of order speaks, and the share read at most.
_FREQUENT = 8
_MOST_FLIPPED = 0.3
# Samples after which inversions count even though no count has risen (module docstring).
_SETTLE = 16


def _nearest(sent: float, samples: deque[tuple[float, int]]) -> frozenset[int]:
    """The indexes of the `_NEAREST` samples sent closest to ``sent``, the latest on a tie.

    When the samples are in sending order (the fast path's case) these are the last ones.
    """
    if len(samples) <= _NEAREST:
        return frozenset(range(len(samples)))
    closest = sorted(range(len(samples)), key=lambda i: (abs(sent - samples[i][0]), -i))
    return frozenset(closest[:_NEAREST])


class ArrivalOrder:
    """Bounds send-to-arrival jitter from ``(sent at, X-Exl-Api-Remaining)`` samples.

    Args:
        rate_limit: the gateway's per-second ceiling (bounds how far counts can move).
        min_pairs: close pairs needed before `bound` answers.
        history: pair verdicts kept (the recent past that `bound` speaks for).
    """

    _fast_path = True  # False: every pair on its own (the reference the fast path is tested by)

    def __init__(self, rate_limit: float = 25.0, *, min_pairs: int = 48, history: int = 512):
        self._rate_limit = rate_limit
        self._min_pairs = min_pairs
        self._samples: deque[tuple[float, int]] = deque(maxlen=_KEPT)  # the latest responses
        # Samples still to come before those kept are in order (sent and counted) again.
        self._unsorted = 0
        self._gaps: deque[float] = deque(maxlen=history)  # close pairs that arrived in order
        self._inverted: deque[float] = deque(maxlen=history)
        # The latest close pairs' gaps, negative where the pair arrived out of order.
        self._close: deque[float] = deque(maxlen=history)
        self._distrust = 0  # pairs still to check before the signal counts again
        self._finest: float | None = None  # the resolution, sorted out once in a while
        self._finest_at = -1  # len(self._gaps) + appends when it was
        self._finest_sent = -math.inf  # the latest send time then
        self._latest_sent = -math.inf
        self._proof_step = 0.0  # the latest resolution, kept for the inversions' proof
        self._appended = 0
        self._news = False  # observe() saw an inversion
        # Inversions seen before the order showed it is that of arrivals (module docstring).
        self._held: list[float] = []
        self._settled = False
        self._kept_count = 0
        # two accepted requests showed the same count: never at arrival
        self.departure: bool = False

    def observe(self, sent: float, remaining: int) -> bool:
        """One accepted response: its request was granted at ``sent`` and counted ``remaining``.

        Returns whether the evidence changed in a way that may move the bound: an inversion
        came (or the inversions held back were let in), the close pairs just reached
        ``min_pairs`` (the bound answers now), or the header started or stopped being readable.
        """
        if self.departure:
            return False  # nothing to read, ever
        samples = self._samples
        if self._fast_path and not self._unsorted and not self._distrust and samples:
            last_sent, last_remaining = samples[-1]
            if (
                sent >= last_sent
                and remaining < last_remaining
                and samples[0][1] - remaining <= 4 * self._rate_limit + 2
            ):
                # The common case: sent after, and counted lower than, every sample kept
                # (they are in order among themselves), none by more than a pair can drop:
                # every pair is in order, and only the closest ones are gaps to keep.
                was_short = len(self._gaps) < self._min_pairs
                self._latest_sent = sent
                self._in_order(sent)
                samples.append((sent, remaining))
                released = self._counted_one(rose=False)
                # The bound answers from the pair that completes ``min_pairs``: no later.
                return released or (was_short and len(self._gaps) >= self._min_pairs)
        return self._observe_each(sent, remaining)

    def _in_order(self, sent: float) -> None:
        """Keep the gaps to the `_NEAREST` latest samples sent within `_CLOSE` before ``sent``."""
        close = []
        for other, _ in itertools.islice(reversed(self._samples), _NEAREST):
            if sent - other > _CLOSE:  # in sending order: the close ones are last
                break
            close.append(sent - other)
        close.reverse()
        self._gaps.extend(close)
        self._close.extend(close)
        self._appended += len(close)
        if self._unsorted:
            self._unsorted -= 1

    def _observe_each(self, sent: float, remaining: int) -> bool:
        """`observe` pair by pair: any pair may be out of order, or the signal distrusted."""
        # (The fast path never sees a sample twice: it is counted below every one kept.)
        samples = self._samples
        if (sent, remaining) in samples:
            return False  # the same request told twice: no pair to compare
        was_reading = self.reading
        was_short = len(self._gaps) < self._min_pairs
        self._news = False
        self._latest_sent = max(self._latest_sent, sent)
        # A count above the one that came back just before it: not written as responses leave.
        rose = bool(samples) and 0 < remaining - samples[-1][1] <= 4 * self._rate_limit + 2
        near = _nearest(sent, samples)
        for index, (other_sent, other_remaining) in enumerate(samples):
            self._pair(sent - other_sent, other_remaining - remaining, index in near)
        if samples and not (sent >= samples[-1][0] and remaining < samples[-1][1]):
            # Out of sending or counting order with the latest sample: the fast path waits
            # until that sample has left the window of kept samples.
            self._unsorted = _KEPT
        else:
            self._unsorted = max(0, self._unsorted - 1)
        samples.append((sent, remaining))
        released = self._counted_one(rose)
        # The bound answers from the pair that completes ``min_pairs``: no later.
        ready = was_short and len(self._gaps) >= self._min_pairs
        return self._news or released or ready or was_reading != self.reading

    def _pair(self, gap: float, drop: int, near: bool) -> None:
        """Judge a pair sent ``gap`` apart whose counts differ by ``drop`` (same orientation).

        ``near``: the other request is one of the `_NEAREST` sent closest to this one, whose
        pairs in order count towards the resolution (every inversion counts).
        """
        if gap < 0:
            gap, drop = -gap, -drop
        if gap > _PAIR_WINDOW:
            return
        if 0 < drop <= 4 * self._rate_limit + 2 and not self._distrust:  # in order: common
            if near and gap <= _CLOSE:
                self._gaps.append(gap)
                self._close.append(gap)
                self._appended += 1
            return
        self._compare(gap, drop, near)

    def _counted_one(self, rose: bool) -> bool:
        """One more sample kept; True when the inversions held back are let in by it."""
        self._kept_count += 1
        if self._settled or not (rose or self._kept_count >= _SETTLE):
            return False
        # A count rose in the order responses came back (counted at arrival, not as they
        # leave), or `_SETTLE` samples showed no count twice: the order is that of arrivals.
        self._settled = True
        held = bool(self._held)
        self._inverted.extend(self._held)
        self._held.clear()
        return held and self.reading

    def _compare(self, gap: float, drop: int, near: bool) -> None:
        """``drop``: how much lower the count of the request sent ``gap`` (>= 0) s later is."""
        # Generous: arrivals may spread wider than the sends, and refusals may count too.
        possible = 2 * self._rate_limit * (gap + 2.0) + 2
        if drop == 0:
            self.departure = True
            self._held.clear()
        if drop == 0 or abs(drop) > possible:
            # In-order pairs are dropped (they narrow the bound); inversions already seen are
            # kept: the jitter they proved belongs to the path, not to the quota day.
            self._distrust = self._min_pairs
            self._gaps.clear()
            self._close.clear()
            self._finest = None
            return
        self._distrust = max(0, self._distrust - 1)
        if drop < 0:
            if gap <= _CLOSE:
                self._close.append(-gap)
            if self._settled:
                self._inverted.append(gap)
                self._news = True
            else:
                self._held.append(gap)  # until the order shows it is that of arrivals
        elif near and gap <= _CLOSE:
            self._gaps.append(gap)
            self._close.append(gap)
            self._appended += 1

    @property
    def reading(self) -> bool:
        """True once samples came and the header still behaves as a count taken at arrival."""
        return bool(self._samples) and not self._distrust and not self.departure

    @property
    def inverted(self) -> float:
        """The largest gap between two requests that arrived out of order, lately (0: none).

        Kept while the count is distrusted (a new quota day: the jitter belongs to the path);
        void once the count showed it is written as responses leave.
        """
        return 0.0 if self.departure else max(self._inverted, default=0.0)

    def proven(self) -> float:
        """The jitter the inversions show (0: none): their largest gap and their frequency.

        The largest inverted gap ``g`` with one resolution more (the next multiple of the
        spacing was not seen inverted), and at least the spread of a uniform jitter that
        inverts the close pairs as often as they were (module docstring).
        """
        inverted = self.inverted
        if not inverted:
            return 0.0
        step = self._resolution() or self._proof_step  # while distrusted: the last one known
        return max(inverted + step, self._from_frequency())

    def _from_frequency(self) -> float:
        """The uniform jitter's spread that inverts the close pairs as often as seen (0: few)."""
        close = self._close
        flipped = sum(1 for gap in close if gap < 0)
        if not flipped or len(close) < _FREQUENT:
            return 0.0
        share = min(_MOST_FLIPPED, flipped / len(close))
        mean_gap = sum(abs(gap) for gap in close) / len(close)
        # A pair sent g apart under a uniform spread J arrives out of order with probability
        # (1 - g / J)^2 / 2.
        return mean_gap / (1.0 - math.sqrt(2.0 * share))

    def bound(self) -> float | None:
        """The jitter the recent pairs allow for, in seconds; ``None`` while they cannot tell."""
        resolution = self._resolution()
        if not self.reading or resolution is None:
            return None
        return max(_UNSEEN * resolution, self.proven())

    def _resolution(self) -> float | None:
        """The finest gap checked: the 25th percentile of the close pairs' gaps."""
        if len(self._gaps) < self._min_pairs:
            return None
        # Sorting every pair kept costs more than the rest of governance: once per 64 new
        # pairs and a quarter second of sending is enough for a percentile of the last 512.
        if self._finest is None or (
            self._appended - self._finest_at >= _RESORT
            and self._latest_sent - self._finest_sent >= _RESORT_SECONDS
        ):
            gaps = sorted(self._gaps)
            self._finest = gaps[math.floor(0.25 * (len(gaps) - 1))]
            self._finest_at = self._appended
            self._finest_sent = self._latest_sent
            self._proof_step = self._finest
        return self._finest

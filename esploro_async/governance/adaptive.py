"""The per-second policy and its adaptive (AIMD) controller.

The gateway allows ``rate_limit`` requests per second per institution, shared by
every integration. Our limiter runs at ``rate_limit / (1 + safety_margin)`` so
that network jitter up to ``safety_margin`` seconds cannot push 26 arrivals into
one second. When the gateway still answers 429 ``PER_SECOND_THRESHOLD``, someone
else is using the budget: every sender pauses, the rate drops multiplicatively
(once per cooldown, since one overload produces a cluster of 429s) and climbs back
additively while no 429 comes, never above the ceiling. The pause is short after an
isolated 429 (``first_pause``: another integration's burst took a few slots of one
second, and stopping every sender for a second would cost far more than it saves); a
429 within a second after that pause means the window is still full, and every sender
then waits ``pause``, long enough for the window to empty.

With ``auto_margin`` (the client's default) the safety margin follows the network instead of
staying fixed: it starts at ``safety_margin``, narrows (at most ``narrow_rate`` per second)
towards what the evidence below allows, and widens at once on evidence of jitter or a 429.
``min_margin + jitter_share * spread``, where ``spread`` is the spread of the round-trip
times observed lately, caps how far the arrival order may take it.

The round trips cannot tell variation before arrival from a slow backend (most of a
round trip is the API's own work, after the gateway counted the request). So the automatic
margin also reads the order in which the gateway counted our requests (`ArrivalOrder`,
from ``X-Exl-Api-Remaining``): requests that arrived out of order widen the margin at
once to what their gaps and their frequency prove (`ArrivalOrder.proven`; held back only
until the counts show they are taken at arrival); once enough close pairs arrived in
order, the target may go below the round-trip bound, down to 1.15 x the finest gap that order
can resolve (about one interval) and never below ``min_margin``. While the order is still
being read the margin does not widen on the round trips alone.

Without the header, or once it showed it is not a count taken at arrival (two accepted
requests with the same count: written as the response leaves), the automatic margin falls
back to the fixed ``safety_margin`` it started from: narrower only while whole round trips
vary less than that (``min_margin + spread``; a request's way to the gateway cannot vary more
than its round trip), never wider on round trips (most of a round trip is the API's work after
arrival), and a 429 cuts the rate without widening it, exactly as for a fixed margin.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import attrs

from esploro_async.errors import ConfigurationError
from esploro_async.governance.arrivals import ArrivalOrder

__all__ = ["MAX_PAUSE", "AdaptiveRate", "RatePolicy", "usable_retry_after"]

MAX_PAUSE = 300.0
"""The longest shared pause a ``Retry-After`` can impose, in seconds."""

# Round-trip samples kept for the spread, how many are needed before narrowing, and how
# often (in samples) the target is computed again: sorting on every response would cost
# more than the rest of governance together.
_SAMPLES = 128
_LATEST = 32
_MIN_SAMPLES = 8
_EVERY = 8


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigurationError(f"{attribute.name} must be a positive number, got {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ConfigurationError(f"{attribute.name} must be >= 0, got {value!r}")


def _fraction(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 < value <= 1:
        raise ConfigurationError(f"{attribute.name} must be in (0, 1], got {value!r}")


@attrs.frozen
class RatePolicy:
    """How fast to send, and how to react to 429 ``PER_SECOND_THRESHOLD``.

    Attributes:
        rate_limit: the gateway's ceiling in requests per second (Esploro: 25).
        safety_margin: fraction of an interval reserved for network jitter; the
            spacing is ``(1 + safety_margin) / rate_limit`` (default 0.10: 44 ms,
            22.7 req/s; where an automatic margin starts, and the client's and
            `GovernanceSettings`' default is ``"auto"``). A fixed margin should be at
            least the worst spread of send-to-gateway delay in seconds; 0 only where
            that spread is nil.
        pause: seconds every sender waits after a 429 that follows another within a
            second of its pause (``Retry-After`` if longer).
        first_pause: seconds every sender waits after an isolated 429.
        decrease: factor applied to the rate on a 429 (AIMD multiplicative decrease).
        decrease_cooldown: at most one decrease per this many seconds.
        increase: requests per second added back after each ``increase_every`` seconds
            without a 429.
        increase_every: see ``increase``.
        min_rate: the rate never drops below this.
        adaptive: ``False`` keeps the pause but never changes the rate.
        auto_margin: let the margin follow the observed round-trip spread (module
            docstring); ``safety_margin`` is then where it starts.
        min_margin: the lower bound of an automatic margin.
        max_margin: the upper bound of an automatic margin.
        jitter_share: the part of the round-trip spread assumed to lie before arrival.
        arrival_order: also bound the jitter by the order the gateway counted requests in
            (module docstring); ``False``: the round trips alone decide.
        narrow_rate: how fast (margin per second) an automatic margin may narrow, the time
            counted from its first response or from the end of a hold (``margin_hold``):
            evidence that comes later narrows it at once as far as that time allows (the
            first bound of a harvest, after about 25 responses, usually all the way).
        margin_hold: seconds after a 429 during which an automatic margin never narrows.
        room_for_others: hold a request while the window at its arrival is expected to be
            full with the other integrations' requests, counted from the fall of
            ``X-Exl-Api-Remaining`` beyond our own (`governance.foreign`); ``False``: react
            to their 429s only.
    """

    rate_limit: float = attrs.field(default=25.0, validator=_positive)
    safety_margin: float = attrs.field(default=0.10, validator=_non_negative)
    pause: float = attrs.field(default=1.1, validator=_non_negative)
    first_pause: float = attrs.field(default=0.1, validator=_non_negative)
    decrease: float = attrs.field(default=0.9, validator=_fraction)
    decrease_cooldown: float = attrs.field(default=2.0, validator=_non_negative)
    increase: float = attrs.field(default=0.5, validator=_non_negative)
    increase_every: float = attrs.field(default=1.0, validator=_positive)
    min_rate: float = attrs.field(default=1.0, validator=_positive)
    adaptive: bool = True
    auto_margin: bool = False
    min_margin: float = attrs.field(default=0.02, validator=_non_negative)
    max_margin: float = attrs.field(default=0.5, validator=_non_negative)
    jitter_share: float = attrs.field(default=0.5, validator=_fraction)
    arrival_order: bool = True
    narrow_rate: float = attrs.field(default=0.05, validator=_positive)
    margin_hold: float = attrs.field(default=30.0, validator=_non_negative)
    room_for_others: bool = True

    def __attrs_post_init__(self) -> None:
        if self.auto_margin and not self.min_margin <= self.max_margin:
            raise ValueError(
                f"min_margin ({self.min_margin}) must not exceed max_margin ({self.max_margin})"
            )

    @classmethod
    def auto(cls, rate_limit: float = 25.0, **options: object) -> RatePolicy:
        """The policy of ``safety_margin="auto"``: an automatic margin starting at 0.10."""
        options.setdefault("safety_margin", 0.10)
        return cls(rate_limit=rate_limit, auto_margin=True, **options)  # type: ignore[arg-type]

    @property
    def interval(self) -> float:
        """Seconds between request starts at the full rate."""
        return (1.0 + self.safety_margin) / self.rate_limit

    @property
    def effective_rate(self) -> float:
        """Request starts per second at the full rate, after the margin."""
        return self.rate_limit / (1.0 + self.safety_margin)


class AdaptiveRate:
    """AIMD state (and the automatic margin) of one institution. Pure: every method takes the time.

    ``rate`` is the allowed rate before the safety margin; ``interval(now)`` is
    what the limiter spaces grants by; ``margin`` the safety margin now in force.
    """

    def __init__(self, policy: RatePolicy) -> None:
        self.policy = policy
        self._rate = policy.rate_limit
        self._last_decrease = -math.inf
        self._recovery_anchor = 0.0
        self.throttled_count: int = 0
        self._margin = policy.safety_margin
        self._samples: deque[float] = deque(maxlen=_SAMPLES)
        self._fresh = 0
        self._target = policy.safety_margin
        self._narrowed_at: float | None = None
        self._hold_until = -math.inf
        self._pause_end = -math.inf
        self._order = ArrivalOrder(policy.rate_limit) if policy.arrival_order else None
        self._round_trip_target = policy.safety_margin
        self._spread = math.inf

    @property
    def rate(self) -> float:
        """The rate as of the last call that was given the time."""
        return self._rate

    @property
    def margin(self) -> float:
        """The safety margin now in force."""
        return self._margin

    @property
    def proven(self) -> float:
        """The jitter the arrival order's inversions prove, in seconds (0: none seen)."""
        return self._order.proven() if self._order is not None else 0.0

    @property
    def departure(self) -> bool:
        """Whether the arrival order showed the count is written as responses leave."""
        return self._order is not None and self._order.departure

    def interval(self, now: float) -> float:
        """Seconds between grants at ``now``, after any additive recovery due."""
        self._recover(now)
        if self.policy.auto_margin:
            self._narrow(now)
        return (1.0 + self._margin) / self._rate

    def observe(self, now: float, round_trip: float, remaining: int | None = None) -> None:
        """Record one response (used by the automatic margin).

        ``round_trip``: seconds since its request was granted; ``remaining``: the
        ``X-Exl-Api-Remaining`` of an accepted request (``None`` for a refused one or a
        response without it).
        """
        if not self.policy.auto_margin:
            return
        order = self._order
        news = (
            order is not None
            and remaining is not None
            and order.observe(now - round_trip, remaining)
        )
        if self._sample(round_trip) or news:
            self._retarget(now)

    def observe_arrival(self, now: float, sent: float, remaining: int) -> None:
        """One accepted request, counted ``remaining`` by the gateway, sent at ``sent``.

        For a gate that reads the arrival order of requests other than its own (every
        process of an institution on Redis): ``sent`` is on a clock every sender shares
        (the shared schedule's slot); `observe` is then given no ``remaining``.
        """
        order = self._order
        if self.policy.auto_margin and order is not None and order.observe(sent, remaining):
            self._retarget(now)

    def _sample(self, round_trip: float) -> bool:
        """Add a round trip; True when the round-trip target was computed again."""
        samples = self._samples
        samples.append(round_trip)
        self._fresh += 1
        if len(samples) < _MIN_SAMPLES:
            return False
        # Every few samples: the order of arrivals, not one round trip, is what widens at once.
        if self._fresh < _EVERY:
            return False
        self._fresh = 0
        ordered = sorted(samples)
        last = len(ordered) - 1
        # The spread of the bulk (2nd to 98th percentile), not of one straggler; and that
        # of the latest samples (10th to 90th), which moves first when the network changes.
        low, high = ordered[round(0.02 * last)], ordered[round(0.98 * last)]
        latest = sorted(itertools.islice(reversed(samples), _LATEST))
        spread = max(
            high - low,
            latest[round(0.9 * (len(latest) - 1))] - latest[round(0.1 * (len(latest) - 1))],
        )
        self._spread = spread
        self._round_trip_target = self.policy.min_margin + self.policy.jitter_share * spread
        return True

    def _retarget(self, now: float) -> None:
        """Combine the round-trip bound with the arrival order (module docstring)."""
        policy = self.policy
        order = self._order
        if order is None or not order.reading:
            self._fall_back(now)
            return
        target = self._round_trip_target
        bound = order.bound()
        if bound is None:  # still reading: the round trips alone never widen
            target = min(target, self._margin)
        else:
            target = min(target, max(policy.min_margin, bound))
        target = max(target, order.proven())
        self._target = min(policy.max_margin, target)
        if self._target > self._margin:
            self._margin = self._target  # widen at once
        if self._narrowed_at is None:
            self._narrowed_at = now

    def _fall_back(self, now: float) -> None:
        """No arrival order to read: the starting margin, narrower only for tight round trips.

        A request's way to the gateway varies by no more than its whole round trip does, so
        round trips that vary less than the starting margin allow a narrower one; anything
        else keeps the starting margin. What the order had shown is void, unless a 429 holds
        the margin wide, or the order still holds inversions: while it distrusts the count
        (a new quota day) the jitter they proved keeps bounding the margin from below.
        """
        policy = self.policy
        proven = min(policy.max_margin, self.proven)
        self._target = max(proven, min(policy.safety_margin, policy.min_margin + self._spread))
        if self._target > self._margin:
            self._margin = self._target  # widen at once, never beyond the start or the proof
        elif now >= self._hold_until:
            self._margin = min(self._margin, max(policy.safety_margin, proven))
        if self._narrowed_at is None:
            self._narrowed_at = now

    def throttled(self, now: float, retry_after: float | None) -> float:
        """Register a 429 ``PER_SECOND_THRESHOLD`` at ``now``; return the pause deadline."""
        self.throttled_count += 1
        policy = self.policy
        if policy.adaptive and now - self._last_decrease >= policy.decrease_cooldown:
            self._rate = max(policy.min_rate, self._rate * policy.decrease)
            self._last_decrease = now
            # Without the arrival order the automatic margin is the fixed one it started from
            # (`_fall_back`): the rate's decrease is the whole reaction, as for a fixed margin.
            if policy.auto_margin and self._order is not None and self._order.reading:
                self._margin = min(policy.max_margin, max(2 * self._margin, policy.safety_margin))
        if policy.auto_margin:
            self._hold_until = now + policy.margin_hold
        self._recovery_anchor = now
        repeated = now <= self._pause_end + 1.0
        pause = policy.pause if repeated else min(policy.pause, policy.first_pause)
        self._pause_end = now + max(pause, usable_retry_after(retry_after) or 0.0)
        return self._pause_end

    def _narrow(self, now: float) -> None:
        if self._narrowed_at is None or self._margin <= self._target:
            return
        if now < self._hold_until:
            self._narrowed_at = now
            return
        step = self.policy.narrow_rate * (now - self._narrowed_at)
        self._margin = max(self._target, self._margin - step)
        self._narrowed_at = now

    def _recover(self, now: float) -> None:
        policy = self.policy
        if self._rate >= policy.rate_limit:
            return
        steps = math.floor((now - self._recovery_anchor) / policy.increase_every)
        if steps > 0:
            self._rate = min(policy.rate_limit, self._rate + steps * policy.increase)
            self._recovery_anchor += steps * policy.increase_every


def usable_retry_after(retry_after: float | None) -> float | None:
    """``Retry-After`` as a pause: ``None`` if absent, negative or not finite; at most `MAX_PAUSE`.

    One broken header must not stall every sender for hours (or forever).
    """
    if retry_after is None or not 0 <= retry_after < math.inf:
        return None
    return min(retry_after, MAX_PAUSE)

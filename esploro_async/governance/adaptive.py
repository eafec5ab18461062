"""The per-second policy and its adaptive (AIMD) controller.

The gateway allows ``rate_limit`` requests per second per institution, shared by
every integration. Our limiter runs at ``rate_limit / (1 + safety_margin)`` so
that network jitter up to ``safety_margin`` seconds cannot push 26 arrivals into
one second. When the gateway still answers 429 ``PER_SECOND_THRESHOLD``, someone
else is using the budget: every sender pauses long enough for the gateway's
window to empty, the rate drops multiplicatively (once per cooldown, since one
overload produces a cluster of 429s) and climbs back additively while no 429
comes, never above the ceiling.
"""

from __future__ import annotations

import math

import attrs

from esploro_async.errors import ConfigurationError

__all__ = ["MAX_PAUSE", "AdaptiveRate", "RatePolicy", "usable_retry_after"]

MAX_PAUSE = 300.0
"""The longest shared pause a ``Retry-After`` can impose, in seconds."""


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
            22.7 req/s). Choose at least the worst spread of send-to-gateway delay
            in seconds; 0 only where that spread is nil.
        pause: seconds every sender waits after a 429 (at least; ``Retry-After`` if longer).
        decrease: factor applied to the rate on a 429 (AIMD multiplicative decrease).
        decrease_cooldown: at most one decrease per this many seconds.
        increase: requests per second added back after each ``increase_every`` seconds
            without a 429.
        increase_every: see ``increase``.
        min_rate: the rate never drops below this.
        adaptive: ``False`` keeps the pause but never changes the rate.
    """

    rate_limit: float = attrs.field(default=25.0, validator=_positive)
    safety_margin: float = attrs.field(default=0.10, validator=_non_negative)
    pause: float = attrs.field(default=1.1, validator=_non_negative)
    decrease: float = attrs.field(default=0.8, validator=_fraction)
    decrease_cooldown: float = attrs.field(default=2.0, validator=_non_negative)
    increase: float = attrs.field(default=0.5, validator=_non_negative)
    increase_every: float = attrs.field(default=2.0, validator=_positive)
    min_rate: float = attrs.field(default=1.0, validator=_positive)
    adaptive: bool = True

    @property
    def interval(self) -> float:
        """Seconds between request starts at the full rate."""
        return (1.0 + self.safety_margin) / self.rate_limit

    @property
    def effective_rate(self) -> float:
        """Request starts per second at the full rate, after the margin."""
        return self.rate_limit / (1.0 + self.safety_margin)


class AdaptiveRate:
    """AIMD state for one institution. Pure: every method takes the current time.

    ``rate`` is the allowed rate before the safety margin; ``interval(now)`` is
    what the limiter spaces grants by.
    """

    def __init__(self, policy: RatePolicy) -> None:
        self.policy = policy
        self._rate = policy.rate_limit
        self._last_decrease = -math.inf
        self._recovery_anchor = 0.0
        self.throttled_count = 0

    @property
    def rate(self) -> float:
        """The rate as of the last call that was given the time."""
        return self._rate

    def interval(self, now: float) -> float:
        """Seconds between grants at ``now``, after any additive recovery due."""
        self._recover(now)
        return (1.0 + self.policy.safety_margin) / self._rate

    def throttled(self, now: float, retry_after: float | None) -> float:
        """Register a 429 ``PER_SECOND_THRESHOLD`` at ``now``; return the pause deadline."""
        self.throttled_count += 1
        policy = self.policy
        if policy.adaptive and now - self._last_decrease >= policy.decrease_cooldown:
            self._rate = max(policy.min_rate, self._rate * policy.decrease)
            self._last_decrease = now
        self._recovery_anchor = now
        return now + max(policy.pause, usable_retry_after(retry_after) or 0.0)

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

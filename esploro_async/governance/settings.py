"""`GovernanceSettings`: every governance knob, its default and its allowed range, once.

The client's keyword arguments (`esploro_async.session.options.ClientOptions`), the
in-process governance (`Governance.local`) and the institution-wide one
(`esploro_async.governance.redis.RedisGovernance`) all take their settings from one frozen
value, validated when it is built:

```python
settings = GovernanceSettings(safety_margin="auto", daily_reserve=1000)
governance = Governance.local(settings)
```

A value out of range raises `ConfigurationError` naming the field, the value and what is
allowed. The per-second reaction (pause, AIMD) and the automatic margin are handed to the
stores as a `RatePolicy` (`GovernanceSettings.rate_policy`); the defaults of those knobs are
the ones `RatePolicy` documents.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import time, timezone
from typing import Any, Literal

import attrs

from esploro_async.errors import ConfigurationError
from esploro_async.governance.adaptive import RatePolicy
from esploro_async.governance.protocol import OnQuotaExhausted

__all__ = ["GATEWAY_RATE_LIMIT", "GovernanceSettings", "describe_difference"]

GATEWAY_RATE_LIMIT = 25.0
"""The gateway's threshold: requests per second per institution (429 PER_SECOND_THRESHOLD)."""

_POLICY = attrs.fields_dict(RatePolicy)


def _default(name: str) -> Any:
    """The default `RatePolicy` documents for ``name`` (written there, and only there)."""
    return _POLICY[name].default


def _fail(name: str, value: object, allowed: str) -> ConfigurationError:
    return ConfigurationError(f"{name} must be {allowed}, got {value!r}")


def _number(
    low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False
) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """A validator: a real number (not a bool) within the bounds."""
    left = "(" if low_open else "["
    right = ")" if high_open or high == math.inf else "]"
    allowed = f"a number in {left}{low:g}, {high:g}{right}"

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(attribute.name, value, allowed)
        ok_low = value > low if low_open else value >= low
        ok_high = value < high if high_open else value <= high
        if not (ok_low and ok_high and math.isfinite(value)):
            raise _fail(attribute.name, value, allowed)

    return check


def _integer(low: int) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """A validator: an int (not a bool, not a float) at least ``low``."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and attribute.default is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise _fail(attribute.name, value, f"a whole number >= {low}")

    return check


def _flag(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise _fail(attribute.name, value, "True or False")


def _as_float(value: float) -> float:
    """Ints become floats (``rate_limit=25`` equals ``25.0``); anything else is validated."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _as_margin(value: float | Literal["auto"]) -> float | Literal["auto"]:
    return value if isinstance(value, str) else _as_float(value)


def _margin(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(attribute.name, value, "a number in [0, 1] or 'auto'")
    if not 0 <= value <= 1:
        raise _fail(attribute.name, value, "a number in [0, 1] or 'auto'")


def _choice(*allowed: str) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in allowed:
            raise _fail(attribute.name, value, " or ".join(repr(a) for a in allowed))

    return check


def _reset_time(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, time) or value.tzinfo is None:
        raise _fail(
            attribute.name,
            value,
            "a timezone-aware datetime.time, e.g. time(0, tzinfo=timezone.utc)",
        )


def _policy_field(name: str, validator: Callable[..., None] | None = None) -> Any:
    return attrs.field(
        default=_default(name),
        validator=validator or _flag,
        converter=None if validator is None else _as_float,
    )


@attrs.frozen(kw_only=True)
class GovernanceSettings:
    """Every governance setting of an institution; the same value drives every store.

    Attributes:
        rate_limit: requests per second the institution may send (the gateway's 25).
        allow_above_threshold: ``rate_limit`` above 25 is refused unless this is True
            (a gateway with a higher threshold, e.g. a simulator).
        safety_margin: ``"auto"`` (default): start at 0.10 and follow what the gateway's
            arrival order shows (`RatePolicy.auto`; without a readable order it stays at
            0.10, narrower only when whole round trips vary less); or a fixed fraction of
            an interval kept for network jitter: requests start
            ``(1 + safety_margin) / rate_limit`` seconds apart.
        max_in_flight: attempts on the wire at once (sizes the connection pool).
        interactive_slots: concurrency slots batch work may never take (default a fifth of
            ``max_in_flight``, at least 1, none when ``max_in_flight`` is 1).
        daily_reserve: requests of the daily quota never spent.
        batch_reserve: the daily-quota floor of batch work (default ``daily_reserve``).
        on_quota_exhausted: ``"raise"`` `DailyQuotaExhaustedError` or ``"wait"`` for the reset.
        quota_reset_time: when the quota day ends (default midnight UTC).
        pause: seconds every sender pauses after a repeated 429 ``PER_SECOND_THRESHOLD``.
        first_pause: seconds every sender pauses after an isolated 429.
        decrease: factor the adaptive rate is cut by on a 429.
        decrease_cooldown: seconds during which a further 429 does not cut again.
        increase: requests per second the rate recovers by, every ``increase_every`` s.
        increase_every: seconds between two recovery steps.
        min_rate: the adaptive rate never falls below this.
        adaptive: False keeps the rate fixed whatever the 429s.
        min_margin: the automatic margin's floor (``safety_margin="auto"``).
        max_margin: the automatic margin's ceiling.
        jitter_share: the share of the observed round-trip spread taken as jitter.
        arrival_order: whether the automatic margin reads the gateway's arrival order
            (``X-Exl-Api-Remaining``).
        narrow_rate: how fast (margin per second) the automatic margin may narrow, the time
            counted from its first response or from the end of a hold (``margin_hold``):
            evidence that comes later narrows it at once as far as that time allows.
        margin_hold: seconds after a 429 during which the automatic margin never narrows.
        room_for_others: hold a request while the gateway's window is expected to be full
            with other integrations' requests, read from the fall of
            ``X-Exl-Api-Remaining`` beyond our own (local store; Redis reacts to their 429s).

    The reaction to 429s and the automatic margin are described in full by `RatePolicy`.
    """

    rate_limit: float = attrs.field(
        default=_default("rate_limit"), converter=_as_float, validator=_number(0, low_open=True)
    )
    allow_above_threshold: bool = attrs.field(default=False, validator=_flag)
    safety_margin: float | Literal["auto"] = attrs.field(
        default="auto", converter=_as_margin, validator=_margin
    )
    max_in_flight: int = attrs.field(default=64, validator=_integer(1))
    interactive_slots: int | None = attrs.field(default=None, validator=_integer(0))
    daily_reserve: int = attrs.field(default=0, validator=_integer(0))
    batch_reserve: int | None = attrs.field(default=None, validator=_integer(0))
    on_quota_exhausted: OnQuotaExhausted = attrs.field(
        default="raise", validator=_choice("raise", "wait")
    )
    quota_reset_time: time = attrs.field(
        default=time(0, tzinfo=timezone.utc), validator=_reset_time
    )
    pause: float = _policy_field("pause", _number(0))
    first_pause: float = _policy_field("first_pause", _number(0))
    decrease: float = _policy_field("decrease", _number(0, 1, low_open=True))
    decrease_cooldown: float = _policy_field("decrease_cooldown", _number(0))
    increase: float = _policy_field("increase", _number(0))
    increase_every: float = _policy_field("increase_every", _number(0, low_open=True))
    min_rate: float = _policy_field("min_rate", _number(0, low_open=True))
    adaptive: bool = _policy_field("adaptive")
    min_margin: float = _policy_field("min_margin", _number(0, 1))
    max_margin: float = _policy_field("max_margin", _number(0, 1))
    jitter_share: float = _policy_field("jitter_share", _number(0, 1, low_open=True))
    arrival_order: bool = _policy_field("arrival_order")
    narrow_rate: float = _policy_field("narrow_rate", _number(0, low_open=True))
    margin_hold: float = _policy_field("margin_hold", _number(0))
    room_for_others: bool = _policy_field("room_for_others")

    def __attrs_post_init__(self) -> None:
        if self.rate_limit > GATEWAY_RATE_LIMIT and not self.allow_above_threshold:
            raise ConfigurationError(
                f"rate_limit must be a number in (0, 25], got {self.rate_limit!r}: the gateway "
                "allows 25 requests per second per institution. Pass "
                "allow_above_threshold=True only for a gateway with a higher threshold"
            )
        if self.interactive_slots is not None and self.interactive_slots >= self.max_in_flight:
            raise ConfigurationError(
                f"interactive_slots must be a whole number in [0, max_in_flight - 1] = "
                f"[0, {self.max_in_flight - 1}], got {self.interactive_slots!r}"
            )
        if self.batch_reserve is not None and self.batch_reserve < self.daily_reserve:
            raise ConfigurationError(
                f"batch_reserve must be >= daily_reserve ({self.daily_reserve}), "
                f"got {self.batch_reserve!r}"
            )
        if self.min_margin > self.max_margin:
            raise ConfigurationError(
                f"min_margin must be <= max_margin ({self.max_margin}), got {self.min_margin!r}"
            )

    @property
    def auto_margin(self) -> bool:
        """Whether the margin follows the network (``safety_margin="auto"``)."""
        return self.safety_margin == "auto"

    @property
    def start_margin(self) -> float:
        """The margin in force before anything is observed."""
        if isinstance(self.safety_margin, str):
            return float(_default("safety_margin"))
        return self.safety_margin

    @property
    def effective_rate(self) -> float:
        """Request starts per second at the full rate, after the (starting) margin."""
        return self.rate_limit / (1.0 + self.start_margin)

    @property
    def held_back_slots(self) -> int:
        """The concurrency slots batch work never takes (``interactive_slots`` resolved)."""
        if self.interactive_slots is not None:
            return self.interactive_slots
        return min(max(1, self.max_in_flight // 5), self.max_in_flight - 1)

    @property
    def floor_of_batch(self) -> int:
        """The daily-quota floor of batch work (``batch_reserve`` resolved)."""
        return self.daily_reserve if self.batch_reserve is None else self.batch_reserve

    def rate_policy(self) -> RatePolicy:
        """The per-second policy the rate gates run (`RatePolicy`)."""
        return RatePolicy(
            rate_limit=self.rate_limit,
            safety_margin=self.start_margin,
            pause=self.pause,
            first_pause=self.first_pause,
            decrease=self.decrease,
            decrease_cooldown=self.decrease_cooldown,
            increase=self.increase,
            increase_every=self.increase_every,
            # A 429 never raises the rate: a rate_limit below min_rate is the floor itself.
            min_rate=min(self.min_rate, self.rate_limit),
            adaptive=self.adaptive,
            auto_margin=self.auto_margin,
            min_margin=self.min_margin,
            max_margin=self.max_margin,
            jitter_share=self.jitter_share,
            arrival_order=self.arrival_order,
            narrow_rate=self.narrow_rate,
            margin_hold=self.margin_hold,
            room_for_others=self.room_for_others,
        )

    @classmethod
    def build(cls, rate_policy: RatePolicy | None = None, **settings: Any) -> GovernanceSettings:
        """Settings from keyword arguments, ``None`` meaning "the default".

        ``rate_policy`` (an older way to tune the per-second reaction) supplies the
        rate and policy fields; giving one of them beside it with another value is
        contradictory and raises `ConfigurationError`.
        """
        given = {name: value for name, value in settings.items() if value is not None}
        unknown = sorted(set(given) - set(attrs.fields_dict(cls)))
        if unknown:
            raise ConfigurationError(f"unknown governance setting {unknown[0]!r}")
        if rate_policy is not None:
            for name, value in _from_policy(rate_policy).items():
                if name in given and given[name] != value:
                    raise ConfigurationError(
                        f"{name}={given[name]!r} contradicts rate_policy.{name}={value!r}: "
                        "give it in one place"
                    )
                given[name] = value
        return cls(**given)


def _from_policy(policy: RatePolicy) -> dict[str, Any]:
    fields = attrs.asdict(policy)
    auto = fields.pop("auto_margin")
    if auto:
        if fields["safety_margin"] != _default("safety_margin"):
            raise ConfigurationError(
                "an automatic margin starts at "
                f"{_default('safety_margin')}; got a RatePolicy starting at "
                f"{fields['safety_margin']!r}"
            )
        fields["safety_margin"] = "auto"
    if policy.rate_limit > GATEWAY_RATE_LIMIT:
        fields["allow_above_threshold"] = True
    return fields


def describe_difference(mine: GovernanceSettings, theirs: GovernanceSettings) -> str:
    """The settings that differ: ``name=mine (the open one: theirs)``, comma separated."""
    parts = [
        f"{name}={getattr(mine, name)!r} (the open one: {getattr(theirs, name)!r})"
        for name in attrs.fields_dict(GovernanceSettings)
        if getattr(mine, name) != getattr(theirs, name)
    ]
    return ", ".join(parts)

"""When a failed attempt is tried again, and after how long.

The rules follow from what the gateway guarantees:

* 429 ``PER_SECOND_THRESHOLD`` is refused before processing, so every method is
  retried, after the pause governance imposes on all senders (no extra backoff);
* 429 ``DAILY_THRESHOLD`` is never retried;
* a connection that could not be established sent nothing: every method is retried;
* timeouts, broken connections and 500/502/503/504 may hide a processed request:
  only idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried, since a
  replayed POST could create or append twice.

Backoff is exponential with full jitter, capped, within an overall deadline.
A ``Retry-After`` longer than ``retry_after_cap`` fails that request at once instead of
sleeping, and never pauses other senders; one that is negative, not finite or not a
number is ignored.
"""

from __future__ import annotations

import math
import random

import attrs

from esploro_async.errors import ConfigurationError

__all__ = ["IDEMPOTENT_METHODS", "RetryPolicy"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{attribute.name} must be a number >= 0, got {value!r}")
    if not (value >= 0 and math.isfinite(value)):
        raise ConfigurationError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """Retry settings; immutable, so one policy can be shared by every request.

    Attributes:
        max_attempts: attempts per request, the first included (1 disables retries).
        backoff_initial: the cap of the first backoff, seconds.
        backoff_multiplier: growth of the cap per attempt.
        backoff_max: the largest cap.
        deadline: seconds after the first attempt past which no retry starts (None: none).
        retry_after_cap: a ``Retry-After`` longer than this is not waited for: the error
            is raised at once.
        retry_statuses: server statuses retried for idempotent methods.
    """

    max_attempts: int = attrs.field(default=5)
    backoff_initial: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_multiplier: float = attrs.field(default=2.0, validator=_non_negative)
    backoff_max: float = attrs.field(default=30.0, validator=_non_negative)
    deadline: float | None = attrs.field(default=300.0)
    retry_after_cap: float = attrs.field(default=120.0, validator=_non_negative)
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})

    @max_attempts.validator
    def _check_attempts(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"max_attempts must be a whole number >= 1, got {value!r}")

    @deadline.validator
    def _check_deadline(self, _attribute: attrs.Attribute[float | None], value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigurationError(
                f"deadline must be a number of seconds > 0, or None for no deadline, got {value!r}"
            )

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based): full jitter."""
        cap = min(self.backoff_max, self.backoff_initial * self.backoff_multiplier ** (attempt - 1))
        return (rng or random).uniform(0.0, cap)

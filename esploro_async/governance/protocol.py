"""The contracts between the session and the governance layer.

The session knows only `GovernanceProtocol`: it opens one *attempt* per HTTP
attempt (retries included), sends inside it, and records what came back:

```python
async with governance.attempt(retry=attempt_no > 1) as attempt:
    response = await http.send(request)
    await attempt.record(ResponseInfo(status_code=response.status_code, remaining=...))
```

`Governance` (in `esploro_async.governance.core`) implements it by composing a
`RateGate` (the per-second threshold) and a `QuotaLedger` (the daily quota).
In-process implementations live in this package; an institution-wide backend
(e.g. on Redis) provides its own gate and ledger and reuses everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import attrs

from esploro_async.governance.events import GovernanceSnapshot
from esploro_async.governance.lanes import Lane

__all__ = [
    "Attempt",
    "CounterTiming",
    "GovernanceProtocol",
    "OnQuotaExhausted",
    "QuotaLedger",
    "QuotaRefusal",
    "QuotaStatus",
    "RateGate",
    "ResponseInfo",
]


OnQuotaExhausted = Literal["raise", "wait"]
"""At the daily quota: ``"raise"`` `DailyQuotaExhaustedError`, or ``"wait"`` for the reset."""

CounterTiming = Literal["arrival", "departure", "absent", "unread"]
"""What the responses showed of ``X-Exl-Api-Remaining``: ``"arrival"``, a count taken as the
gateway counts each request (as far as the order of the counts tells); ``"departure"``, two
accepted requests with the same count, so it is written as responses leave and the order of
arrivals cannot be read from it; ``"absent"``, no accepted response carried it yet;
``"unread"``, the gate does not read it (``room_for_others`` and ``auto_margin`` both off)."""


@attrs.frozen
class ResponseInfo:
    """What governance learns from one attempt.

    Attributes:
        status_code: the HTTP status, or ``None`` when no response arrived.
        error_code: the gateway/API error code of the body, if any.
        remaining: ``X-Exl-Api-Remaining``, if present and numeric.
        server_date: the response's ``Date`` header, timezone-aware, if present.
        retry_after: ``Retry-After`` in seconds, if present.
        sent: ``False`` when the request provably never reached the gateway.
    """

    status_code: int | None
    error_code: str | None = None
    remaining: int | None = None
    server_date: datetime | None = None
    retry_after: float | None = None
    sent: bool = True


@attrs.frozen
class QuotaStatus:
    """The daily-quota ledger's view.

    Attributes:
        remaining: the lowest ``X-Exl-Api-Remaining`` seen this quota day (None: unknown).
        estimate: ``remaining`` minus the requests in flight (None: unknown).
        in_flight: requests reserved and not yet settled.
        reserve: the floor; nothing is sent once ``estimate`` is at or below it.
        resets_at: when the quota day ends.
        resets_in: seconds from now until ``resets_at`` (on the server's clock).
    """

    remaining: int | None
    estimate: int | None
    in_flight: int
    reserve: int
    resets_at: datetime
    resets_in: float


class QuotaRefusal(Exception):
    """Raised by `QuotaLedger.reserve` when sending would take the estimate below the reserve."""

    def __init__(self, status: QuotaStatus, *, from_gateway: bool = False) -> None:
        super().__init__("daily quota reserve reached")
        self.status = status
        self.from_gateway = from_gateway


class RateGate(Protocol):
    """The per-second threshold: grants request starts at a safe spacing.

    Every member is part of the contract: a store that cannot honour one of the
    settings behind it refuses that setting with `ConfigurationError` when it is built.
    """

    async def acquire(self, priority: int = 0) -> None:
        """Return when one request may start now; lower ``priority`` values go first.

        Cancellation consumes nothing.
        """

    async def throttled(self, retry_after: float | None) -> None:
        """The gateway answered 429 ``PER_SECOND_THRESHOLD``: pause every sender and slow down.

        An isolated 429 pauses ``first_pause``; one within a second of that pause's end
        pauses ``pause`` (or ``Retry-After`` if longer); the rate drops by ``decrease``
        at most once per ``decrease_cooldown``.
        """

    def observe(self, round_trip: float, remaining: int | None) -> None:
        """One response: seconds since its permit and, for an accepted request, its
        ``X-Exl-Api-Remaining`` (the automatic margin's inputs; ignored with a fixed one)."""

    def current_rate(self) -> float:
        """The rate (requests per second, before the safety margin) now in force."""

    def current_margin(self) -> float:
        """The safety margin now in force (it moves when the margin is automatic)."""

    def paused_until(self) -> float | None:
        """The time (``anyio.current_time()`` clock) until which no request starts, if paused."""

    def others_rate(self) -> float | None:
        """Other integrations' requests per second as the daily counter shows them.

        ``None`` when this gate cannot tell (no header seen, or it does not read it)."""

    def counter_timing(self) -> CounterTiming:
        """What the responses showed of ``X-Exl-Api-Remaining`` (see `CounterTiming`)."""

    @property
    def waiting(self) -> Mapping[Lane, int]:
        """Callers of this process waiting for a permit, by lane."""


class QuotaLedger(Protocol):
    """The daily quota: tracks ``X-Exl-Api-Remaining`` and refuses to send below the reserve."""

    async def reserve(self, floor: int | None = None) -> None:
        """Count one request as in flight, or raise `QuotaRefusal` if it may not be sent.

        ``floor`` is the reserve of the request's lane (default: the ledger's own). May
        wait while the answer depends on requests in flight (a probe of an unknown quota,
        or requests whose responses may show that the reserve is not reached yet).
        """

    async def confirm(self, floor: int | None = None) -> bool:
        """Check a reservation against the latest knowledge, right before sending.

        ``True``: send. ``False``: not now: release the reservation (``settle(None)``)
        and reserve again. Raises `QuotaRefusal` when the reserve is reached; the
        caller releases the reservation then too. Must not wait: a rate permit is held.
        """

    async def settle(self, info: ResponseInfo | None) -> None:
        """The request reserved earlier finished; ``info`` is ``None`` if it was never sent.

        Called from cleanup code, possibly in a cancelled task: an implementation
        that awaits I/O must shield it (``anyio.CancelScope(shield=True)``).
        """

    def status(self) -> QuotaStatus:
        """The current view of the quota."""


class Attempt(Protocol):
    """One HTTP attempt holding a concurrency slot, a quota reservation and a rate permit."""

    async def record(self, info: ResponseInfo) -> None:
        """Tell governance what the attempt produced (call at most once)."""


@runtime_checkable
class GovernanceProtocol(Protocol):
    """What the session and the streams need from governance; see the module docstring.

    Everything the client reads from its governance is declared here, so any object
    that satisfies this protocol (the in-process `Governance`, `RedisGovernance`, a
    test double) is used the same way.
    """

    @property
    def max_in_flight(self) -> int:
        """Attempts allowed on the wire at once (sizes the connection pool and prefetch)."""

    @property
    def on_quota_exhausted(self) -> OnQuotaExhausted:
        """What a request does at the daily quota: raise, or wait for the reset."""

    def attempt(
        self, *, retry: bool = False, lane: Lane = "batch"
    ) -> AbstractAsyncContextManager[Attempt]:
        """Wait for the right to send one request (raises `DailyQuotaExhaustedError`)."""

    def snapshot(self) -> GovernanceSnapshot:
        """Counters and state for monitoring."""

    async def aclose(self) -> None:
        """Release resources (connections of a shared backend)."""

"""Client-side enforcement of the gateway's governance thresholds.

* `SpacingLimiter`: FIFO, burst 1, request starts at least one interval apart.
* `RatePolicy` / `AdaptiveRate`: the per-second ceiling, safety margin and AIMD
  reaction to 429 ``PER_SECOND_THRESHOLD``.
* `LocalQuotaLedger`: the daily quota from ``X-Exl-Api-Remaining``, with a reserve.
* `GovernanceSettings`: every setting, its default and its allowed range, once.
* `Governance`: the three composed behind `GovernanceProtocol`, which is all the
  session knows; other backends provide their own `RateGate` and `QuotaLedger`.
"""

from esploro_async.governance.adaptive import AdaptiveRate, RatePolicy
from esploro_async.governance.core import Governance, LocalRateGate, OnQuotaExhausted
from esploro_async.governance.events import GovernanceSnapshot, QuotaLowEvent, ThrottledEvent
from esploro_async.governance.lanes import LANES, Lane, current_lane, use_lane
from esploro_async.governance.limiter import SpacingLimiter
from esploro_async.governance.protocol import (
    Attempt,
    GovernanceProtocol,
    QuotaLedger,
    QuotaRefusal,
    QuotaStatus,
    RateGate,
    ResponseInfo,
)
from esploro_async.governance.quota import LocalQuotaLedger, QuotaDay, ServerClock
from esploro_async.governance.settings import GovernanceSettings

__all__ = [
    "LANES",
    "AdaptiveRate",
    "Attempt",
    "Governance",
    "GovernanceProtocol",
    "GovernanceSettings",
    "GovernanceSnapshot",
    "Lane",
    "LocalQuotaLedger",
    "LocalRateGate",
    "OnQuotaExhausted",
    "QuotaDay",
    "QuotaLedger",
    "QuotaLowEvent",
    "QuotaRefusal",
    "QuotaStatus",
    "RateGate",
    "RatePolicy",
    "ResponseInfo",
    "ServerClock",
    "SpacingLimiter",
    "ThrottledEvent",
    "current_lane",
    "use_lane",
]

"""Institution-wide governance on Redis: many processes, one per-second threshold, one quota.

The gateway's thresholds belong to the *institution*: 25 requests per second and a daily
quota shared by every process, host and integration. In-process limiters cannot see each
other (four of them send at four times the rate), so this backend keeps the state in Redis
and composes it into the ordinary `Governance`:

```python
governance = RedisGovernance("redis://localhost:6379/0", institution="01ABC_INST")
async with EsploroClient(governance=governance) as client:
    ...
await governance.aclose()
```

**Rate (`RedisRateGate`).** A GCRA scheduler in one Lua script, burst 1, reading the
Redis server's clock with ``TIME`` (µs). Host clocks are never used for the shared
schedule: a host whose clock is 250 ms off would otherwise stamp its grants in the past or
the future and the limiters built on client time let 41-52 requests into one second (see
the rate-limiting notes). The script keeps one hash per institution: the theoretical
arrival time ``tat``, the adaptive rate, its recovery anchor, the last decrease and the
shared pause. A call either *reserves* the slot ``max(tat, now, paused)`` (if it is at most
``horizon`` ahead) and advances ``tat`` by the emission interval ``T = (1 + margin) / rate``,
or refuses with the time until one would fit. In each process only the head of a FIFO
queue talks to Redis: it reserves, releases the queue at once and sleeps until its slot
outside it; on a refusal it sleeps ``retry + horizon / 2`` (hysteresis), so Redis sees
about one script call per grant. A task that wakes more than ``late_tolerance`` after its
slot (event-loop lag) does not send: it reserves again. A local `SpacingLimiter` runs
after the Redis grant as cheap insurance against bunching (spacing ``T - late_tolerance``:
at exactly ``T`` one late wake-up would make every following slot of the process stale).
A missing schedule (first use, a restarted ``redis-server``, an expired or evicted key)
starts one ``horizon`` ahead: processes may still hold slots of the lost one up to there.

**Lanes across processes.** While interactive requests come from any process (within
``interactive_window`` of the last one) they have their own schedule ``itat`` in the same
hash, at ``interactive_share`` of the rate with a burst of ``interactive_burst``, and batch
work runs at the rest less the burst: a page view never queues behind the batch work
reserved by other processes, and no window holds more than 24 starts. The first
interactive request of a busy period goes at once, before the batch slots already handed
out (one extra start in a window, within the margin); the next ones wait until one interval
after those (``tat0``). Still one script call per grant.

**429.** A "penalize" script sets ``paused = tat = max(tat, now + pause)``, multiplies the
shared rate by ``decrease`` at most once per cooldown and restarts the additive recovery
(`RatePolicy` semantics, applied in the reserve script), then publishes the pause on the
institution's channel: every process drops the reservations that fall inside it.

**Quota (`RedisQuotaLedger`).** A key per quota day (the day of the gateway's ``Date``
header) holds the lowest ``X-Exl-Api-Remaining`` seen by any process (48 h TTL).
Each process publishes its requests in flight in a hash with a lease (a sorted set of
expiry times: a crashed process stops counting after ``inflight_lease`` seconds). While
the day's quota is unknown, the first reservation institution-wide takes the day's
``probe`` key and every other waits for its answer (three answers without the header and
probing stops, as in process). The ledger reserves locally while the shared estimate is
far above the reserve and syncs with Redis at most every ``sync_interval``; within
``strict_margin`` of the reserve every reservation is an atomic check in Redis of ``lowest
- in flight everywhere`` (less ``slack`` while some process still reserves from its own
view, the ``loose`` set), every settlement is published at once, and a refusal waits while
requests are in flight anywhere: the institution ends at the reserve.

**Keys.** All under ``{prefix}:{INSTITUTION}:`` (one Cluster hash tag: ``redis+cluster://``
URLs work as well) with expiries: ``rate`` (hash), ``margins`` (hash: each process's
proposal for an automatic margin), ``quota:YYYY-MM-DD`` and ``quota:YYYY-MM-DD:at`` (when it
was last reported), ``probe:YYYY-MM-DD``, ``unreported:YYYY-MM-DD``, ``inflight`` (hash),
``leases`` and ``loose`` (zsets), ``grants``, ``procs`` and ``seen`` (what `read_status`
shows), and the pub/sub channel ``events``. An idle institution leaves nothing behind. Keys
holding what the scripts cannot read are dropped and rebuilt on the safe side.

**Redis unreachable.** By default acquiring raises `RedisUnavailableError`. With
``fallback="local"`` each process falls back to a conservative local rate
(``fallback_rate``, never the full rate: the processes cannot see each other), after a
pause covering the reservations Redis may still have handed out, logs a warning, probes
Redis every ``probe_interval`` and returns to it (pushing the shared schedule back by one
pause so the fallback traffic has left the gateway's window).
"""

from esploro_async.errors import RedisUnavailableError
from esploro_async.governance.redis._store import Fallback
from esploro_async.governance.redis.governance import RedisGovernance
from esploro_async.governance.redis.quota import RedisQuotaLedger
from esploro_async.governance.redis.rate import RedisRateGate
from esploro_async.governance.redis.status import InstitutionStatus, read_status

__all__ = [
    "Fallback",
    "InstitutionStatus",
    "RedisGovernance",
    "RedisQuotaLedger",
    "RedisRateGate",
    "RedisUnavailableError",
    "read_status",
]

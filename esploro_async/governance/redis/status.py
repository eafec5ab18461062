"""An institution's live governance, read from Redis (what ``esploro-async status`` shows).

Every process publishes with its rate reservations (in the same script call): the grants
of each second of the last minute, its requests waiting for a permit by lane, and when it
was last seen. The quota ledger keeps the day's lowest ``X-Exl-Api-Remaining`` and the
requests in flight of every process. `read_status` reads all of it in one round trip
per key, without changing anything.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

import attrs

from esploro_async.governance.quota import QuotaDay
from esploro_async.governance.redis._store import US, as_int, connect, key_base

__all__ = ["InstitutionStatus", "read_status"]

#: Waiting counts of processes not seen for longer than this are stale (a process with
#: requests waiting calls Redis at least once per reservation horizon).
WAITING_FRESH = 5.0


@attrs.frozen
class InstitutionStatus:
    """The institution's governance as Redis holds it now.

    Attributes:
        institution: the institution code.
        server_time: the Redis server's clock (the shared schedule runs on it).
        rate: the shared adaptive rate (requests per second before the safety margin), or
            ``None`` when no process has reserved recently.
        granted_last_second: permits granted for the last full second.
        granted_per_second: the average over the last 10 seconds.
        paused_for: seconds left of a shared pause after a 429 (0 if none).
        waiting_interactive, waiting_batch: requests waiting for a permit, all processes.
        in_flight: requests reserved against the daily quota and not yet settled.
        quota_day: the quota day (from the server clock and the reset time).
        quota_remaining: the lowest ``X-Exl-Api-Remaining`` seen that day (None: unknown).
        quota_resets_at: when that quota day ends.
        processes: processes seen in the last minute.
    """

    institution: str
    server_time: datetime
    rate: float | None
    granted_last_second: int
    granted_per_second: float
    paused_for: float
    waiting_interactive: int
    waiting_batch: int
    in_flight: int
    quota_day: date
    quota_remaining: int | None
    quota_resets_at: datetime
    processes: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (ISO dates)."""
        out = attrs.asdict(self)
        for name in ("server_time", "quota_day", "quota_resets_at"):
            out[name] = out[name].isoformat()
        return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def read_status(
    url: str,
    institution: str,
    *,
    key_prefix: str = "esploro",
    quota_reset_time: time = time(0, tzinfo=timezone.utc),
) -> InstitutionStatus:
    """Read the institution's governance from Redis (``url`` as for `RedisGovernance`)."""
    base = key_base(institution, key_prefix)
    client = connect(url, pool_size=2, socket_timeout=5.0)
    try:
        seconds, micros = await client.time()
        now_us = int(seconds) * US + int(micros)
        now = datetime.fromtimestamp(now_us / US, timezone.utc)
        days = QuotaDay(quota_reset_time)
        day = days.of(now)
        rate = {_text(k): _text(v) for k, v in (await client.hgetall(base + "rate")).items()}
        grants = {int(_text(k)): int(v) for k, v in (await client.hgetall(base + "grants")).items()}
        seen = await client.zrangebyscore(base + "seen", now_us - 60 * US, "+inf", withscores=True)
        procs = {_text(k): _text(v) for k, v in (await client.hgetall(base + "procs")).items()}
        in_flight = await client.hvals(base + "inflight")
        remaining = await client.get(f"{base}quota:{day.isoformat()}")
    finally:
        await client.aclose()
    second = now_us // US
    waiting = [0, 0]
    for member, score in seen:
        if now_us - score <= WAITING_FRESH * US:
            counts = procs.get(_text(member), "0 0").split()
            waiting = [waiting[0] + int(counts[0]), waiting[1] + int(counts[1])]
    paused = int(float(rate.get("paused", "0"))) - now_us
    return InstitutionStatus(
        institution=institution,
        server_time=now,
        rate=float(rate["rate"]) if "rate" in rate else None,
        granted_last_second=grants.get(second - 1, 0),
        granted_per_second=sum(grants.get(second - k, 0) for k in range(1, 11)) / 10,
        paused_for=max(0.0, paused / US),
        waiting_interactive=waiting[0],
        waiting_batch=waiting[1],
        in_flight=sum(as_int(v) for v in in_flight),
        quota_day=day,
        quota_remaining=None if remaining is None else as_int(remaining),
        quota_resets_at=days.resets_at(day),
        processes=len(seen),
    )

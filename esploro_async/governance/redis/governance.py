"""`RedisGovernance`: the ordinary `Governance` with its gate and ledger in Redis."""

from __future__ import annotations

import os
from typing import Any

from esploro_async.errors import ConfigurationError
from esploro_async.governance.adaptive import RatePolicy
from esploro_async.governance.core import Governance
from esploro_async.governance.redis._store import Fallback, Store
from esploro_async.governance.redis.quota import RedisQuotaLedger
from esploro_async.governance.redis.rate import RedisRateGate
from esploro_async.governance.settings import GovernanceSettings


class RedisGovernance(Governance):
    """`Governance` whose rate gate and quota ledger live in Redis, for many processes.

    Every process (and host) working for the institution creates one with the same
    ``url``, ``institution`` and rate settings and passes it to its clients:

    ```python
    governance = RedisGovernance("redis://redis:6379/0", institution="01ABC_INST")
    async with EsploroClient(governance=governance) as client: ...
    await governance.aclose()
    ```

    Args:
        url: a redis-py URL of one server (``redis://host:6379/0``, ``rediss://``,
            ``unix://``), or of a Redis Cluster: ``redis+cluster://host:7000`` (any node;
            ``rediss+cluster://`` with TLS). Every key of an institution shares one hash
            tag, so each script call runs on one node.
        institution: the institution code: the budget is shared by everything using it, so
            it is required (a key fingerprint would silently split one institution's
            budget between its API keys).
        settings: every governance setting (`GovernanceSettings`), as for the in-process
            governance; all processes should use the same values. For short, its fields
            may be given as keyword arguments instead (``daily_reserve=1000``).
        fallback: ``"error"`` (default) raises `RedisUnavailableError` while Redis is
            unreachable; ``"local"`` continues at ``fallback_rate`` per process.
        fallback_rate: request starts per second per process in fallback (default 5.0, or
            a fifth of the effective rate if that is less: keep ``processes × fallback_rate``
            below the effective rate).
        key_prefix: first part of every key (``{prefix}:{INSTITUTION}:...``).
        rate_policy: tunes the per-second reaction the older way (`GovernanceSettings.build`).
        horizon: reservation horizon in seconds (default 1.0).
        batch_horizon: how far ahead batch work reserves its slots (default 0.1 s): a new
            interactive request of any process waits at most that long behind them (p95
            8 ms for interactive calls beside 4 harvests, from the first request; 1.0 s,
            the earlier default, gave 266 ms).
        late_tolerance: seconds after its slot that a task may still send (default 0.020).
        quota_sync_interval: seconds between quota syncs far from the reserve (default 0.5).
        inflight_lease: seconds after which a vanished process stops counting (default 120).
        pool_size: Redis connections per process (a `BlockingConnectionPool`, default 8).
        socket_timeout: seconds before a Redis call counts as failed (default 1.0).
        interactive_share: while interactive requests come from any process, the share of
            the rate kept for them, before the batch work of every process (default 0.25).
        interactive_window: seconds after the last interactive request during which that
            share is kept (default 30).
        quota_strict_margin: requests above the reserve from which every reservation is
            counted in Redis (default ``4 × rate_limit + 200``).
    """

    def __init__(
        self,
        url: str,
        settings: GovernanceSettings | None = None,
        *,
        institution: str,
        fallback: Fallback = "error",
        fallback_rate: float | None = None,
        key_prefix: str = "esploro",
        rate_policy: RatePolicy | None = None,
        horizon: float = 1.0,
        late_tolerance: float = 0.020,
        quota_sync_interval: float = 0.5,
        inflight_lease: float = 120.0,
        pool_size: int = 8,
        socket_timeout: float = 1.0,
        interactive_share: float = 0.25,
        interactive_window: float = 30.0,
        batch_horizon: float = 0.1,
        quota_strict_margin: int | None = None,
        **options: Any,
    ) -> None:
        if settings is None:
            settings = GovernanceSettings.build(rate_policy, **options)
        elif options or rate_policy is not None:
            raise ConfigurationError("pass settings or keyword settings, not both")
        if pool_size < 2:
            raise ConfigurationError("pool_size must be >= 2 (one connection listens for pauses)")
        policy = settings.rate_policy()
        self.institution = institution
        self._store = Store(
            url,
            institution=institution,
            key_prefix=key_prefix,
            pool_size=pool_size,
            socket_timeout=socket_timeout,
        )
        gate = RedisRateGate(
            self._store,
            policy,
            horizon=horizon,
            late_tolerance=late_tolerance,
            fallback=fallback,
            fallback_rate=fallback_rate,
            interactive_share=interactive_share,
            interactive_window=interactive_window,
            batch_horizon=batch_horizon,
        )
        ledger = RedisQuotaLedger(
            self._store,
            settings.daily_reserve,
            rate_limit=policy.rate_limit,
            sync_interval=quota_sync_interval,
            inflight_lease=inflight_lease,
            fallback=fallback,
            reset_time=settings.quota_reset_time,
            strict_margin=quota_strict_margin,
        )
        super().__init__(rate=gate, quota=ledger, settings=settings)
        self.gate = gate
        self.ledger = ledger

    @classmethod
    def from_env(cls, **kwargs: Any) -> RedisGovernance:
        """Build from ``$ESPLORO_REDIS_URL`` and ``$ESPLORO_INSTITUTION`` (both required).

        Keyword arguments are passed on (e.g. ``daily_reserve=1000, fallback="local"``).
        """
        url = os.environ.get("ESPLORO_REDIS_URL")
        institution = kwargs.pop("institution", None) or os.environ.get("ESPLORO_INSTITUTION")
        if not url:
            raise ConfigurationError("set ESPLORO_REDIS_URL, e.g. redis://localhost:6379/0")
        if not institution:
            raise ConfigurationError(
                "set ESPLORO_INSTITUTION to the institution code (e.g. 01ABC_INST): every "
                "process of the institution must use the same one"
            )
        return cls(url, institution=institution, **kwargs)

    @property
    def redis(self) -> Any:
        """The redis-py client (``Redis``, or ``RedisCluster`` for a cluster URL)."""
        return self._store.client

    @property
    def key_prefix(self) -> str:
        """The prefix of every key of this institution, hash tag included."""
        return self._store.base

    def stats(self) -> dict[str, int]:
        """Counters of this process: script calls, grants, refusals, stale/dropped slots."""
        return {"script_calls": self._store.script_calls, **self.gate.stats}

    async def aclose(self) -> None:
        """Stop the pause listener and close the connection pool."""
        await self.gate.aclose()
        await self._store.aclose()

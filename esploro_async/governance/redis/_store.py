"""The Redis connection, key names and small helpers shared by the gate and the ledger."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from esploro_async.errors import ConfigurationError
from esploro_async.governance.registry import check_institution

try:
    import redis.asyncio as aioredis
    from redis import exceptions as redis_errors
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    _IMPORT_ERROR: ImportError | None = None
except ImportError as _exc:  # pragma: no cover - exercised without the extra installed
    _IMPORT_ERROR = _exc

from esploro_async.governance.redis._scripts import PENALIZE_LUA, QUOTA_LUA, RESERVE_LUA

Fallback = Literal["error", "local"]

log = logging.getLogger("esploro_async.governance.redis")

US = 1_000_000
QUOTA_TTL_MS = 48 * 3600 * 1000


def require_redis() -> None:
    if _IMPORT_ERROR is not None:
        raise ImportError(
            "RedisGovernance needs the redis package: pip install 'esploro-async[redis]'"
        ) from _IMPORT_ERROR


class StoreRefused(OSError):
    """Redis answers, but refuses the governance scripts (its keys hold garbage)."""


def unreachable_errors() -> tuple[type[BaseException], ...]:
    return (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


def as_int(value: Any) -> int:
    return int(value.decode() if isinstance(value, bytes) else value)


def as_float(value: Any) -> float:
    return float(value.decode() if isinstance(value, bytes) else value)


CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def key_base(institution: str, key_prefix: str) -> str:
    """``{prefix}:{INSTITUTION}:``, the start of every key (one Cluster hash tag)."""
    check_institution(institution)
    if not key_prefix or "{" in key_prefix or "}" in key_prefix:
        raise ConfigurationError(f"key_prefix must be non-empty without braces: {key_prefix!r}")
    return f"{key_prefix}:{{{institution}}}:"


def connect(url: str, *, pool_size: int, socket_timeout: float) -> Any:
    """A redis-py asyncio client for ``url``.

    ``redis://``, ``rediss://`` and ``unix://`` reach one server (a `BlockingConnectionPool`
    of ``pool_size``); ``redis+cluster://host:port`` (or ``rediss+cluster://``) a Redis
    Cluster through any of its nodes.
    """
    require_redis()
    scheme, sep, rest = url.partition("://")
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "retry": Retry(NoBackoff(), 1),
    }
    if sep and scheme.lower() in CLUSTER_SCHEMES:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(
            f"{CLUSTER_SCHEMES[scheme.lower()]}://{rest}", max_connections=pool_size, **options
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=pool_size, timeout=socket_timeout, **options
    )
    return aioredis.Redis.from_pool(pool)


class Store:
    """The Redis connection, key names and scripts shared by one gate and one ledger."""

    def __init__(
        self,
        url: str,
        *,
        institution: str,
        key_prefix: str,
        pool_size: int,
        socket_timeout: float,
    ) -> None:
        require_redis()
        base = key_base(institution, key_prefix)
        self.base = base
        self.rate_key = base + "rate"
        self.inflight_key = base + "inflight"
        self.leases_key = base + "leases"
        self.loose_key = base + "loose"
        self.procs_key = base + "procs"
        self.seen_key = base + "seen"
        self.grants_key = base + "grants"
        self.margins_key = base + "margins"
        self.room_key = base + "room"
        self.arrivals_key = base + "arrivals"
        self.channel = base + "events"
        self.client = connect(url, pool_size=pool_size, socket_timeout=socket_timeout)
        self.reserve_script = self.client.register_script(RESERVE_LUA)
        self.penalize_script = self.client.register_script(PENALIZE_LUA)
        self.quota_script = self.client.register_script(QUOTA_LUA)
        self.script_calls = 0
        #: This process (one `Store` per governance) in the keys other processes read.
        self.process_id = uuid.uuid4().hex[:16]

    def quota_key(self, day: date) -> str:
        """The key of one quota day."""
        return f"{self.base}quota:{day.isoformat()}"

    def unreported_key(self, day: date) -> str:
        """The key counting the day's probes answered without a quota header."""
        return f"{self.base}unreported:{day.isoformat()}"

    def seen_at_key(self, day: date) -> str:
        """The key of when the day's count was last reported (Redis ``TIME``, µs)."""
        return f"{self.base}quota:{day.isoformat()}:at"

    def probe_key(self, day: date) -> str:
        """The key naming the process whose request probes an unknown quota day."""
        return f"{self.base}probe:{day.isoformat()}"

    async def run(self, script: Any, keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
        """Run a registered script; returns its reply as a list.

        The call runs in a task of its own and the caller awaits it through
        `asyncio.shield`, so a cancelled caller always stops with `CancelledError`: redis-py
        sends a command inside `asyncio.wait_for`, which on Python < 3.12 returns the result
        and drops the cancellation when both come at once; the caller then went on with a
        rate permit granted after it was cancelled, and sent a request nobody waited for.
        A cancelled caller still waits for the call to end (one round trip), so that what
        the script wrote in Redis stays in order with this process's next call.

        Keys of ours holding something the scripts cannot read (written by something
        else) are dropped and the call made once more: the scripts treat a missing key as
        lost state, on the safe side (a lost schedule starts one horizon later, an unknown
        quota is probed). If Redis still answers with an error, `StoreRefused`: handled as
        an unreachable Redis (``fallback``).
        """
        self.script_calls += 1
        call = asyncio.ensure_future(self._call(script, keys, args))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            await _finished(call)
            raise

    async def _call(self, script: Any, keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
        from redis.exceptions import NoScriptError, ResponseError

        try:
            reply = await script(keys=list(keys), args=list(args))
        except NoScriptError:
            raise
        except ResponseError as exc:
            log.warning(
                "Redis refused a governance script (%s): dropping the keys it read, %s",
                exc,
                ", ".join(keys),
            )
            await self.client.delete(*keys)
            try:
                reply = await script(keys=list(keys), args=list(args))
            except ResponseError as again:
                raise StoreRefused(
                    f"Redis refused the governance script twice ({again}); check what else "
                    f"writes keys under {self.base}"
                ) from again
        return list(reply)

    async def aclose(self) -> None:
        """Close the client and its connections."""
        await self.client.aclose()


async def _finished(call: asyncio.Future[Any]) -> None:
    """Wait until ``call`` ends, whatever cancels the waiter meanwhile; drop its outcome."""
    while not call.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({call})
    if not call.cancelled():
        call.exception()  # retrieved: the caller was cancelled, nobody else will read it

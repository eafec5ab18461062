"""The ``redis-server`` of the scenarios (or the caller's), and the commands it counted."""

from __future__ import annotations

from esploro_async.testing.process import die_with_parent
from esploro_async.testing.redis_server import RedisServer as SharedRedisServer
from esploro_async.testing.redis_server import command


class RedisServer(SharedRedisServer):
    """A throw-away ``redis-server``, started at once, that dies with this process."""

    def __init__(self) -> None:
        super().__init__(preexec_fn=die_with_parent)
        self.start()


class ExternalRedis:
    """A Redis the caller runs (``--redis-url``): used as it is, never stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        """Nothing to stop."""


def redis_command(port: int, *args: str) -> str:
    """Run one command with a short-lived connection (RESP, minimal parser)."""
    return command(port, *args)


def commandstats(port: int) -> dict[str, int]:
    """Calls per command since the last ``CONFIG RESETSTAT``."""
    calls: dict[str, int] = {}
    for line in redis_command(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, fields = line.partition(":")
            calls[name[8:]] = int(fields.split(",")[0].split("=")[1])
    return calls


# Commands the Lua scripts run: commandstats counts them too, but they are no round trips.
_IN_SCRIPTS = {"time", "hmget", "hset", "pexpire", "publish", "zrangebyscore", "hdel"}
_IN_SCRIPTS |= {"zremrangebyscore", "get", "set", "hgetall", "zadd", "zrem"}
_IN_SCRIPTS |= {"hincrby", "exists", "zcard", "incr", "del", "lrange", "rpush", "ltrim"}


def commands_per_request(calls: dict[str, int], requests: int) -> tuple[float, float]:
    """(script calls, all client commands but INFO/CONFIG/PING/FLUSHALL) per request."""
    scripts = calls.get("evalsha", 0) + calls.get("eval", 0)
    other = sum(
        v
        for k, v in calls.items()
        if k not in _IN_SCRIPTS and not k.startswith(("info", "config", "ping", "flushall"))
    )
    return scripts / max(1, requests), other / max(1, requests)

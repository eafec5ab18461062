"""``esploro-async status``: an institution's live governance, read from Redis."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import click

from esploro_async.cli import exits
from esploro_async.errors import ConfigurationError

if TYPE_CHECKING:
    from esploro_async.governance.redis.status import InstitutionStatus

__all__ = ["render", "status"]


def render(state: InstitutionStatus) -> list[str]:
    """The lines shown for an `InstitutionStatus`."""
    rate = "no recent requests" if state.rate is None else f"limit now {state.rate:.2f} req/s"
    paused = f", paused for {state.paused_for:.1f} s" if state.paused_for > 0 else ""
    left = "unknown" if state.quota_remaining is None else f"{state.quota_remaining:,}"
    wait = state.quota_resets_at - state.server_time
    hours, rest = divmod(max(0, int(wait.total_seconds())), 3600)
    return [
        f"institution: {state.institution} (Redis time {_clock(state.server_time)})",
        f"rate: {state.granted_last_second} granted in the last second, "
        f"{state.granted_per_second:.1f}/s over 10 s ({rate}{paused})",
        f"waiting: {state.waiting_interactive} interactive, {state.waiting_batch} batch",
        f"in flight: {state.in_flight}",
        f"daily quota left: {left} (resets at {state.quota_resets_at.isoformat()}, "
        f"in {hours} h {rest // 60} min)",
        f"processes seen in the last minute: {state.processes}",
    ]


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@click.command()
@click.option("--redis-url", envvar="ESPLORO_REDIS_URL", help="[env ESPLORO_REDIS_URL]")
@click.option("--institution", envvar="ESPLORO_INSTITUTION", help="[env ESPLORO_INSTITUTION]")
@click.option("--key-prefix", default="esploro", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.option(
    "--simulate",
    is_flag=True,
    help="Show a built-in simulated institution's governance (in process, no Redis).",
)
@click.pass_context
def status(
    ctx: click.Context,
    redis_url: str | None,
    institution: str | None,
    key_prefix: str,
    as_json: bool,
    simulate: bool,
) -> None:
    """Show the institution's live governance from Redis.

    Rate now, requests waiting by lane, in flight, the daily quota left and its reset, and
    the processes seen in the last minute. Reads only; works while processes run. With
    --simulate: the same view of a simulated institution after one test request.
    """
    from esploro_async.governance.redis import RedisUnavailableError
    from esploro_async.governance.redis._store import unreachable_errors
    from esploro_async.governance.redis.status import read_status

    if simulate:
        state = asyncio.run(_simulated_status(ctx))
        _show(state, as_json)
        return
    given = ctx.obj or {}
    redis_url = redis_url or given.get("redis_url")
    institution = institution or given.get("institution")
    if not redis_url or not institution:
        click.echo("status needs --redis-url and --institution", err=True)
        ctx.exit(exits.USAGE)
    unreachable: tuple[type[BaseException], ...] = (RedisUnavailableError, *unreachable_errors())
    try:
        state = asyncio.run(read_status(redis_url, institution, key_prefix=key_prefix))
    except ConfigurationError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(exits.USAGE)
    except unreachable as exc:
        click.echo(f"error: Redis is unreachable at {_safe(redis_url)} ({exc})", err=True)
        ctx.exit(exits.OTHER)
    _show(state, as_json)


def _show(state: InstitutionStatus, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(state.as_dict()))
    else:
        for line in render(state):
            click.echo(line)


async def _simulated_status(ctx: click.Context) -> InstitutionStatus:
    """The status of the in-process simulated institution after one test request."""
    from esploro_async.cli.common import settings_for
    from esploro_async.cli.settings import connect
    from esploro_async.governance.redis.status import InstitutionStatus

    settings = settings_for(ctx, simulate=True)
    async with connect(settings) as connection:
        await connection.client.request("GET", "researchers/test")
        snapshot = connection.client.governance.snapshot()
    now = datetime.now(timezone.utc)
    return InstitutionStatus(
        institution="SIMULATED (in process)",
        server_time=now,
        rate=snapshot.current_rate,
        granted_last_second=snapshot.requests,
        granted_per_second=snapshot.requests / 10,
        paused_for=snapshot.paused_until_in,
        waiting_interactive=snapshot.waiting,
        waiting_batch=0,
        in_flight=snapshot.in_flight,
        quota_day=snapshot.quota_resets_at.date() - timedelta(days=1),
        quota_remaining=snapshot.quota_remaining,
        quota_resets_at=snapshot.quota_resets_at,
        processes=1,
    )


def _safe(url: str) -> str:
    """The URL without a password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"

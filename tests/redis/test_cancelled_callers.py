"""A caller cancelled while a Redis call answers stops there: its permit is never used.

redis-py sends every command inside `asyncio.wait_for`; on Python < 3.12 that returns the
call's result and drops the caller's cancellation when both come in the same turn of the
event loop. A request whose stream had been left then went on with the permit Redis had
just granted and reached the gateway up to a few hundred milliseconds after the caller
left (tests/test_leaving_a_stream.py, on Redis, failed about once in 20 draws with a short
``batch_horizon``). Here the script call is wrapped to do exactly that, deterministically:
the reply comes, the caller's cancel comes with it, and whatever awaits in the call's task
swallows it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Literal

import pytest
from redis_support import admin, governance, redis_process, redis_url

from esploro_async.governance import ResponseInfo
from esploro_async.governance.redis import RedisGovernance

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures

Script = Literal["reserve", "quota"]


def cancel_with_the_reply(
    gov: RedisGovernance, which: Script, victim: Callable[[], asyncio.Task[Any] | None]
) -> list[int]:
    """Wrap one script: its first reply comes with a cancel of ``victim()``, which the
    task awaiting the call swallows, as `asyncio.wait_for` did. Returns a list that counts
    the calls so wrapped (for the test to see that it happened)."""
    store = gov._store
    name = f"{which}_script"
    script = getattr(store, name)
    fired: list[int] = []

    async def call(*, keys: list[str], args: list[Any]) -> Any:
        reply = await script(keys=keys, args=args)
        task = victim()
        if not fired and task is not None:
            fired.append(1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0)  # lost here if the caller itself awaits the call
        return reply

    setattr(store, name, call)
    return fired


@pytest.mark.parametrize("which", ["reserve", "quota"])
async def test_a_cancel_that_comes_with_the_reply_stops_the_request(
    redis_url: str, which: Script, admin: Any
) -> None:
    gov = governance(redis_url)
    sent: list[int] = []
    caller: asyncio.Task[None] | None = None
    fired = cancel_with_the_reply(gov, which, lambda: caller)

    async def send_one() -> None:
        async with gov.attempt(lane="batch") as attempt:
            sent.append(1)
            await attempt.record(ResponseInfo(200, remaining=9_000))

    try:
        caller = asyncio.create_task(send_one())
        with contextlib.suppress(asyncio.CancelledError):
            await caller
        assert fired, f"the {which} script was not called"
        assert caller.cancelled(), "the cancelled caller went on as if granted"
        assert not sent, "a request was sent after its caller was cancelled"
        assert gov.snapshot().in_flight == 0
        assert gov.ledger.status().in_flight == 0
        # Nothing is left counted in flight in Redis for this process.
        assert not await admin.hgetall(f"{gov.key_prefix}inflight")
    finally:
        await gov.aclose()


async def test_the_next_request_of_the_process_goes_as_usual(redis_url: str) -> None:
    gov = governance(redis_url)
    caller: asyncio.Task[None] | None = None
    cancel_with_the_reply(gov, "reserve", lambda: caller)
    sent: list[str] = []

    async def send_one(name: str) -> None:
        async with gov.attempt(lane="batch") as attempt:
            sent.append(name)
            await attempt.record(ResponseInfo(200, remaining=9_000))

    try:
        caller = asyncio.create_task(send_one("cancelled"))
        with contextlib.suppress(asyncio.CancelledError):
            await caller
        await asyncio.wait_for(send_one("next"), 5)
        assert sent == ["next"]
    finally:
        await gov.aclose()

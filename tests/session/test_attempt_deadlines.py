"""The whole-attempt deadline when many attempts share a client: each ends at its own.

The deadlines of a client's attempts on asyncio share one timer (`AttemptDeadlines`), so
what one attempt did to the timer (finished early, started later with a shorter deadline,
was cancelled from outside) must never move another's deadline, and a cancel that does not
come from a deadline must stay a cancel. Virtual time (looptime): exact instants.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import anyio
import httpx
import pytest

from conftest import API_KEY, BASE_URL
from esploro_async import EsploroClient, RequestTimeoutError, RetryPolicy
from esploro_async.session.deadlines import AttemptDeadlines, Watched

pytestmark = pytest.mark.looptime


async def sleep_as_asked(request: httpx.Request) -> httpx.Response:
    """Answers after ``?sleep=`` seconds."""
    await anyio.sleep(float(request.url.params["sleep"]))
    return httpx.Response(200, json={"ok": True}, headers={"X-Exl-Api-Remaining": "900"})


def client(**options: object) -> EsploroClient:
    return EsploroClient(
        API_KEY,
        base_url=BASE_URL,
        transport=httpx.MockTransport(sleep_as_asked),
        retry=RetryPolicy.none(),
        rate_limit=1e9,  # no permit waits: the time taken is the attempt's
        allow_above_threshold=True,
        **options,  # type: ignore[arg-type]
    )


def at(seconds: float) -> Any:
    """``seconds``, give or take a millisecond (virtual time is exact)."""
    return pytest.approx(seconds, abs=1e-3)


async def outcome(c: EsploroClient, sleep: float, limit: float | None) -> tuple[str, float]:
    """How a request ended (``ok`` or ``timeout``) and when."""
    started = anyio.current_time()
    try:
        await c.request("GET", "researchers", params={"sleep": sleep}, timeout=limit)
    except RequestTimeoutError:
        return "timeout", anyio.current_time() - started
    return "ok", anyio.current_time() - started


@pytest.mark.parametrize("seed", range(8))
async def test_concurrent_attempts_each_end_at_their_own_deadline(seed: int) -> None:
    rng = random.Random(seed)
    plan = [
        (rng.uniform(0, 5), rng.uniform(0.5, 12), rng.choice([None, 2.0, 4.0, 8.0]))
        for _ in range(24)
    ]
    results: dict[int, tuple[str, float]] = {}

    async def one(i: int, start: float, sleep: float, limit: float | None) -> None:
        await anyio.sleep(start)
        results[i] = await outcome(c, sleep, limit)

    async with client(timeout=6.0, max_in_flight=32) as c, anyio.create_task_group() as tg:
        for i, (start, sleep, timeout) in enumerate(plan):
            tg.start_soon(one, i, start, sleep, timeout)
    for i, (_, sleep, timeout) in enumerate(plan):
        deadline = 6.0 if timeout is None else timeout
        if sleep < deadline:
            assert results[i] == ("ok", at(sleep))
        else:
            assert results[i] == ("timeout", at(deadline))


async def test_an_attempt_after_an_early_one_keeps_its_full_deadline() -> None:
    async with client(timeout=5.0) as c:
        assert await outcome(c, 1.0, None) == ("ok", at(1.0))
        await anyio.sleep(1.0)  # the timer was set for 5 s after the first attempt began
        assert await outcome(c, 60.0, None) == ("timeout", at(5.0))


async def test_a_cancel_from_outside_stays_a_cancel_even_at_the_deadline() -> None:
    async with client(timeout=5.0) as c:
        task = asyncio.ensure_future(c.request("GET", "researchers", params={"sleep": 60}))
        # the outer cancel lands in the same instant as the deadline
        asyncio.get_running_loop().call_later(5.0, task.cancel)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await outcome(c, 1.0, None) == ("ok", at(1.0))


async def test_an_outer_timeout_shorter_than_the_deadline_is_the_callers_own() -> None:
    async with client(timeout=5.0) as c:
        started = anyio.current_time()
        with pytest.raises(TimeoutError) as raised:
            with anyio.fail_after(2.0):
                await c.request("GET", "researchers", params={"sleep": 60})
        assert not isinstance(raised.value, RequestTimeoutError)
        assert anyio.current_time() - started == pytest.approx(2.0, abs=1e-3)
        assert await outcome(c, 60.0, None) == ("timeout", at(5.0))


def test_another_event_loop_gets_no_watch_while_the_first_has_attempts_watched() -> None:
    deadlines = AttemptDeadlines()

    async def watch() -> Watched | None:
        return deadlines.watch(5.0)

    first = asyncio.run(watch())
    assert first is not None
    assert asyncio.run(watch()) is None  # the caller falls back to a scope of its own
    deadlines.release(first, None)
    assert asyncio.run(watch()) is not None  # nothing watched: rebound to the new loop

"""The event loop's clock as the library reads it: the running loop's own, whatever its class."""

from __future__ import annotations

import asyncio
import time

import anyio
import pytest

from esploro_async._clock import current_time


class ShiftedLoop(asyncio.SelectorEventLoop):
    """A loop whose clock runs an hour ahead (as virtual-time loops override ``time``)."""

    def time(self) -> float:
        return super().time() + 3600.0


def test_a_plain_asyncio_loop_reads_as_its_own_time() -> None:
    async def read() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        return loop.time(), current_time(), loop.time()

    before, now, after = asyncio.run(read())
    assert before <= now <= after


def test_a_loop_that_overrides_time_is_followed() -> None:
    async def read() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        return loop.time(), current_time(), loop.time()

    loop = ShiftedLoop()
    try:
        before, now, after = loop.run_until_complete(read())
    finally:
        loop.close()
    assert before <= now <= after


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_outside_asyncio_the_clock_is_anyios(backend: str) -> None:
    async def read() -> tuple[float, float, float]:
        return anyio.current_time(), current_time(), anyio.current_time()

    before, now, after = anyio.run(read, backend=backend)
    assert before <= now <= after


def test_a_monotonic_clock_replaced_at_run_time_is_followed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() - 250.0)  # a process's skewed clock

    async def read() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        return loop.time(), current_time(), loop.time()

    before, now, after = asyncio.run(read())
    assert before <= now <= after

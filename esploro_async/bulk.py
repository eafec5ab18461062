"""`bulk`: run one operation over many items concurrently, one result per item.

Governance still paces every request: ``concurrency`` only bounds how many items are
being worked on at once. Failures are results, not exceptions, so one bad item never
stops the others::

    async for result in client.bulk(changes, apply_change, concurrency=8):
        if result.ok:
            ...
        else:
            print(result.index, result.error)

The daily quota is the exception: when it is exhausted nothing more can be done today,
so `bulk` stops taking new items, hands out the results of the items in flight, and then
raises `DailyQuotaExhaustedError`. Items without a result were not attempted (the one that hit
the quota included: it was refused before processing), so a later run can do exactly them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import Generic, TypeVar

import attrs

from esploro_async._tasks import cancel_and_wait
from esploro_async.errors import DailyQuotaExhaustedError
from esploro_async.governance.lanes import Lane, current_lane, use_lane

__all__ = ["BulkResult", "bulk"]

T = TypeVar("T")
R = TypeVar("R")


@attrs.frozen
class BulkResult(Generic[T, R]):
    """The outcome of one item: ``value`` when the operation returned, else ``error``.

    ``index`` is the item's position in the input (0-based).
    """

    index: int
    item: T
    value: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the operation returned without raising."""
        return self.error is None


async def _aiter(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def bulk(
    items: Iterable[T] | AsyncIterable[T],
    operation: Callable[[T], Awaitable[R]],
    *,
    concurrency: int = 8,
    lane: Lane | None = None,
) -> AsyncIterator[BulkResult[T, R]]:
    """Apply ``operation`` to every item, ``concurrency`` at a time; yield results as they end.

    The input is read lazily, so a large file is never held in memory. An exception of the
    operation becomes the item's ``error``; cancellation and `DailyQuotaExhaustedError` do not
    (see the module docstring). Leaving the loop early cancels the items in flight. The
    operations' requests go in ``lane`` (default: the surrounding `use_lane`, else batch).
    """
    chosen: Lane = lane or current_lane() or "batch"

    async def in_lane(item: T) -> R:
        with use_lane(chosen):
            return await operation(item)

    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    source = _aiter(items).__aiter__()
    running: dict[asyncio.Task[R], tuple[int, T]] = {}
    index = 0
    exhausted = False
    stop: DailyQuotaExhaustedError | None = None
    try:
        while True:
            while not exhausted and stop is None and len(running) < concurrency:
                try:
                    item = await source.__anext__()
                except StopAsyncIteration:
                    exhausted = True
                    break
                running[asyncio.ensure_future(in_lane(item))] = (index, item)
                index += 1
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: running[t][0]):
                position, item = running.pop(task)
                error = task.exception()
                if isinstance(error, DailyQuotaExhaustedError):
                    stop = stop or error
                    continue
                if error is not None and not isinstance(error, Exception):
                    raise error
                if error is None:
                    yield BulkResult(position, item, value=task.result())
                else:
                    yield BulkResult(position, item, error=error)
        if stop is not None:
            raise stop
    finally:
        await cancel_and_wait(running)

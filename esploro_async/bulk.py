"""`bulk`: run one operation over many items concurrently, one result per item.

Governance still paces every request: ``concurrency`` only bounds how many items are
being worked on at once. Failures are results, not exceptions, so one bad item never
stops the others:

```python
async for result in client.bulk(changes, apply_change, concurrency=8):
    if result.ok:
        ...
    else:
        print(result.index, result.error)
```

The daily quota is the exception: when it is exhausted nothing more can be done today,
so `bulk` stops taking new items, hands out the results of the items in flight, and then
raises `DailyQuotaExhaustedError`. Items without a result were not attempted (the one that hit
the quota included: it was refused before processing), so a later run can do exactly them.

A refused key is the other exception: after an `AuthenticationError` (a read-only key
writing, a key without this API area) no other item can succeed, so `bulk` hands out that
item's result, cancels the items in flight (they spend no further request) and raises it.
Items without a result were not done: a later run with a working key does exactly them.
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from typing import Generic, TypeVar

import anyio
import attrs

from esploro_async._concurrency import Runner, TaskHost, runner_for
from esploro_async.errors import (
    AuthenticationError,
    ConfigurationError,
    DailyQuotaExhaustedError,
)
from esploro_async.governance.lanes import Lane, current_lane, use_lane

__all__ = ["Bulk", "BulkResult", "bulk"]

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


class Bulk(TaskHost, Generic[T, R]):
    """The results of `bulk`, as an async iterable; see the module docstring.

    Iterate it once. Use ``async with`` (or call ``aclose()``) to stop the work the moment
    you are done; inside the block the operations run in its own anyio task group.
    """

    def __init__(
        self,
        items: Iterable[T] | AsyncIterable[T],
        operation: Callable[[T], Awaitable[R]],
        *,
        concurrency: int = 8,
        lane: Lane | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError(f"concurrency must be >= 1, got {concurrency}")
        self._items = items
        self._operation = operation
        self.concurrency = concurrency
        self.lane: Lane = lane or current_lane() or "batch"
        self._pending: dict[int, T] = {}

    def __aiter__(self) -> AsyncIterator[BulkResult[T, R]]:
        return self._track(self._results())

    async def _work(self, index: int) -> R:
        with use_lane(self.lane):
            return await self._operation(self._pending[index])

    async def _results(self) -> AsyncGenerator[BulkResult[T, R], None]:
        source = _aiter(self._items).__aiter__()
        runner: Runner[R] = runner_for(self._work, self._task_group)
        try:
            async for result in self._run(source, runner):
                yield result
        finally:
            with anyio.CancelScope(shield=True):
                await runner.aclose()

    async def _run(
        self, source: AsyncIterator[T], runner: Runner[R]
    ) -> AsyncIterator[BulkResult[T, R]]:
        index = 0
        exhausted = False
        stop: DailyQuotaExhaustedError | None = None
        while True:
            while not exhausted and stop is None and len(self._pending) < self.concurrency:
                try:
                    self._pending[index] = await source.__anext__()
                except StopAsyncIteration:
                    exhausted = True
                    break
                runner.start(index)
                index += 1
            if not self._pending:
                break
            position, answer = await runner.next_result()
            item = self._pending.pop(position)
            if isinstance(answer, DailyQuotaExhaustedError):
                stop = stop or answer
            elif isinstance(answer, AuthenticationError):
                yield BulkResult(position, item, error=answer)
                raise answer  # the key is refused: leaving cancels the items in flight
            elif isinstance(answer, Exception):
                yield BulkResult(position, item, error=answer)
            else:
                yield BulkResult(position, item, value=answer)
        if stop is not None:
            raise stop


def bulk(
    items: Iterable[T] | AsyncIterable[T],
    operation: Callable[[T], Awaitable[R]],
    *,
    concurrency: int = 8,
    lane: Lane | None = None,
) -> Bulk[T, R]:
    """Apply ``operation`` to every item, ``concurrency`` at a time; yield results as they end.

    The input is read lazily, so a large file is never held in memory. An exception of the
    operation becomes the item's ``error``; cancellation, `DailyQuotaExhaustedError` and
    `AuthenticationError` stop the run instead (see the module docstring). Leaving
    ``async with`` (or the loop, once the results are garbage) cancels the items in flight.
    The operations' requests go in ``lane`` (default: the surrounding `use_lane`, else batch).
    """
    return Bulk(items, operation, concurrency=concurrency, lane=lane)

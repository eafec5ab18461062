"""Where the page requests of a stream run, and how they are stopped.

A stream asks for pages with `Runner.start` and takes answers, in completion order, from
`Runner.next_result`. Three runners, chosen by `runner_for`:

- `TaskGroupRunner`: inside ``async with stream:``, the requests are tasks of the
  stream's own task group (asyncio or trio): the structured, preferred way.
- `AsyncioRunner`: a stream iterated without ``async with`` on asyncio. Its requests are
  asyncio tasks, which any task may cancel, so the stream is stopped even when its
  iterator is closed by the garbage collector in another task.
- `InlineRunner`: the same on another event loop (trio), which cannot run tasks outside a
  task group: each request runs in the consumer's own ``await``, one at a time.

A request's exception is its answer; only cancellation escapes a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import anyio
import sniffio
from anyio.abc import TaskGroup

__all__ = ["AsyncioRunner", "InlineRunner", "Runner", "TaskGroupRunner", "runner_for"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Runner(Protocol[T_co]):
    """Runs page requests; see the module docstring."""

    def start(self, offset: int) -> None:
        """Request the page at ``offset``."""

    async def next_result(self) -> tuple[int, T_co | Exception]:
        """The next answer: a page, or the exception its request raised."""

    async def aclose(self) -> None:
        """Cancel every request still running and wait until they are gone."""


class _Queued(Generic[T]):
    """Runs requests as tasks that put their answers in a queue."""

    def __init__(self, fetch: Callable[[int], Awaitable[T]]) -> None:
        self._fetch = fetch
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, "T | Exception"]](
            math.inf
        )

    async def _run(self, offset: int) -> None:
        try:
            answer: T | Exception = await self._fetch(offset)
        except Exception as exc:
            answer = exc
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait((offset, answer))  # closed: the stream has stopped

    async def next_result(self) -> tuple[int, T | Exception]:
        """The next answer, in completion order."""
        return await self._receive.receive()

    def _close_queue(self) -> None:
        self._send.close()
        self._receive.close()


class TaskGroupRunner(_Queued[T]):
    """Requests as tasks of a task group the caller owns."""

    def __init__(self, fetch: Callable[[int], Awaitable[T]], task_group: TaskGroup) -> None:
        super().__init__(fetch)
        self._task_group = task_group
        self._scopes: set[anyio.CancelScope] = set()
        self._closed = False

    def start(self, offset: int) -> None:
        """Start the request as a task of the group."""
        self._task_group.start_soon(self._in_scope, offset)

    async def _in_scope(self, offset: int) -> None:
        with anyio.CancelScope() as scope:
            if self._closed:
                scope.cancel()
            self._scopes.add(scope)
            try:
                await self._run(offset)
            finally:
                self._scopes.discard(scope)

    async def aclose(self) -> None:
        """Cancel the requests; the task group's exit waits for them."""
        self._closed = True
        for scope in list(self._scopes):
            scope.cancel()
        self._close_queue()


class AsyncioRunner(_Queued[T]):
    """Requests as asyncio tasks (cancellable from any task)."""

    def __init__(self, fetch: Callable[[int], Awaitable[T]]) -> None:
        super().__init__(fetch)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, offset: int) -> None:
        """Start the request as an asyncio task."""
        task = asyncio.ensure_future(self._run(offset))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Cancel the tasks and wait for them, even if the caller is being cancelled."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            with anyio.CancelScope(shield=True):
                await asyncio.wait(tasks)
        self._close_queue()


class InlineRunner(Generic[T]):
    """Requests run one at a time, lowest offset first, in the consumer's ``await``."""

    def __init__(self, fetch: Callable[[int], Awaitable[T]]) -> None:
        self._fetch = fetch
        self._queued: list[int] = []

    def start(self, offset: int) -> None:
        """Queue the request."""
        self._queued.append(offset)

    async def next_result(self) -> tuple[int, T | Exception]:
        """Send the lowest queued request now and return its answer."""
        offset = min(self._queued)
        self._queued.remove(offset)
        try:
            return offset, await self._fetch(offset)
        except Exception as exc:
            return offset, exc

    async def aclose(self) -> None:
        """Forget the queued requests."""
        self._queued.clear()


def runner_for(fetch: Callable[[int], Awaitable[T]], task_group: TaskGroup | None) -> Runner[T]:
    """The runner for a stream: its task group's, else the best the event loop allows."""
    if task_group is not None:
        return TaskGroupRunner(fetch, task_group)
    if sniffio.current_async_library() == "asyncio":
        return AsyncioRunner(fetch)
    return InlineRunner(fetch)

"""Where the concurrent work of a stream (pages, bulk items) runs, and how it is stopped.

A stream starts jobs, keyed by an integer, with `Runner.start` and takes their answers, in
completion order, from `Runner.next_result`. Three runners, chosen by `runner_for`:

- `TaskGroupRunner`: inside ``async with stream:``, the jobs are tasks of the stream's own
  task group (asyncio or trio): the structured, preferred way.
- `AsyncioRunner`: a stream iterated without ``async with`` on asyncio. Its jobs are
  asyncio tasks, which any task may cancel, so the stream is stopped even when its
  iterator is closed by the garbage collector in another task.
- `InlineRunner`: the same on another event loop (trio), which cannot run tasks outside a
  task group: each job runs in the consumer's own ``await``, one at a time.

A job's exception is its answer; only cancellation escapes a task. `TaskHost` gives a
stream its ``async with`` (the task group), ``aclose()`` and its run-once iterator.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import anyio
import sniffio
from anyio.abc import TaskGroup
from typing_extensions import Self

__all__ = [
    "AsyncioRunner",
    "InlineRunner",
    "Runner",
    "TaskGroupRunner",
    "TaskHost",
    "runner_for",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Runner(Protocol[T_co]):
    """Runs jobs keyed by an integer; see the module docstring."""

    def start(self, key: int) -> None:
        """Start the job ``key``."""

    def cancel(self, key: int) -> None:
        """Cancel the job ``key`` if it is still running: it gives no answer."""

    async def next_result(self) -> tuple[int, T_co | Exception]:
        """The next answer: a job's value, or the exception it raised."""

    async def aclose(self) -> None:
        """Cancel every job still running and wait until they are gone."""


class _Queued(Generic[T]):
    """Runs requests as tasks that put their answers in a queue."""

    def __init__(self, fetch: Callable[[int], Awaitable[T]]) -> None:
        self._fetch = fetch
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, "T | Exception"]](
            math.inf
        )

    async def _run(self, key: int) -> None:
        try:
            answer: T | Exception = await self._fetch(key)
        except Exception as exc:
            answer = exc
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait((key, answer))  # closed: the stream has stopped

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
        self._scopes: dict[anyio.CancelScope, int] = {}
        self._closed = False

    def start(self, key: int) -> None:
        """Start the job as a task of the group."""
        scope = anyio.CancelScope()
        if self._closed:
            scope.cancel()
        self._scopes[scope] = key
        self._task_group.start_soon(self._in_scope, scope, key)

    def cancel(self, key: int) -> None:
        """Cancel the jobs ``key`` still running (or not started yet)."""
        for scope, job in list(self._scopes.items()):
            if job == key:
                scope.cancel()

    async def _in_scope(self, scope: anyio.CancelScope, key: int) -> None:
        with scope:
            try:
                await self._run(key)
            finally:
                self._scopes.pop(scope, None)

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
        self._tasks: dict[asyncio.Task[None], int] = {}

    def start(self, key: int) -> None:
        """Start the request as an asyncio task."""
        task = asyncio.ensure_future(self._run(key))
        self._tasks[task] = key
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    def cancel(self, key: int) -> None:
        """Cancel the tasks of job ``key`` still running."""
        for task, job in list(self._tasks.items()):
            if job == key:
                task.cancel()

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
    """Requests run one at a time, lowest key first, in the consumer's ``await``."""

    def __init__(self, fetch: Callable[[int], Awaitable[T]]) -> None:
        self._fetch = fetch
        self._queued: list[int] = []

    def start(self, key: int) -> None:
        """Queue the request."""
        self._queued.append(key)

    def cancel(self, key: int) -> None:
        """Forget the queued request ``key``."""
        self._queued = [queued for queued in self._queued if queued != key]

    async def next_result(self) -> tuple[int, T | Exception]:
        """Send the lowest queued request now and return its answer."""
        key = min(self._queued)
        self._queued.remove(key)
        try:
            return key, await self._fetch(key)
        except Exception as exc:
            return key, exc

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


class TaskHost:
    """``async with``, ``aclose()`` and a run-once iterator for a stream of concurrent work.

    Inside ``async with`` the stream's jobs are tasks of its own task group
    (``self._task_group``); leaving the block, or ``aclose()``, stops them at once, whatever
    still references the iterator.
    """

    _task_group: TaskGroup | None = None
    # Weak: the iterator's frame holds the stream, so a strong reference would make a cycle
    # that outlives a ``break`` (or an exception, or a cancel) until the cyclic collector
    # runs, and the jobs in flight would go on sending meanwhile. Held weakly, the iterator
    # is finalized the moment the loop drops it, and its ``finally`` stops the jobs.
    _iterator: weakref.ref[AsyncIterator[Any]] | None = None
    _started: bool = False

    async def __aenter__(self) -> Self:
        """Run the stream's jobs in a task group of its own until the block ends."""
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Stop the stream: nothing starts after this; the task group is left."""
        await self.aclose()
        task_group, self._task_group = self._task_group, None
        if task_group is not None:
            # Its tasks never raise (a job's exception is its answer) and are cancelled
            # by now: leaving it waits for them, and the block's own exception, if any,
            # goes on as it is, not wrapped in an exception group.
            await task_group.__aexit__(None, None, None)
        return None

    async def aclose(self) -> None:
        """Stop the stream now: cancel the jobs in flight and start nothing more."""
        reference, self._iterator = self._iterator, None
        iterator = None if reference is None else reference()
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            with anyio.CancelScope(shield=True):
                await closer()

    def _track(self, iterator: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The stream's one iterator (a second raises `RuntimeError`)."""
        if self._started:
            raise RuntimeError(
                "a stream is iterated once; make a new one, or resume from its checkpoint"
            )
        self._started = True
        self._iterator = weakref.ref(iterator)
        return iterator

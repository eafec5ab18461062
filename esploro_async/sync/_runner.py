"""The background event loop that runs the async core for blocking callers.

One loop in one daemon thread serves every open facade client of the process (reference
counted: it starts with the first client and stops, joined, when the last one closes).
One loop means that clients of one institution share one governance exactly as async
clients in one loop do; governance and httpx primitives bind to the loop that uses them,
so they must never be shared between loops.

Calls are submitted with `asyncio.run_coroutine_threadsafe` and waited on, so any number
of threads may call at once, including threads whose own event loop is running (Jupyter,
a synchronous view inside an async server): that loop is blocked for the duration of the
call, never re-entered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncIterable, AsyncIterator, Coroutine, Generator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, TypeVar, cast

__all__ = ["ClientClosedError", "Handle", "LoopRunner", "acquire_runner"]

T = TypeVar("T")

_STOP_TIMEOUT = 10.0
"""Seconds to wait for the loop thread to finish when the last client closes."""


class ClientClosedError(RuntimeError):
    """A blocking client (or one of its areas or streams) was used after `close`."""


class LoopRunner:
    """An asyncio loop running forever in a daemon thread; see the module docstring."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread: threading.Thread = threading.Thread(
            target=self._main, name="esploro-sync-loop", daemon=True
        )
        self.thread.start()
        self._ready.wait()

    def _main(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
            # Stopped: finish what is left (unclosed streams, tasks) before closing.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    @property
    def in_loop_thread(self) -> bool:
        """Whether the caller runs in the loop's own thread (where blocking would deadlock)."""
        return threading.current_thread() is self.thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop without waiting."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result; its exception is raised as is.

        An interruption of the wait (``KeyboardInterrupt``, a timeout) cancels the call.
        """
        if self.in_loop_thread:
            coro.close()
            raise RuntimeError(
                "a blocking esploro_async.sync call was made from the event loop that runs it "
                "(e.g. in an on_drift callback or an async operation): use the async client there"
            )
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        """Stop the loop (cancelling what still runs on it) and join its thread."""
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # closed in between
            self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_loop_thread:
            self.thread.join(_STOP_TIMEOUT)


_lock = threading.Lock()
_shared: LoopRunner | None = None
_users = 0


def acquire_runner() -> LoopRunner:
    """The process's shared runner, started if no client uses it; pair with `release_runner`."""
    global _shared, _users
    with _lock:
        if _shared is None:
            _shared = LoopRunner()
        _users += 1
        return _shared


def release_runner(runner: LoopRunner) -> None:
    """One client is done with ``runner``; the last one stops it and joins its thread."""
    global _shared, _users
    with _lock:
        if runner is not _shared:
            return
        _users -= 1
        if _users > 0:
            return
        _shared = None
    runner.stop()


async def _next(iterator: AsyncIterator[T], done: object) -> T | object:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return done


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class Handle:
    """What the areas and streams of one facade client call through: the shared runner,
    refusing every call once the client is closed."""

    def __init__(self, runner: LoopRunner) -> None:
        self.runner = runner
        self.closed = False

    def _check(self, coro: Coroutine[Any, Any, Any] | None = None) -> None:
        if self.closed:
            if coro is not None:
                coro.close()  # never awaited: no warning
            raise ClientClosedError("this esploro_async.sync client is closed")

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (see `LoopRunner.run`)."""
        self._check(coro)
        return self.runner.run(coro)

    def iterate(self, iterable: AsyncIterable[T]) -> Iterator[T]:
        """A blocking iterator over ``iterable``, pulling one item per call.

        One item at a time (no read-ahead), so a stream's checkpoint never runs ahead of
        what the caller was given, and back-pressure reaches the stream unchanged. Closing
        the iterator (``break`` then garbage collection, ``.close()``) closes the async
        iterator in its loop, which cancels the pages in flight.
        """
        self._check()
        return self._pull(iterable.__aiter__())

    def _pull(self, iterator: AsyncIterator[T]) -> Generator[T, None, None]:
        done = object()
        finished = False
        try:
            while True:
                item = self.run(_next(iterator, done))
                if item is done:
                    finished = True
                    return
                yield cast(T, item)
        finally:
            if not finished:
                self._close_later_or_now(iterator)

    def _close_later_or_now(self, iterator: AsyncIterator[Any]) -> None:
        if self.closed or self.runner.loop.is_closed():
            return  # the loop's shutdown closes unfinished generators
        if self.runner.in_loop_thread:  # collected inside the loop: cannot wait here
            self.runner.loop.create_task(_aclose(iterator))
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            self.runner.run(_aclose(iterator))

    def context(self, manager: AbstractAsyncContextManager[T]) -> AbstractContextManager[T]:
        """A ``with`` block around an async context manager, entered and exited in the loop."""
        self._check()
        return _BlockingContext(self, manager)


class _BlockingContext(AbstractContextManager[T]):
    def __init__(self, handle: Handle, manager: AbstractAsyncContextManager[T]) -> None:
        self._handle = handle
        self._manager = manager

    async def _enter(self) -> T:
        return await self._manager.__aenter__()

    async def _exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self._manager.__aexit__(exc_type, exc, tb)

    def __enter__(self) -> T:
        return self._handle.run(self._enter())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return self._handle.run(self._exit(exc_type, exc, tb))

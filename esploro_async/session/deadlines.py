"""`AttemptDeadlines`: the whole-attempt deadline of every attempt of a client, one timer for all.

An attempt may not outlast its deadline, whatever the server trickles. A timeout scope per
attempt (``asyncio.timeout``) schedules a timer and cancels it again for every request, and
that bookkeeping is a measurable share of a request's cost in process. Here an attempt
only notes its task and its due time; one timer, set for the earliest due time, wakes when
that passes and cancels the attempts past theirs (then sets itself for the next). The
attempts of a client end long before their deadline as a rule, so the timer rarely fires.

The cancellation becomes `TimeoutError` exactly as ``asyncio.timeout`` makes it: only
when no other cancellation was requested meanwhile (``Task.uncancel``), so a cancel from
outside still propagates as one. Python 3.11+ on asyncio; elsewhere (trio, Python 3.10)
the session uses anyio's scope.
"""

from __future__ import annotations

import asyncio
import math
import sys

__all__ = ["AttemptDeadlines", "Watched"]

# Python 3.11+: tasks count the cancellations requested of them (`asyncio.Task.uncancel`).
SUPPORTED = sys.version_info >= (3, 11)


class Watched:
    """One attempt under watch: its task, its due time, whether the watch cancelled it."""

    __slots__ = ("cancelling", "due", "expired", "task")

    def __init__(self, task: asyncio.Task[object], due: float) -> None:
        self.task = task
        self.due = due
        self.cancelling = _cancelling(task)
        self.expired = False


class AttemptDeadlines:
    """The attempts of one client in flight and the one timer that ends those past due.

    Bound to the event loop of its first attempt; `watch` returns ``None`` (use a scope of
    your own) on another loop while attempts of the first are still watched.
    """

    def __init__(self) -> None:
        self._watched: set[Watched] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = math.inf

    def watch(self, seconds: float) -> Watched | None:
        """Watch the current task's attempt for ``seconds``.

        ``None`` when it cannot: not on asyncio (trio), Python 3.10, or see above.
        """
        if not SUPPORTED:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library
            return None
        task = asyncio.current_task(loop)
        if task is None:
            return None
        if loop is not self._loop:
            if self._watched:
                return None
            if self._timer is not None:
                self._timer.cancel()
            self._loop, self._timer, self._timer_due = loop, None, math.inf
        watched = Watched(task, loop.time() + seconds)
        self._watched.add(watched)
        if watched.due < self._timer_due:
            self._set_timer(watched.due)
        return watched

    def release(self, watched: Watched, exc: BaseException | None) -> None:
        """The attempt ended with ``exc`` (``None``: a result); raises `TimeoutError` when
        the watch cancelled it and nothing else asked for a cancellation since."""
        self._watched.discard(watched)
        if (
            watched.expired
            and _uncancel(watched.task) <= watched.cancelling
            and isinstance(exc, asyncio.CancelledError)
        ):
            raise TimeoutError from exc

    def _set_timer(self, due: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(due, self._expire)
        self._timer_due = due

    def _expire(self) -> None:
        assert self._loop is not None
        self._timer, self._timer_due = None, math.inf
        now = self._loop.time()
        next_due = math.inf
        for watched in self._watched:
            if watched.expired:
                continue
            if watched.due <= now:
                watched.expired = True
                watched.task.cancel()
            else:
                next_due = min(next_due, watched.due)
        if next_due < math.inf:
            self._set_timer(next_due)


def _cancelling(task: asyncio.Task[object]) -> int:
    if sys.version_info >= (3, 11):
        return task.cancelling()
    return 0  # not reached: `SUPPORTED` is false


def _uncancel(task: asyncio.Task[object]) -> int:
    if sys.version_info >= (3, 11):
        return task.uncancel()
    return 0  # not reached: `SUPPORTED` is false

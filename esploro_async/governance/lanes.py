"""Priority lanes: ``interactive`` requests go before queued ``batch`` work.

An institution's budget is shared by people waiting on a page and by nightly jobs. A
request's lane decides three things in governance: its place in the rate limiter's
queue (interactive first, first come first served within a lane, a retry ahead of fresh
requests of its lane), the concurrency slots it may use (batch work never takes the last
``interactive_slots``), and the daily-quota floor it stops at (``batch_reserve``, higher,
for batch; ``daily_reserve`` for interactive), so a harvest stops while the portal goes on.

The lane of a request is, in order: the ``lane=`` given to ``client.request``; the lane
of the surrounding ``with use_lane(...)`` block; the client's default (``interactive``).
Streams and ``bulk`` run in the ``batch`` lane unless told otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Literal

__all__ = ["LANES", "Lane", "current_lane", "lane_of", "priority", "use_lane"]

Lane = Literal["interactive", "batch"]
"""A governance lane: ``"interactive"`` (single calls, first in line) or ``"batch"``."""
LANES: tuple[Lane, ...] = ("interactive", "batch")
"""Every lane, first in line first."""

_lane: contextvars.ContextVar[Lane | None] = contextvars.ContextVar("esploro_lane", default=None)


def current_lane() -> Lane | None:
    """The lane set by the innermost `use_lane` block of this task, if any."""
    return _lane.get()


@contextlib.contextmanager
def use_lane(lane: Lane) -> Iterator[None]:
    """Send the requests made in this block (and in tasks it starts) in ``lane``:

    ```python
    with use_lane("batch"):
        await client.researchers.get("jdoe")
    ```
    """
    if lane not in LANES:
        raise ValueError(f"lane must be 'interactive' or 'batch', not {lane!r}")
    token = _lane.set(lane)
    try:
        yield
    finally:
        _lane.reset(token)


def priority(lane: Lane, *, retry: bool) -> int:
    """The rate limiter's queue priority (lower first) of an attempt."""
    return (0 if lane == "interactive" else 2) + (0 if retry else 1)


def lane_of(priority: int) -> Lane:
    """The lane of a rate limiter's queue priority (the inverse of `priority`)."""
    return "interactive" if priority < 2 else "batch"

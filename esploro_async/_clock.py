"""The event loop's clock, fast.

``anyio.current_time()`` detects the async library on every call; on asyncio the
running loop's ``time()`` is the same clock (virtualised by test loops such as
looptime) at a fraction of the cost. Elsewhere (trio) it falls back to anyio.
"""

from __future__ import annotations

import asyncio

import anyio

__all__ = ["current_time"]


def current_time() -> float:
    """The current time of the running event loop, in seconds."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return anyio.current_time()

"""Background tasks of a stream: cancel them and wait until they are gone."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

import anyio

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(tasks: Collection[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait for them, even if the caller is being cancelled.

    Their exceptions are retrieved, so none is reported as "never retrieved".
    """
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    with anyio.CancelScope(shield=True):
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()

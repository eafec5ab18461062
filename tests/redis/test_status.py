"""``esploro-async status`` shows the live governance of an institution from Redis."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from redis_support import INST, admin, finish, gateway, redis_process, redis_url, start_worker

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures

CLI = str(Path(sys.executable).parent / "esploro-async")


def status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "status", *args], capture_output=True, text=True, timeout=30)


def _at_full_rate(shown: subprocess.CompletedProcess[str]) -> bool:
    """Whether ``status --json`` shows both workers' grants at full rate (or failed)."""
    return bool(shown.returncode) or json.loads(shown.stdout)["granted_per_second"] >= 15


async def status_at_full_rate(
    args: tuple[str, ...], procs: list[Any]
) -> subprocess.CompletedProcess[str]:
    """``status --json``, read until it shows the workers at full rate (imports are slow)."""
    shown = None
    while shown is None or not _at_full_rate(shown):  # no fixed wait
        assert all(p.poll() is None for p in procs), "a worker ended before full rate"
        shown = await asyncio.to_thread(status, *args, "--json")
    return shown


def assert_two_harvests_at_full_rate(state: dict[str, Any]) -> None:
    """The status of two processes of 8 batch tasks each, sharing the full rate and quota."""
    assert state["processes"] == 2
    assert 15 <= state["granted_last_second"] <= 25, state
    assert state["rate"] == 25.0
    assert state["waiting_batch"] > 0  # 2 x 8 harvesting tasks, one permit every 44 ms
    assert state["waiting_interactive"] == 0
    assert 50_000 - 400 < state["quota_remaining"] < 50_000
    assert 0 <= state["in_flight"] <= 16
    assert state["quota_resets_at"].endswith("T00:00:00+00:00")


async def test_status_while_two_processes_harvest(redis_url: str) -> None:
    gw = gateway(quota_remaining=50_000)
    args = ("--redis-url", redis_url, "--institution", INST)
    async with gw.serve() as server:
        procs = [
            # 400 requests in all (~17 s): the rate is still full when status is read, even
            # where the CLI takes seconds to start on a loaded machine
            start_worker(server.url, redis_url, range(p * 2000, p * 2000 + 2000, 10))
            for p in range(2)
        ]
        shown = await status_at_full_rate(args, procs)
        text = await asyncio.to_thread(status, *args)
        await asyncio.to_thread(finish, procs)
    assert shown.returncode == 0, shown.stderr
    assert_two_harvests_at_full_rate(json.loads(shown.stdout))
    assert text.returncode == 0
    assert "processes seen in the last minute: 2" in text.stdout


def test_status_without_redis_is_a_clear_error() -> None:
    shown = status("--redis-url", "redis://:secret@127.0.0.1:1/0", "--institution", INST)
    assert shown.returncode == 1
    assert "Redis is unreachable" in shown.stderr
    assert "secret" not in shown.stderr
    assert status("--institution", INST).returncode == 2

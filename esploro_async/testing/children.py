"""Child processes of tests and benchmarks: a free port, waiting for it, ending the child.

One way to do each, shared by `GatewayProcess`, `RedisServer` and the benchmarks:

- `free_loopback_port`: a port on 127.0.0.1 that nothing listens on right now;
- `wait_for_port`: until something accepts connections there, or the child died;
- `end_child`: let the child exit, then ``SIGTERM``, then ``SIGKILL``, and reap it;
- `die_with_parent`: ask Linux to end this process with its parent, even after a ``SIGKILL``.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

__all__ = ["die_with_parent", "end_child", "free_loopback_port", "wait_for_port"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (no-op elsewhere).

    For every child of a benchmark (also as a ``preexec_fn`` for ``subprocess``), so
    that even a ``SIGKILL`` of the parent leaves no orphan behind.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int,
    timeout: float,
    *,
    alive: Callable[[], bool] = lambda: True,
    host: str = "127.0.0.1",
    poll: float = 0.01,
) -> bool:
    """Whether ``host:port`` accepted a connection within ``timeout`` seconds.

    Gives up early, with ``False``, once ``alive()`` says the process that should listen
    there has exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port)):
            return True
        if not alive():
            return False
        time.sleep(poll)
    return False


def end_child(
    process: BaseProcess | subprocess.Popen[Any],
    *,
    grace: float = 0.0,
    terminate_grace: float = 2.0,
) -> None:
    """End ``process`` for sure: wait ``grace`` seconds for it to exit by itself, then
    send ``SIGTERM`` and wait ``terminate_grace`` seconds, then ``SIGKILL`` it; reap it."""
    if _exited(process, grace):
        return
    process.terminate()
    if _exited(process, terminate_grace):
        return
    process.kill()
    _exited(process, None)


def _exited(process: BaseProcess | subprocess.Popen[Any], timeout: float | None) -> bool:
    if isinstance(process, subprocess.Popen):
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    process.join(timeout)
    return not process.is_alive()

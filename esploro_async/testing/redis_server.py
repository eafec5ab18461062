"""A throw-away ``redis-server`` on a free loopback port, for tests of `RedisGovernance`.

    with RedisServer() as server:
        governance = RedisGovernance(server.url, institution="01TEST_INST")

Needs the ``redis-server`` binary (Debian: ``apt-get install redis-server``). Nothing is
persisted; `stop` and `start` restart it on the same port (to test a Redis outage).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from types import TracebackType

__all__ = ["RedisServer", "RedisServerMissing", "free_loopback_port"]


class RedisServerMissing(RuntimeError):
    """The ``redis-server`` binary is not installed."""


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` child process bound to 127.0.0.1, without persistence.

    Args:
        port: the port (default: a free one).
        preexec_fn: run in the child before ``exec`` (e.g. to die with the parent).
    """

    def __init__(
        self, *, port: int | None = None, preexec_fn: Callable[[], object] | None = None
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisServerMissing(
                "redis-server is not installed: apt-get install -y redis-server"
            )
        self.binary = binary
        self.port = port or free_loopback_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="esploro-redis-")
        self._preexec_fn = preexec_fn
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start (or restart) the server on its port; return once it accepts connections."""
        self.proc = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.dir, "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=self._preexec_fn,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port}")

    def kill(self) -> None:
        """Kill the server with SIGKILL (``kill -9``): no shutdown, its data is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """Stop the server; its data is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

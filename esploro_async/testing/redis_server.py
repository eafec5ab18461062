"""A throw-away ``redis-server`` on a free loopback port, for tests of `RedisGovernance`.

    with RedisServer() as server:
        governance = RedisGovernance(server.url, institution="01TEST_INST")

Needs the ``redis-server`` binary (Debian: ``apt-get install redis-server``). Nothing is
persisted; `stop` and `start` restart it on the same port (to test a Redis outage), `kill`
stops it like ``kill -9``.

`RedisClusterServers` starts a local Redis Cluster of three primaries the same way:

```python
with RedisClusterServers() as cluster:
    governance = RedisGovernance(cluster.url, institution="01TEST_INST")  # redis+cluster://
```
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from types import TracebackType

__all__ = ["RedisClusterServers", "RedisServer", "RedisServerMissing", "free_loopback_port"]

_SLOTS = 16384


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
        self,
        *,
        port: int | None = None,
        preexec_fn: Callable[[], object] | None = None,
        extra_args: Sequence[str] = (),
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
        self._extra_args = tuple(extra_args)
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
                *self._extra_args,
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


def command(port: int, *args: str, timeout: float = 5.0) -> str:
    """Send one command to 127.0.0.1:``port`` and return its reply as text (RESP, minimal)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        sock.sendall(payload.encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            data += chunk
            if data[:1] in (b"+", b"-", b":") and data.endswith(b"\r\n"):
                return data[1:-2].decode()
            if data[:1] == b"$":
                head, _, rest = data.partition(b"\r\n")
                size = int(head[1:])
                if size < 0:
                    return ""
                if len(rest) >= size + 2:
                    return rest[:size].decode()
            if not chunk:
                return data.decode()


def _free_cluster_port() -> int:
    """A free port below 55535 whose cluster bus port (+10000) is free too."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 45000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisClusterServers:
    """A local Redis Cluster: ``nodes`` primaries (no replicas) on free loopback ports.

    Slots are split evenly; `url` is ``redis+cluster://127.0.0.1:PORT`` of the first node
    (`RedisGovernance` finds the others). Args as for `RedisServer`.
    """

    def __init__(self, nodes: int = 3, *, preexec_fn: Callable[[], object] | None = None) -> None:
        self.servers: list[RedisServer] = []
        for _ in range(nodes):
            server = RedisServer(port=_free_cluster_port(), preexec_fn=preexec_fn)
            server._extra_args = (
                *("--cluster-enabled", "yes", "--cluster-node-timeout", "5000"),
                *("--cluster-config-file", f"{server.dir}/nodes.conf"),
            )
            self.servers.append(server)
        self.url = f"redis+cluster://127.0.0.1:{self.servers[0].port}"

    def __enter__(self) -> RedisClusterServers:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self.servers:
            server.__exit__(exc_type, exc, tb)

    def start(self, timeout: float = 30.0) -> None:
        """Start the nodes, assign the slots, join them; return once the cluster is ok."""
        try:
            for server in self.servers:
                server.start()
            count = len(self.servers)
            for i, server in enumerate(self.servers):
                first, last = i * _SLOTS // count, (i + 1) * _SLOTS // count - 1
                command(server.port, "CLUSTER", "ADDSLOTSRANGE", str(first), str(last))
            for server in self.servers[1:]:
                command(self.servers[0].port, "CLUSTER", "MEET", "127.0.0.1", str(server.port))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if all(self._ready(server.port) for server in self.servers):
                    return
                time.sleep(0.05)
            raise RuntimeError("the local Redis Cluster did not become ready")
        except BaseException:
            for server in self.servers:
                server.stop()
            raise

    def _ready(self, port: int) -> bool:
        info = command(port, "CLUSTER", "INFO")
        known = command(port, "CLUSTER", "NODES").count("connected")
        return "cluster_state:ok" in info and known == len(self.servers)

    def node_of(self, key: str) -> int:
        """The port of the node serving ``key``."""
        slot = int(command(self.servers[0].port, "CLUSTER", "KEYSLOT", key))
        count = len(self.servers)
        return self.servers[min(count - 1, slot * count // _SLOTS)].port

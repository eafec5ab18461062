"""A simulated gateway served on loopback by a child process: `GatewayProcess`.

The simulator costs CPU (it generates records, encodes JSON, runs its own event loop), so
a benchmark or load test that measures a client against it over loopback HTTP runs it in
a child process, which keeps the client's event loop and the simulator from competing for
one core. `GatewayProcess` builds a fresh `SimulatedGateway` (fresh log, fresh per-second
window, fresh port) in a ``spawn``-ed process and talks to it over a ``multiprocessing``
pipe; nothing is added to the simulator's HTTP surface:

```python
with GatewayProcess(researchers=20_000, latency=Latency.uniform(0.2, 0.8)) as gw:
    ...  # point clients at gw.url
    log = gw.stop()
print(log.count_status(429), max_in_window(log.counted_times))
```

Shutdown is robust by construction: the parent asks the child to stop on ``__exit__``
(normal end, exception or Ctrl-C), then terminates, then kills it if it does not exit in
time; the child ignores SIGINT (a Ctrl-C in the terminal reaches the whole process group),
stops when the pipe reports EOF (the parent is gone, even after a ``SIGKILL``), asks Linux
to end it with its parent (`die_with_parent`), and is a daemon process.

Arrival times in the log are the child's monotonic clock, which on Linux is the
system-wide ``CLOCK_MONOTONIC``: comparable with the parent's ``time.monotonic()``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

import anyio
import anyio.to_thread
import attrs

from esploro_async.testing.children import die_with_parent, end_child
from esploro_async.testing.institution import SyntheticInstitution
from esploro_async.testing.wire import THRESHOLD_CODES, RequestRecord

__all__ = ["GatewayLog", "GatewayProcess", "die_with_parent"]


@attrs.frozen
class GatewayLog:
    """The log of a `GatewayProcess` and the child's CPU time, as of one moment."""

    records: list[RequestRecord]
    """Every request seen, in arrival order, foreign arrivals included (``lane="foreign"``)."""
    cpu_seconds: float
    """CPU time (user + system) of the gateway process so far."""
    quota_remaining: int
    """The gateway's daily quota left."""

    @property
    def arrivals(self) -> list[RequestRecord]:
        """The clients' requests (foreign arrivals left out)."""
        return [r for r in self.records if r.lane == "client"]

    @property
    def accepted_times(self) -> list[float]:
        """Arrival times of the clients' requests that the gateway let through, sorted."""
        return sorted(r.arrival for r in self.arrivals if r.arrived and r.accepted)

    @property
    def counted_times(self) -> list[float]:
        """Arrival times of the clients' requests the per-second window counts, sorted.

        The accepted ones and those refused for a threshold (429): a 26th arrival in a
        second is what a client must never cause, and the gateway never accepts one.
        """
        return sorted(
            r.arrival
            for r in self.arrivals
            if r.arrived and (r.accepted or r.error_code in THRESHOLD_CODES)
        )

    def count_status(self, status: int) -> int:
        """How many of the clients' requests got HTTP ``status``."""
        return sum(1 for r in self.arrivals if r.status == status)

    @property
    def foreign_accepted(self) -> int:
        """Foreign arrivals (``foreign_rate``) that the gateway let through."""
        return sum(1 for r in self.records if r.lane == "foreign" and r.accepted)

    @property
    def foreign_refused(self) -> int:
        """Foreign arrivals that the gateway refused."""
        return sum(1 for r in self.records if r.lane == "foreign" and not r.accepted)


def _child_main(conn: Connection, institution: dict[str, Any], options: dict[str, Any]) -> None:
    """Entry point of the gateway process: serve until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    with contextlib.suppress(EOFError, OSError, BrokenPipeError):
        anyio.run(_child_serve, conn, institution, options)


def _receive(conn: Connection) -> str:
    try:
        return str(conn.recv())
    except (EOFError, OSError):
        return "orphaned"  # EOF: the parent is gone


async def _child_serve(
    conn: Connection, institution: dict[str, Any], options: dict[str, Any]
) -> None:
    # Imported here: the gateway module names this one (``in_child_process``).
    from esploro_async.testing.gateway import SimulatedGateway

    gateway = SimulatedGateway(SyntheticInstitution(**institution), **options)
    async with gateway.serve("127.0.0.1", 0) as server:
        conn.send(("ready", server.url))
        while True:
            command = await anyio.to_thread.run_sync(_receive, conn, abandon_on_cancel=True)
            if command in ("quit", "orphaned"):
                return
            if command == "reset":
                gateway.reset_log()
                conn.send(("ok", None))
                continue
            conn.send(("log", (list(gateway.log), time.process_time(), gateway.quota_remaining)))
            if command == "stop":
                return


class GatewayProcess:
    """A `SimulatedGateway` served on loopback by a child process; see the module docstring.

    ``researchers`` and ``assets`` size the `SyntheticInstitution` (seeded with ``seed``);
    every other keyword is passed to `SimulatedGateway` and must be picklable (`Latency`,
    `Fault`, datetimes, numbers). Use it as a context manager; ``url`` is the base URL
    once entered.
    """

    def __init__(
        self,
        *,
        researchers: int = 200,
        assets: int = 500,
        start_timeout: float = 30.0,
        **options: Any,
    ) -> None:
        institution = {"seed": options.get("seed", 0), "researchers": researchers, "assets": assets}
        self.url: str = ""
        self._start_timeout = start_timeout
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._child_conn: Connection | None = child_conn
        self._process = ctx.Process(
            target=_child_main,
            args=(child_conn, institution, options),
            name="sim-gateway",
            daemon=True,
        )
        self._final: GatewayLog | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id (``None`` before it started)."""
        return self._process.pid

    def __enter__(self) -> GatewayProcess:
        self._process.start()
        assert self._child_conn is not None
        self._child_conn.close()  # only the child holds its end: EOF reaches it if we die
        self._child_conn = None
        try:
            if not self._conn.poll(self._start_timeout):
                raise RuntimeError("the simulated gateway did not start in time")
            try:
                kind, url = self._conn.recv()
            except EOFError:
                self._process.join(5.0)
                raise RuntimeError(
                    f"the simulated gateway process exited (code {self._process.exitcode})"
                ) from None
            if kind != "ready":
                raise RuntimeError(f"unexpected message from the gateway process: {kind!r}")
            self.url = str(url)
        except BaseException:
            self._shutdown(ask=False)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._shutdown(ask=True)

    def _request(self, command: str, timeout: float = 60.0) -> Any:
        self._conn.send(command)
        if not self._conn.poll(timeout):
            raise RuntimeError(f"the gateway process did not answer {command!r}")
        _, payload = self._conn.recv()
        return payload

    @staticmethod
    def _decode(payload: Any) -> GatewayLog:
        records, cpu, quota_remaining = payload
        return GatewayLog(records, float(cpu), int(quota_remaining))

    def fetch_log(self) -> GatewayLog:
        """The log so far, and the child's CPU seconds so far."""
        return self._decode(self._request("log"))

    def reset_log(self) -> None:
        """Forget the log (the per-second window and the quota are kept)."""
        self._request("reset")

    def stop(self) -> GatewayLog:
        """Stop the server and return its final log (idempotent)."""
        if self._final is None:
            self._final = self._decode(self._request("stop"))
            self._shutdown(ask=False)
        return self._final

    def _shutdown(self, *, ask: bool) -> None:
        process = self._process
        if process.pid is None:
            return
        if ask and process.is_alive():
            with contextlib.suppress(OSError, BrokenPipeError):
                self._conn.send("quit")
        end_child(process, grace=5.0)
        self._conn.close()

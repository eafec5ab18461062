"""Shared helpers of the benchmarks: a simulated gateway served from its own process.

The simulator costs CPU (it generates records, encodes JSON, runs its own event loop), so
benchmarks that measure the client against it over loopback HTTP run it in a child
process, which keeps the client's event loop and the simulator from competing for one
core. :class:`GatewayProcess` starts a fresh :class:`SimulatedGateway` (fresh log, fresh
per-second window, fresh port) in a ``spawn``-ed process and talks to it over a
``multiprocessing`` pipe; nothing is added to the simulator's HTTP surface.

Shutdown is robust by construction:

* the parent asks the child to stop on ``__exit__`` (normal end, exception or Ctrl-C),
  then terminates, then kills it if it does not exit in time;
* the child ignores SIGINT (a Ctrl-C in the terminal reaches the whole process group)
  and stops when the pipe reports EOF, i.e. as soon as the parent is gone, even after a
  ``SIGKILL`` of the parent; it is also a daemon process.

Arrival times in the log are the child's ``time.monotonic()`` (asyncio's loop clock),
which on Linux is the system-wide ``CLOCK_MONOTONIC``: comparable with the parent's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, TypeVar

_T = TypeVar("_T")

__all__ = [
    "Arrival",
    "ChildFailed",
    "GatewayLog",
    "GatewayProcess",
    "GatewaySpec",
    "RssSampler",
    "die_with_parent",
    "max_in_window",
    "read_peak_rss",
    "read_rss",
    "run_in_child",
]

_NS = 1_000_000_000


@dataclass(frozen=True)
class GatewaySpec:
    """How to build the simulated gateway in the child process (picklable).

    ``latency`` uses the CLI syntax of :meth:`Latency.parse`: ``"0.05"`` (fixed),
    ``"0.2:0.8"`` (uniform) or ``"ln:MEDIAN:SIGMA"``. ``up_fraction`` is the part of
    each request's latency spent before it reaches the gateway (the simulator's default
    0.5: with 0.2-0.8 s latency, arrivals lag sends by 0.1-0.4 s); its spread is the
    jitter that the client's ``safety_margin`` has to absorb. ``foreign_rate`` adds
    that many req/s of Poisson arrivals from another integration sharing the window.
    """

    researchers: int
    latency: str = "0.2:0.8"
    rate_limit: int = 25
    seed: int = 0
    up_fraction: float = 0.5
    foreign_rate: float = 0.0


@dataclass(frozen=True)
class Arrival:
    """One request as the gateway logged it (the fields the benchmarks need)."""

    arrival: float
    status: int | None
    error_code: str | None
    accepted: bool
    arrived: bool
    query: str


@dataclass(frozen=True)
class GatewayLog:
    """The gateway's log of client requests, and the child process's CPU time.

    ``foreign_accepted`` / ``foreign_refused`` count the other integration's arrivals
    (``GatewaySpec.foreign_rate``) that the gateway let through or refused.
    """

    arrivals: list[Arrival]
    cpu_seconds: float
    foreign_accepted: int = 0
    foreign_refused: int = 0

    @property
    def accepted_times(self) -> list[float]:
        """Arrival times of the accepted requests, sorted."""
        return sorted(a.arrival for a in self.arrivals if a.arrived and a.accepted)

    def count_status(self, status: int) -> int:
        """How many logged requests got HTTP ``status``."""
        return sum(1 for a in self.arrivals if a.status == status)


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """Most of ``times`` in any half-open window ``[t, t + window)`` (the gateway's rule).

    Times are quantised to integer nanoseconds like :class:`SimulatedGateway` does.
    """
    ns = sorted(round(t * _NS) for t in times)
    w = round(window * _NS)
    best = lo = 0
    for hi, t in enumerate(ns):
        while ns[lo] + w <= t:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# -- the child process ---------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (no-op elsewhere).

    Used by every child of the benchmarks (and as a ``preexec_fn`` for ``subprocess``)
    so that even a ``SIGKILL`` of the parent leaves no orphan behind.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


_PR_SET_PDEATHSIG = 1


def _child_main(spec: GatewaySpec, conn: Connection) -> None:
    """Entry point of the gateway process: serve until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    with contextlib.suppress(EOFError, OSError, BrokenPipeError):
        asyncio.run(_child_serve(spec, conn))


async def _child_serve(spec: GatewaySpec, conn: Connection) -> None:
    from esploro_async.testing import Latency, SimulatedGateway, SyntheticInstitution

    gw = SimulatedGateway(
        SyntheticInstitution(spec.seed, researchers=spec.researchers),
        latency=Latency.parse(spec.latency),
        rate_limit=spec.rate_limit,
        up_fraction=spec.up_fraction,
        foreign_rate=spec.foreign_rate,
        seed=spec.seed,
    )
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def reader() -> None:  # blocking pipe reads in a thread; EOF = the parent is gone
        while True:
            try:
                command = conn.recv()
            except (EOFError, OSError):
                command = "orphaned"
            loop.call_soon_threadsafe(commands.put_nowait, str(command))
            if command in ("stop", "quit", "orphaned"):
                return

    async with gw.serve("127.0.0.1", 0) as server:
        conn.send(("ready", server.url))
        threading.Thread(target=reader, name="gateway-control", daemon=True).start()
        while True:
            command = await commands.get()
            if command in ("quit", "orphaned"):
                return
            if command == "reset":
                gw.reset_log()
                conn.send(("ok", None))
                continue
            log = [
                (r.arrival, r.status, r.error_code, r.accepted, r.arrived, r.query)
                for r in gw.client_log()
            ]
            foreign = [r.accepted for r in gw.log if r.lane == "foreign"]
            accepted = sum(foreign)
            conn.send(("log", (log, _cpu_seconds(), accepted, len(foreign) - accepted)))
            if command == "stop":
                return


# -- the parent side -----------------------------------------------------------------------


class GatewayProcess:
    """A :class:`SimulatedGateway` served on loopback by a child process.

    Use it as a context manager; ``url`` is the base URL once entered::

        with GatewayProcess(GatewaySpec(researchers=20_000)) as gw:
            ...  # talk to gw.url
            log = gw.fetch_log()
    """

    def __init__(self, spec: GatewaySpec, *, start_timeout: float = 30.0) -> None:
        self.spec = spec
        self.url = ""
        self._start_timeout = start_timeout
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._child_conn: Connection | None = child_conn
        self._process = ctx.Process(
            target=_child_main, args=(spec, child_conn), name="sim-gateway", daemon=True
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
        rows, cpu, foreign_accepted, foreign_refused = payload
        return GatewayLog(
            [Arrival(*row) for row in rows], float(cpu), foreign_accepted, foreign_refused
        )

    def fetch_log(self) -> GatewayLog:
        """The log of client requests so far, and the child's CPU seconds so far."""
        return self._decode(self._request("log"))

    def reset_log(self) -> None:
        """Forget the log (the per-second window state is kept)."""
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
        process.join(5.0)
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()
        self._conn.close()


# -- memory sampling -------------------------------------------------------------------------


def _status_field(name: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` in bytes (``None`` without procfs)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _ru_maxrss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, B on macOS
    return int(peak) if os.uname().sysname == "Darwin" else int(peak) * 1024


def read_rss() -> int:
    """This process's resident set size in bytes (``/proc/self/status``; else the peak)."""
    rss = _status_field("VmRSS")
    return rss if rss is not None else _ru_maxrss()


def read_peak_rss() -> int:
    """This process's peak resident set size in bytes (``VmHWM``; else ``ru_maxrss``)."""
    peak = _status_field("VmHWM")
    return peak if peak is not None else _ru_maxrss()


class RssSampler:
    """Samples :func:`read_rss` every ``interval`` seconds in a daemon thread.

    A thread (not a task) so that samples keep their pace while the event loop is busy.
    ``samples`` holds ``(monotonic time, rss bytes, probe())`` triples; ``probe`` is any
    cheap progress counter (e.g. records consumed so far).
    """

    def __init__(self, interval: float = 0.5, probe: Callable[[], int] = lambda: 0) -> None:
        self.interval = interval
        self.probe = probe
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        self.samples.append((time.monotonic(), read_rss(), self.probe()))

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# -- running one measurement in a fresh process ----------------------------------------------


class ChildFailed(RuntimeError):
    """A measurement run by :func:`run_in_child` raised or died; the message says how."""


def _run_child(conn: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it terminates us
    die_with_parent()
    try:
        result = func(*args)
    except BaseException as exc:  # report any failure, then exit
        import traceback

        message: tuple[str, Any] = ("error", "".join(traceback.format_exception(exc)).rstrip())
    else:
        message = ("ok", result)
    with contextlib.suppress(OSError):  # BrokenPipeError: the parent gave up on us
        conn.send(message)
    conn.close()


def run_in_child(func: Callable[..., _T], *args: Any, timeout: float = 1800.0) -> _T:
    """``func(*args)`` in a fresh ``spawn``-ed process; its (picklable) result.

    A fresh process gives each measurement its own heap, so peak RSS (``VmHWM``) and RSS
    growth belong to that measurement alone. ``func`` must be importable (module level).
    On Ctrl-C, an error or a timeout the child is terminated, then killed. The child is
    not a daemon (so that it may start a gateway process of its own); it is asked to die
    with this process all the same (:func:`die_with_parent`).
    """
    ctx = multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_run_child, args=(child_conn, func, args), name="bench-client", daemon=False
    )
    process.start()
    child_conn.close()
    finished = False
    try:
        if not parent_conn.poll(timeout):
            raise ChildFailed(f"{getattr(func, '__name__', func)} did not finish in {timeout} s")
        try:
            kind, payload = parent_conn.recv()
        except EOFError:
            process.join(5.0)
            raise ChildFailed(
                f"{getattr(func, '__name__', func)}: process exited with code {process.exitcode}"
            ) from None
        if kind != "ok":
            raise ChildFailed(str(payload))
        result: _T = payload
        finished = True
        return result
    finally:
        parent_conn.close()
        process.join(5.0 if finished else 0.0)
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()

"""Shared helpers of the benchmarks: the gateway they run against, memory sampling, and one
measurement per fresh process.

The gateway is the simulator served by a child process
(`esploro_async.testing.GatewayProcess`); `GatewaySpec` is the benchmarks' picklable
description of it, in the command line's terms.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, TypeVar

from esploro_async.testing import GatewayLog, GatewayProcess, Latency, max_in_window
from esploro_async.testing.children import die_with_parent, end_child

_T = TypeVar("_T")

__all__ = [
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


@dataclass(frozen=True)
class GatewaySpec:
    """How to build the simulated gateway in the child process (picklable).

    ``latency`` uses the CLI syntax of :meth:`Latency.parse`: ``"0.05"`` (fixed),
    ``"0.2:0.8"`` (uniform) or ``"ln:MEDIAN:SIGMA"``. ``up_fraction`` is the part of
    each request's latency spent before it reaches the gateway (the simulator's default
    0.5: with 0.2-0.8 s latency, arrivals lag sends by 0.1-0.4 s); its spread is the
    jitter that the client's ``safety_margin`` has to absorb. ``foreign_rate`` adds
    that many req/s of Poisson arrivals from another integration sharing the window.
    ``remaining_header``: when the gateway writes ``X-Exl-Api-Remaining`` (``"arrival"``,
    ``"departure"`` or ``"none"``, see `SimulatedGateway`).
    """

    researchers: int
    latency: str = "0.2:0.8"
    rate_limit: int = 25
    seed: int = 0
    up_fraction: float = 0.5
    foreign_rate: float = 0.0
    remaining_header: str = "arrival"

    def process(self) -> GatewayProcess:
        """A `GatewayProcess` serving this gateway (enter it to start it)."""
        return GatewayProcess(
            researchers=self.researchers,
            latency=Latency.parse(self.latency),
            rate_limit=self.rate_limit,
            up_fraction=self.up_fraction,
            foreign_rate=self.foreign_rate,
            remaining_header=self.remaining_header,
            seed=self.seed,
        )


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
        end_child(process, grace=5.0 if finished else 0.0)

"""What every part of the report shares: the run's :class:`Suite`, a :class:`Check` against a
target, the machine note and the Markdown table helpers."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.foreign import Row as ForeignRow
from benchmarks.harvest import Result
from benchmarks.margin import Group as MarginGroup
from benchmarks.memory import MB, Run
from benchmarks.mirror import MirrorBench
from benchmarks.overhead import Overhead

#: The latency of the "steady" and "slow" harvest scenarios (CLI syntax).
STEADY_LATENCY = "0.30:0.32"
SLOW_LATENCY = "1:3"
#: Whole-run records/s targets: the default margin at 0.2-0.8 s, "auto" on steady round trips.
DEFAULT_TARGET = 2150
AUTO_TARGET = 2300
#: The library's CPU per request at most this many times the hand-written client's (h).
CPU_RATIO = 1.5

PLOT_HINT = "pip install 'esploro-async[bench]', or pip install matplotlib"


@dataclass
class Suite:
    """Everything one ``python -m benchmarks`` run produced (missing parts stay empty)."""

    quick: bool
    command: str
    started: dt.datetime
    machine: list[str]
    researchers: int = 0
    foreign_rate: float = 0.0
    latency: str = "0.2:0.8"
    up_fraction: float = 0.02
    harvest: list[Result] = field(default_factory=list)
    foreign: list[Result] = field(default_factory=list)
    foreign_seeds: list[Result] = field(default_factory=list)  # more seeds of a few rows
    variants: dict[str, list[Result]] = field(default_factory=dict)  # spread, steady, slow
    margin: list[MarginGroup] = field(default_factory=list)  # virtual time, every condition
    frontier: dict[str, list[ForeignRow]] = field(default_factory=dict)  # load -> rows
    frontier_seeds: int = 0
    redis: list[dict[str, Any]] = field(default_factory=list)
    redis_per_process: int = 0
    overhead: Overhead | None = None
    overhead_requests: int = 0
    memory: Run | None = None
    memory_records: int = 0
    mirror: MirrorBench = field(default_factory=MirrorBench)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per scenario
    skipped: dict[str, str] = field(default_factory=dict)  # scenario -> why
    errors: dict[str, str] = field(default_factory=dict)  # scenario -> error text
    figures: list[str] = field(default_factory=list)  # file names written
    plot_note: str = ""  # why no figure was written, if none was


@dataclass(frozen=True)
class Check:
    """One target: what was measured, PASS or MISS, and by how much when missed."""

    subject: str
    target: str
    measured: str
    ok: bool
    shortfall: str = ""

    def cells(self) -> list[str]:
        """The Markdown table cells."""
        verdict = "PASS" if self.ok else f"**MISS** {self.shortfall}".rstrip()
        return [self.subject, self.target, self.measured, verdict]


# -- machine and context -----------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    return "RAM unknown"


def machine_note() -> list[str]:
    """A few lines describing the machine, the interpreter and the load at the start."""
    from esploro_async import __version__

    try:
        load = "load average at start {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "load average unknown"
    return [
        f"{_cpu_model()}, {os.cpu_count()} logical CPUs, {_memory_total()}; {load}",
        f"{platform.platform()}; Python {platform.python_version()} "
        f"({platform.python_implementation()}); esploro-async {__version__}",
        "a shared machine: compare rows within one run (they ran side by side), not "
        "absolute numbers across runs",
    ]


# -- Markdown helpers --------------------------------------------------------------------------


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A Markdown table; the first ``left`` columns left-aligned, the rest right-aligned."""
    align = ["---"] * left + ["--:"] * (len(head) - left)
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _mb(n: int) -> str:
    return f"{n / MB:.0f}"


def _label(r: Result) -> str:
    return f"({r.key}) {r.name}"


def _checks_table(checks: Sequence[Check]) -> list[str]:
    return _table(["row", "target", "measured", "verdict"], [c.cells() for c in checks], 3)


def _section_status(suite: Suite, key: str) -> list[str]:
    if key in suite.errors:
        return ["", f"**Did not complete:** `{suite.errors[key].splitlines()[-1]}`", ""]
    if key in suite.skipped:
        return ["", f"Skipped: {suite.skipped[key]}.", ""]
    return []


def _spread(latency: str, up_fraction: float) -> float:
    """The spread (s) of send-to-arrival delay of a uniform ``"low:high"`` latency."""
    low, _, high = latency.partition(":")
    return (float(high or low) - float(low)) * up_fraction

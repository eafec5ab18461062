"""Render the results of ``python -m benchmarks``: ``RESULTS.md`` and the PNG figures.

Nothing here measures anything: :class:`Suite` holds what the scenarios produced and the
modules below turn it into Markdown tables (with PASS/MISS against the targets, and by
how much a target is missed) and matplotlib figures. matplotlib is optional: without it
:func:`write_plots` returns a message and the Markdown is written all the same.

- :mod:`~benchmarks.report.common`: the suite, a check, the machine note, table helpers;
- :mod:`~benchmarks.report.harvest`, :mod:`~benchmarks.report.foreign`,
  :mod:`~benchmarks.report.shared_redis`, :mod:`~benchmarks.report.costs`: each scenario's
  tables and targets;
- :mod:`~benchmarks.report.document`: the whole ``RESULTS.md``;
- :mod:`~benchmarks.report.figures`: the PNG figures.
"""

from __future__ import annotations

from benchmarks.report.common import SLOW_LATENCY, STEADY_LATENCY, Check, Suite, machine_note
from benchmarks.report.costs import memory_lines, overhead_lines
from benchmarks.report.document import render, write_markdown
from benchmarks.report.figures import per_second, write_plots
from benchmarks.report.foreign import foreign_checks, foreign_seed_checks, foreign_seed_rows
from benchmarks.report.harvest import harvest_checks
from benchmarks.report.shared_redis import redis_checks

__all__ = [
    "SLOW_LATENCY",
    "STEADY_LATENCY",
    "Check",
    "Suite",
    "foreign_checks",
    "foreign_seed_checks",
    "foreign_seed_rows",
    "harvest_checks",
    "machine_note",
    "memory_lines",
    "overhead_lines",
    "per_second",
    "redis_checks",
    "render",
    "write_markdown",
    "write_plots",
]

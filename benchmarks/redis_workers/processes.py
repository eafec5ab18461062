"""Worker processes started at one instant, each on its own disjoint slice of offsets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from benchmarks.redis_workers.common import ROOT
from esploro_async.testing.process import die_with_parent


def run_workers(
    configs: Sequence[dict[str, Any]],
    timeout: float = 600,
    during: Callable[[float], object] | None = None,
    lead: float = 2.0,
) -> list[dict[str, Any]]:
    """Start one worker process per config at the same instant; return their results.

    ``during(start_at)`` runs while they work (e.g. to kill Redis), ``start_at`` being
    the ``time.time()`` they start at; a config's ``delay`` starts that worker later.
    """
    start_at = time.time() + lead  # time to import and connect
    procs: list[subprocess.Popen[str]] = []
    try:
        for cfg in configs:
            payload = json.dumps({**cfg, "start_at": start_at + cfg.get("delay", 0.0)})
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.redis_workers", "worker", payload],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                    preexec_fn=die_with_parent,
                )
            )
        if during is not None:
            during(start_at)
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"worker failed with exit code {proc.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:  # an error, a timeout or Ctrl-C: no worker outlives the run
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def slices(
    processes: int, per_process: int, limit: int, weights: Sequence[float] | None = None
) -> Iterator[list[int]]:
    """Disjoint offset ranges, one per process: ``per_process`` pages each, or the
    ``processes x per_process`` pages shared in proportion to ``weights``."""
    counts = [per_process] * processes
    if weights is not None:
        total = processes * per_process
        counts = [round(total * w / sum(weights)) for w in weights[:-1]]
        counts.append(total - sum(counts))
    start = 0
    for count in counts:
        yield [(start + i) * limit for i in range(count)]
        start += count

"""What every part of the Redis benchmark shares: the rates, the steady window, the root."""

from __future__ import annotations

from pathlib import Path

#: The repository's root: the workers run ``python -m benchmarks.redis_workers`` from it.
ROOT = Path(__file__).resolve().parent.parent.parent
EFFECTIVE_RATE = 25.0 / 1.10
RATE_LIMIT = 25.0
# The steady window: the run less its first seconds (the processes start together and the
# automatic margin narrows from 0.10 once the institution's arrival order is read) and its
# last ones (the workers finish one by one).
STEADY_SKIP = (5.0, 2.0)
INSTITUTION = "01BENCH_INST"

"""The guarantees over randomized, seeded schedules (see `esploro_async.testing.invariants`).

Every schedule is drawn from its seed, runs in virtual time and is checked by the same
invariants: every record once or a typed error with an exact resume, at most 25 of our
requests in any second, the reserve kept, typed errors only, nothing left running, nothing
sent after a cancellation, no POST replayed. ``python -m benchmarks.soak --seeds N`` runs more.
"""

from __future__ import annotations

import pytest

from esploro_async.testing.invariants import run_seed

SEEDS = range(200)
VIRTUAL_TIME = True  # run_seed builds looptime loops: skipped on Python 3.10 (conftest.py)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_guarantee_holds_under_a_random_schedule(seed: int) -> None:
    schedule, violations = run_seed(seed, backend="trio" if seed % 10 == 9 else "asyncio")
    assert not violations, f"seed {seed}: {violations}\n{schedule}"

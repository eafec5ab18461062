"""Many OS processes, one institution: `RedisGovernance` against the budget split by hand.

Starts a ``redis-server`` on a free loopback port (or uses ``--redis-url``), serves the
simulated gateway in a separate process on loopback, then runs 4 worker processes that
each harvest a disjoint slice of ``/researchers`` (``offset``/``limit`` pages), all
starting at the same instant. For every scenario it reports, from the *gateway's* log:
429s, the most arrivals (429s included) in any sliding second, aggregate throughput against
the configured effective rate and against the baseline, and Redis commands per request
(``INFO commandstats`` after ``CONFIG RESETSTAT``). Scenarios: 4 processes on one Redis,
at the library's defaults; the baseline, 4 processes without Redis, as a competent user
would write them (`~benchmarks.redis_workers.hand_split`: each process plain httpx behind
its own ``AsyncLimiter(1, 1 / 6)``, 25 / 4 rounded down to whole requests, 24 together, a
429 retried after its ``Retry-After``); and both again with one process's clocks (``time.time``,
``time.monotonic`` and so the event loop's clock) shifted by +250 ms and -250 ms.

    .venv/bin/python -m benchmarks.redis_workers            # full (~3 min)
    .venv/bin/python -m benchmarks.redis_workers --quick    # under 1 min
    .venv/bin/python -m benchmarks.redis_workers --no-skew --per-process 300  # longer, 2 rows
    .venv/bin/python -m benchmarks.redis_workers --no-skew --weights 1,1,1,3  # uneven work

Throughput is given twice: over the whole run (first to last accepted arrival), and in the
steady window (`steady_rate`: the run less its first 5 s, while the processes start and the
automatic margin narrows, and its last 2 s, while they finish one by one).

Targets (printed as PASS/MISS for the one-Redis rows, never asserted): 0 x 429, at most
25 arrivals (429s included) in any sliding second, a steady aggregate >= 94 % of the
gateway's 25 requests per second, fewer than 4 Redis commands per request (about 2 per
grant, more with the 0.1 s batch_horizon).

``bench()`` is what ``python -m benchmarks`` calls. Every child (``redis-server``, the
gateway, the workers) is stopped on the way out, Ctrl-C included, and asked by the
kernel to exit should this process die without cleaning up.

The same module is the worker entry point used by ``tests/redis``::

    python -m benchmarks.redis_workers worker '{"base_url": ..., "offsets": [...], ...}'

The gateway is `esploro_async.testing.GatewayProcess`: the simulator in a child process.

- :mod:`~benchmarks.redis_workers.compare`: the comparison, its table and targets;
- :mod:`~benchmarks.redis_workers.scenarios`: the quota, restart and priority scenarios;
- :mod:`~benchmarks.redis_workers.worker`: the worker process;
- :mod:`~benchmarks.redis_workers.hand_split`: the baseline's worker, without the library;
- :mod:`~benchmarks.redis_workers.processes`: workers started together on disjoint slices;
- :mod:`~benchmarks.redis_workers.gateway`: the gateway and what its log says;
- :mod:`~benchmarks.redis_workers.redis_server`: ``redis-server`` and its command counts;
- :mod:`~benchmarks.redis_workers.cli`: the command line.
"""

from __future__ import annotations

from benchmarks.redis_workers.cli import main
from benchmarks.redis_workers.common import EFFECTIVE_RATE, INSTITUTION, RATE_LIMIT, STEADY_SKIP
from benchmarks.redis_workers.compare import bench, print_table, scenario, targets, vs_baseline
from benchmarks.redis_workers.gateway import gateway_stats, start_gateway, steady_rate
from benchmarks.redis_workers.hand_split import HAND_SPLIT_RATE, hand_split_label
from benchmarks.redis_workers.processes import run_workers, slices
from benchmarks.redis_workers.redis_server import (
    ExternalRedis,
    RedisServer,
    commands_per_request,
    commandstats,
    redis_command,
)
from benchmarks.redis_workers.scenarios import (
    priority_scenario,
    quota_scenario,
    restart_scenario,
)
from benchmarks.redis_workers.worker import shift_clocks, worker_main

__all__ = [
    "EFFECTIVE_RATE",
    "HAND_SPLIT_RATE",
    "INSTITUTION",
    "RATE_LIMIT",
    "STEADY_SKIP",
    "ExternalRedis",
    "RedisServer",
    "bench",
    "commands_per_request",
    "commandstats",
    "gateway_stats",
    "hand_split_label",
    "main",
    "print_table",
    "priority_scenario",
    "quota_scenario",
    "redis_command",
    "restart_scenario",
    "run_workers",
    "scenario",
    "shift_clocks",
    "slices",
    "start_gateway",
    "steady_rate",
    "targets",
    "vs_baseline",
    "worker_main",
]

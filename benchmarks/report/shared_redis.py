"""Scenario 3: four processes sharing one Redis against in-process limiters."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchmarks.redis_workers import EFFECTIVE_RATE, vs_baseline
from benchmarks.redis_workers import targets as redis_targets
from benchmarks.report.common import Check

REDIS_HEAD = [
    "4 processes",
    "clock skew of one",
    "requests",
    "429s",
    "max in any 1 s",
    "accepted req/s",
    f"of {EFFECTIVE_RATE:.1f}/s",
    "steady req/s",
    "steady, of 25/s",
    "accepted, vs hand-split",
    "steady, vs hand-split",
    "Redis commands/req",
    "errors",
]


def _redis_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    out = []
    for r in rows:
        cmds = r["commands"]
        whole, steady = vs_baseline(r, rows)
        out.append(
            [
                r["mode"],
                f"{r['shift'] * 1000:+.0f} ms",
                str(r["requests"]),
                str(r["throttled"]),
                str(r["max_in_window"]),
                f"{r['throughput']:.1f}",
                f"{r['efficiency']:.0%}",
                f"{r['steady']:.1f}",
                f"{r['steady_share']:.1%}",
                f"{whole:.3f}",
                f"{steady:.3f}",
                "" if math.isnan(cmds) else f"{cmds:.2f}",
                str(r["errors"]),
            ]
        )
    return out


def redis_checks(rows: Sequence[dict[str, Any]]) -> list[Check]:
    """The one-Redis rows' targets, with the shortfall of any miss."""
    checks = []
    for r in rows:
        if r["mode"] != "one Redis":
            continue
        subject = f"one Redis, skew {r['shift'] * 1000:+.0f} ms"
        for (label, ok, value), short in zip(
            redis_targets(r),
            [
                f"{r['throttled']} too many",
                f"{r['max_in_window'] - 25} over",
                f"{0.94 * 25 - r['steady']:.1f} req/s short",
                f"{r['commands'] - 3:.2f} over",
            ],
            strict=True,
        ):
            checks.append(Check(subject, label, value, ok, short))
    return checks

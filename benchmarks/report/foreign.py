"""Scenario 2: the harvest beside another integration's load, one seed and several."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from benchmarks.harvest import Result
from benchmarks.report.common import Check, _label, _mb

FOREIGN_HEAD = [
    "strategy",
    "wall s",
    "429s (ours)",
    "foreign refused",
    "max in any 1 s (ours)",
    "records",
    "unique",
    "lost",
    "goodput records/s",
    "goodput vs (a)",
    "peak RSS MB",
]


def _foreign_rows(results: Sequence[Result]) -> list[list[str]]:
    base = next((r.goodput for r in results if r.key == "a"), None)
    return [
        [
            _label(r),
            f"{r.wall:.1f}",
            str(r.throttled),
            f"{r.log.foreign_refused} of {r.log.foreign_accepted + r.log.foreign_refused}",
            str(r.max_1s),
            f"{r.records:,}",
            f"{r.unique:,}",
            f"{r.lost:,}",
            f"{r.goodput:.0f}",
            f"{r.goodput / base:.2f}x" if base else "",
            _mb(r.peak_rss),
        ]
        for r in results
    ]


def foreign_checks(results: Sequence[Result]) -> list[Check]:
    """Under foreign load: goodput at least the best lossless alternative's, nothing lost."""
    others = [r for r in results if not r.library and r.lost == 0]
    best = max(others, key=lambda r: r.goodput, default=None)
    checks = []
    for r in results:
        if not r.library:
            continue
        checks.append(
            Check(_label(r), "nothing lost", f"{r.lost:,} lost", r.lost == 0, f"{r.lost:,} lost")
        )
        if best is not None:
            checks.append(
                Check(
                    _label(r),
                    f"goodput >= best lossless alternative {_label(best)}: {best.goodput:,.0f}",
                    f"{r.goodput:,.0f} records/s",
                    r.goodput >= best.goodput,
                    f"{best.goodput - r.goodput:,.0f} records/s short",
                )
            )
    return checks


def _by_strategy(results: Sequence[Result]) -> dict[str, list[Result]]:
    grouped: dict[str, list[Result]] = {}
    for r in results:
        grouped.setdefault(r.key, []).append(r)
    return grouped


def foreign_seed_rows(results: Sequence[Result]) -> list[list[str]]:
    """Per strategy over every seed: goodput mean/min/max, 429s, the other's refusals."""
    rows = []
    for runs in _by_strategy(results).values():
        goodputs = [r.goodput for r in runs]
        refused = sum(r.log.foreign_refused for r in runs)
        offered = sum(r.log.foreign_accepted + r.log.foreign_refused for r in runs)
        rows.append(
            [
                _label(runs[0]),
                str(len(runs)),
                f"{statistics.mean(goodputs):,.0f}",
                f"{min(goodputs):,.0f}",
                f"{max(goodputs):,.0f}",
                f"{statistics.mean(r.throttled for r in runs):.1f}",
                f"{refused} of {offered} ({refused / max(offered, 1):.0%})",
                f"{sum(r.lost for r in runs):,}",
            ]
        )
    return rows


def foreign_seed_checks(results: Sequence[Result]) -> list[Check]:
    """The goodput target on the mean over seeds (one seed's Poisson arrivals decide a lot)."""
    grouped = _by_strategy(results)
    lossless = [runs for runs in grouped.values() if not runs[0].library]
    lossless = [runs for runs in lossless if all(r.lost == 0 for r in runs)]
    if not lossless:
        return []
    best = max(lossless, key=lambda runs: statistics.mean(r.goodput for r in runs))
    best_mean = statistics.mean(r.goodput for r in best)
    checks = []
    for runs in grouped.values():
        if runs[0].library:
            mean = statistics.mean(r.goodput for r in runs)
            checks.append(
                Check(
                    _label(runs[0]),
                    f"mean goodput >= best lossless alternative {_label(best[0])}: "
                    f"{best_mean:,.0f}",
                    f"{mean:,.0f} records/s",
                    mean >= best_mean,
                    f"{best_mean - mean:,.0f} records/s short",
                )
            )
    return checks


FOREIGN_SEEDS_HEAD = [
    "strategy",
    "seeds",
    "goodput mean",
    "min",
    "max",
    "429s (ours) mean",
    "the other integration's requests refused",
    "lost",
]

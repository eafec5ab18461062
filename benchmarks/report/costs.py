"""Scenarios 4 and 5: the client's overhead per request and its memory while streaming."""

from __future__ import annotations

from benchmarks.memory import MB, TARGET_GROWTH, Run
from benchmarks.overhead import TARGET_US, Overhead
from benchmarks.report.common import Check, _checks_table, _table


def overhead_lines(o: Overhead) -> list[str]:
    """The overhead table and its targets (both measures of the added cost)."""
    rows = [
        ["raw httpx", f"{o.raw_median_us:.1f}", f"{o.raw_p90_us:.1f}"],
        ["esploro-async", f"{o.governed_median_us:.1f}", f"{o.governed_p90_us:.1f}"],
        [
            "added: difference of medians",
            f"{o.added_medians_us:.1f}",
            f"{o.governed_p90_us - o.raw_p90_us:.1f}",
        ],
        ["added: median over rounds of the difference", f"{o.added_us:.1f}", "-"],
        ["added CPU time (median over rounds)", f"{o.added_cpu_us:.1f}", "-"],
    ]
    checks = [
        Check(
            "esploro-async",
            f"added <= {TARGET_US:.0f} µs, {label}",
            f"{value:.1f} µs ({o.ratio:.2f}x raw)",
            value <= TARGET_US,
            f"{value - TARGET_US:.1f} µs over",
        )
        for label, value in (
            ("difference of medians", o.added_medians_us),
            ("median of differences", o.added_us),
        )
    ]
    return [*_table(["client", "median µs", "p90 µs"], rows), "", *_checks_table(checks)]


def memory_lines(run: Run, records: int) -> list[str]:
    """The memory table, a short RSS timeline and the target."""
    from benchmarks.memory import summary

    rows = [[k, v] for k, v in summary(run, records)]
    t0 = run.samples[0][0]
    step = max(1, len(run.samples) // 8)
    picks = [*run.samples[::step], run.samples[-1]]
    timeline = [[f"{t - t0:.1f}", f"{n:,}", f"{rss / MB:.1f}"] for t, rss, n in picks]
    check = Check(
        "esploro-async",
        f"RSS growth <= {TARGET_GROWTH // MB} MB",
        f"{run.growth / MB:.1f} MB",
        run.growth <= TARGET_GROWTH,
        f"{(run.growth - TARGET_GROWTH) / MB:.1f} MB over",
    )
    return [
        *_table(["measure", "value"], rows),
        "",
        "RSS over time:",
        "",
        *_table(["t s", "records", "RSS MB"], timeline, 0),
        "",
        *_checks_table([check]),
    ]

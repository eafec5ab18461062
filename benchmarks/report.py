"""Render the results of ``python -m benchmarks``: ``RESULTS.md`` and the PNG figures.

Nothing here measures anything: :class:`Suite` holds what the scenarios produced and the
functions below turn it into Markdown tables (with PASS/MISS against the targets, and by
how much a target is missed) and matplotlib figures. matplotlib is optional: without it
:func:`write_plots` returns a message and the Markdown is written all the same.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import foreign as foreign_bench
from benchmarks import margin as margin_bench
from benchmarks.foreign import Row as ForeignRow
from benchmarks.harvest import PAGE, PHYSICAL, RATE_LIMIT, Result
from benchmarks.margin import Group as MarginGroup
from benchmarks.memory import MB, TARGET_GROWTH, Run
from benchmarks.mirror import MirrorBench
from benchmarks.mirror import section as mirror_section
from benchmarks.overhead import TARGET_US, Overhead
from benchmarks.redis_workers import EFFECTIVE_RATE
from benchmarks.redis_workers import targets as redis_targets

__all__ = [
    "SLOW_LATENCY",
    "STEADY_LATENCY",
    "Check",
    "Suite",
    "machine_note",
    "write_markdown",
    "write_plots",
]

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


# -- scenario 1: harvest -----------------------------------------------------------------------


HARVEST_HEAD = [
    "strategy",
    "wall s",
    "records/s (whole run)",
    "of 2,500",
    "accepted req/s",
    "of 25/s",
    "steady req/s",
    "429s",
    "max in any 1 s",
    "records",
    "unique",
    "peak RSS MB",
    "wall vs (a)",
]


def _harvest_rows(results: Sequence[Result]) -> list[list[str]]:
    base = next((r.wall for r in results if r.key == "a"), None)
    rows = []
    for r in results:
        rows.append(
            [
                _label(r),
                f"{r.wall:.1f}",
                f"{r.goodput:,.0f}",
                f"{r.goodput / PHYSICAL:.0%}",
                f"{r.rate:.2f}",
                f"{r.rate / RATE_LIMIT:.0%}",
                f"{r.steady:.2f}",
                str(r.throttled),
                str(r.max_1s),
                f"{r.records:,}",
                f"{r.unique:,}",
                _mb(r.peak_rss),
                f"{r.wall / base:.2f}x" if base else "",
            ]
        )
    return rows


def _row_checks(r: Result, *, no_429: bool) -> list[Check]:
    """What every library row must do: every record once, 25/s, steady >= 95 % of its rate."""
    ref = r.outcome.ref_rate
    floor = 0.95 * ref
    subject = _label(r)
    checks = [
        Check(
            subject,
            f"max in any 1 s <= {RATE_LIMIT}",
            str(r.max_1s),
            r.max_1s <= RATE_LIMIT,
            f"{r.max_1s - RATE_LIMIT} over",
        ),
        Check(
            subject,
            f"records = unique = {r.expected:,}",
            f"{r.records:,} / {r.unique:,}",
            r.records == r.unique == r.expected,
            f"{r.expected - r.unique:+,} unique, {r.records - r.unique:,} duplicates",
        ),
        Check(
            subject,
            f"steady >= 95% of {ref:.2f} = {floor:.2f} req/s",
            f"{r.steady:.2f} req/s ({r.steady / ref:.1%})",
            r.steady >= floor,
            f"{floor - r.steady:.2f} req/s short ({(r.steady - floor) / floor:+.1%})",
        ),
    ]
    if no_429:
        checks.insert(
            0,
            Check(
                subject, "0 x 429", str(r.throttled), r.throttled == 0, f"{r.throttled} too many"
            ),
        )
    return checks


def _at_least(r: Result, target: float) -> Check:
    return Check(
        _label(r),
        f">= {target:,.0f} records/s over the whole run ({target / PHYSICAL:.0%})",
        f"{r.goodput:,.0f} ({r.goodput / PHYSICAL:.1%})",
        r.goodput >= target,
        f"{target - r.goodput:,.0f} records/s short",
    )


def _versus_competent(r: Result, h: Result) -> list[Check]:
    """Ahead of the competent hand-written client (h) in records/s, memory and CPU."""
    cpu = r.client_cpu / max(r.accepted, 1)
    h_cpu = h.client_cpu / max(h.accepted, 1)
    return [
        Check(
            _label(r),
            f"records/s >= (h)'s {h.goodput:,.0f}",
            f"{r.goodput:,.0f}",
            r.goodput >= h.goodput,
            f"{h.goodput - r.goodput:,.0f} records/s short",
        ),
        Check(
            _label(r),
            f"peak RSS <= (h)'s {_mb(h.peak_rss)} MB",
            f"{_mb(r.peak_rss)} MB",
            r.peak_rss <= h.peak_rss,
            f"{(r.peak_rss - h.peak_rss) / MB:.0f} MB over",
        ),
        Check(
            _label(r),
            f"client CPU per request <= {CPU_RATIO}x (h)'s {h_cpu * 1e6:.0f} µs",
            f"{cpu * 1e6:.0f} µs ({cpu / h_cpu:.2f}x)" if h_cpu else f"{cpu * 1e6:.0f} µs",
            cpu <= CPU_RATIO * h_cpu,
            f"{(cpu - CPU_RATIO * h_cpu) * 1e6:.0f} µs over",
        ),
    ]


def harvest_checks(results: Sequence[Result], scenario: str = "harvest") -> list[Check]:
    """The library rows' targets in one harvest scenario (see the module's sections)."""
    h = next((r for r in results if r.key == "h"), None)
    checks = []
    for r in results:
        if not r.library:
            continue
        if scenario == "spread":
            # Only a margin that covers the 0.3 s spread can promise 0 x 429 here.
            checks += _row_checks(r, no_429=r.key in ("e", "g"))
        else:
            checks += _row_checks(r, no_429=True)
        if scenario == "harvest" and r.key == "a":
            checks.append(_at_least(r, DEFAULT_TARGET))
        if scenario == "steady" and r.key == "g":
            checks.append(_at_least(r, AUTO_TARGET))
        if h is not None and scenario in ("harvest", "steady", "slow"):
            checks += _versus_competent(r, h)
    return checks


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


def _checks_table(checks: Sequence[Check]) -> list[str]:
    return _table(["row", "target", "measured", "verdict"], [c.cells() for c in checks], 3)


# -- scenario 2: foreign load ------------------------------------------------------------------


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


# -- scenario 3: Redis -------------------------------------------------------------------------


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
    "Redis commands/req",
    "errors",
]


def _redis_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    out = []
    for r in rows:
        cmds = r["commands"]
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


# -- scenarios 4 and 5: overhead, memory -------------------------------------------------------


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


# -- the document ------------------------------------------------------------------------------


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


def _harvest_section(results: Sequence[Result], scenario: str) -> list[str]:
    md = ["", *_table(HARVEST_HEAD, _harvest_rows(results))]
    md += [
        "",
        "records/s = unique records / wall time of the whole run (start-up and the last "
        "round trip included); accepted req/s likewise; steady = accepted rate from the 2nd "
        "accepted arrival to the last (gateway clock); max in any 1 s = most accepted "
        "arrivals in any sliding second; peak RSS = `VmHWM` of the client's process "
        "(interpreter and imports included).",
    ]
    checks = harvest_checks(results, scenario)
    if checks:
        md += ["", "Targets (library rows):", "", *_checks_table(checks)]
    return md


def _variants(suite: Suite) -> list[tuple[str, str, str]]:
    """(scenario, heading, description) of the harvest variants."""
    steady = STEADY_LATENCY.replace(":", "–")
    slow = SLOW_LATENCY.replace(":", "–")
    return [
        (
            "spread",
            "### 1b. The same with a 0.3 s spread of send-to-arrival delay",
            f"Latency uniform {suite.latency.replace(':', '–')} s, half of it before arrival: "
            f"a {_spread(suite.latency, 0.5) * 1000:.0f} ms spread, which only a margin of "
            'about 0.3 can absorb. (e) is the library at margin 0.30. `"auto"` assumes '
            "that at most half of the round-trip spread lies before arrival, which holds here.",
        ),
        (
            "steady",
            f"### 1c. Steady round trips ({steady} s)",
            f"Latency uniform {steady} s, half of it before arrival "
            f"({_spread(STEADY_LATENCY, 0.5) * 1000:.0f} ms spread): the round trips tell "
            '`"auto"` that the network is steady, and its margin narrows to about 0.03.',
        ),
        (
            "slow",
            f"### 1d. Slow responses ({slow} s)",
            f"Latency uniform {slow} s, {suite.up_fraction:.0%} of it before arrival "
            f"({_spread(SLOW_LATENCY, suite.up_fraction) * 1000:.0f} ms spread): about 45 "
            "requests must be in flight to keep the rate.",
        ),
    ]


def render(suite: Suite) -> str:
    """The whole ``RESULTS.md``."""
    mode = "quick (smoke run; small sizes)" if suite.quick else "full"
    n = suite.researchers
    total = sum(suite.seconds.values())
    md = [
        "# Benchmark results",
        "",
        f"- command: `{suite.command}` ({mode})",
        f"- date: {suite.started:%Y-%m-%d %H:%M} UTC; all scenarios took {total / 60:.1f} min "
        "(" + ", ".join(f"{k} {v:.0f} s" for k, v in suite.seconds.items()) + ")",
        *(f"- machine: {line}" if i == 0 else f"  {line}" for i, line in enumerate(suite.machine)),
        "- the simulated gateway (`esploro_async.testing`) is served over HTTP on loopback by a "
        "process of its own, a fresh one per strategy; per-second figures come from its "
        "arrival log; each strategy's client runs in a fresh process too (its own peak RSS)",
        "- timings are never asserted; PASS/MISS compares against the targets below",
    ]
    if suite.figures:
        md += ["", *(f"![{f}]({f})" for f in suite.figures)]
    elif suite.plot_note:
        md += ["", f"No figure: {suite.plot_note}"]
    md += ["", *margin_bench.section(), *_section_status(suite, "margin")]
    if suite.margin:
        md += ["", *margin_bench.markdown(suite.margin)]

    md += [
        "",
        f"## 1. Harvest {n:,} researchers ({-(-n // PAGE)} pages of {PAGE})",
        "",
        f"Gateway: {RATE_LIMIT} requests in any sliding second, latency uniform "
        f"{suite.latency.replace(':', '–')} s ({suite.up_fraction:.0%} of it before arrival: "
        "a spread of send-to-arrival delay of "
        f"{_spread(suite.latency, suite.up_fraction) * 1000:.0f} ms, the jitter every row "
        "here faces). The physical limit is 25 x 100 = 2,500 records/s. "
        '(a)/(b)/(g): `client.researchers.list()` at margins 0.10, 0.02 and `"auto"`; '
        "(h): the competent hand-written client, `asyncio.gather` over all pages behind "
        "`aiolimiter.AsyncLimiter(1, 1/24.5)`, a 429 retried after 1 s (up to 10 times); "
        "(c): one page after another with httpx; (d): `asyncio.gather` behind "
        "`aiolimiter.AsyncLimiter(25, 1)`; (f): `asyncio.gather` with no limiter (httpx's "
        "pool of 100 connections is the only bound). (c), (d), (f) retry a page once, 1 s "
        "after a 429, then give it up.",
        *_section_status(suite, "harvest"),
    ]
    if suite.harvest:
        md += _harvest_section(suite.harvest, "harvest")
        if suite.quick and not any(r.key == "c" for r in suite.harvest):
            md += ["", "(c) httpx sequential is skipped in `--quick` (about 2 req/s)."]
    for key, title, text in _variants(suite):
        md += ["", title, "", text, *_section_status(suite, key)]
        if suite.variants.get(key):
            md += _harvest_section(suite.variants[key], key)

    md += [
        "",
        f"## 2. The same harvest while another integration sends {suite.foreign_rate:g} req/s",
        "",
        f"The simulator adds {suite.foreign_rate:g} req/s of Poisson arrivals from another "
        "integration into the same per-second window; no client can see them. The library "
        "pauses on a 429, lowers its rate (AIMD) and retries the page; the httpx strategies "
        "retry once. Goodput = unique records / wall time.",
        *_section_status(suite, "foreign"),
    ]
    if suite.foreign:
        md += ["", *_table(FOREIGN_HEAD, _foreign_rows(suite.foreign))]
        checks = foreign_checks(suite.foreign)
        if checks:
            md += ["", "Targets (library rows):", "", *_checks_table(checks)]
    if suite.foreign_seeds:
        md += [
            "",
            "One seed's Poisson arrivals decide a lot, so a few rows ran with more seeds (each "
            "against a fresh gateway): the goodput target is judged on the mean, beside what "
            "each strategy cost the other integration.",
            "",
            *_table(FOREIGN_SEEDS_HEAD, foreign_seed_rows(suite.foreign_seeds)),
        ]
        checks = foreign_seed_checks(suite.foreign_seeds)
        if checks:
            md += ["", *_checks_table(checks)]

    md += [
        "",
        "## 3. Four processes, one institution: one Redis vs in-process limiters",
        "",
        f"4 worker processes x {suite.redis_per_process} requests (16 concurrent each), "
        "started at the same instant against one gateway (latency uniform 0.2–0.8 s). "
        "Accepted req/s is the aggregate over the whole run, against the effective rate "
        f"{EFFECTIVE_RATE:.1f}/s of a fixed 0.10 margin (25 / 1.10); steady req/s leaves out "
        "the first 5 s (start, the automatic margin narrowing) and the last 2 s (the workers "
        "finishing one by one). Skew rows shift one process's clocks.",
        *_section_status(suite, "redis"),
    ]
    if suite.redis:
        md += ["", *_table(REDIS_HEAD, _redis_rows(suite.redis), 2)]
        checks = redis_checks(suite.redis)
        if checks:
            md += ["", "Targets (one Redis):", "", *_checks_table(checks)]

    md += [
        "",
        "## 4. Client overhead per request",
        "",
        f"{suite.overhead_requests:,} GETs per client through the same in-process "
        "`httpx.MockTransport` (no sockets, no latency), rounds alternating; the limiter is set "
        "so high that it never waits.",
        *_section_status(suite, "overhead"),
    ]
    if suite.overhead is not None:
        md += ["", *overhead_lines(suite.overhead)]

    md += [
        "",
        f"## 5. Memory: streaming {suite.memory_records:,} researchers",
        "",
        "`client.researchers.list()` with gateway and client at `rate_limit=200` and 0.05 s "
        "latency (memory, not governance, is the point); the consumer keeps only a count; RSS "
        "sampled every 0.5 s by a thread; growth = peak (the kernel's high-water mark `VmHWM`, "
        "reset just before the stream) minus the RSS before the stream (client open, imports "
        "done).",
        *_section_status(suite, "memory"),
    ]
    if suite.memory is not None:
        md += ["", *memory_lines(suite.memory, suite.memory_records)]

    md += [
        "",
        "## 6. Keeping a mirror: the nightly cost and sync throughput",
        *_section_status(suite, "mirror-nightly"),
        *_section_status(suite, "mirror-throughput"),
    ]
    if suite.mirror.nightly is not None or suite.mirror.runs:
        md += ["", *mirror_section(suite.mirror)]
    md += ["", *foreign_bench.section(suite.frontier_seeds), *_section_status(suite, "frontier")]
    md += [
        line
        for load, rows in suite.frontier.items()
        for line in ("", foreign_bench.table(load, rows))
    ]
    return "\n".join(md) + "\n"


def write_markdown(suite: Suite, path: Path) -> None:
    """Write :func:`render` to ``path``."""
    path.write_text(render(suite), encoding="utf-8")


# -- figures -----------------------------------------------------------------------------------


def per_second(times: Sequence[float]) -> tuple[list[float], list[int]]:
    """Accepted arrivals per 1 s bin from the first one: (bin starts, counts)."""
    if not times:
        return [], []
    t0 = min(times)
    bins: list[int] = [0] * (int(max(times) - t0) + 1)
    for t in times:
        bins[int(t - t0)] += 1
    return [float(i) for i in range(len(bins))], bins


def write_plots(suite: Suite, outdir: Path) -> list[str]:
    """Write ``throughput.png`` (and ``memory.png``); return the file names written.

    Without matplotlib nothing is written and ``suite.plot_note`` says why.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        suite.plot_note = f"matplotlib is not installed ({PLOT_HINT})"
        print(f"note: {suite.plot_note}; skipping the PNG figures", file=sys.stderr)
        return []

    written = []
    panels: list[tuple[str, list[tuple[str, list[float]]], float | None]] = []
    if suite.harvest:
        panels.append(
            (
                f"1. harvest {suite.researchers:,} researchers",
                [(_label(r), r.log.accepted_times) for r in suite.harvest],
                None,
            )
        )
    for key, title, _ in _variants(suite):
        if suite.variants.get(key):
            panels.append(
                (
                    title.removeprefix("### "),
                    [(_label(r), r.log.accepted_times) for r in suite.variants[key]],
                    None,
                )
            )
    if suite.foreign:
        panels.append(
            (
                f"2. same, another integration at {suite.foreign_rate:g} req/s",
                [(_label(r), r.log.accepted_times) for r in suite.foreign],
                RATE_LIMIT - suite.foreign_rate,
            )
        )
    if suite.redis:
        panels.append(
            (
                "3. four processes (aggregate)",
                [
                    (f"{r['mode']}, skew {r['shift'] * 1000:+.0f} ms", r["accepted_times"])
                    for r in suite.redis
                ],
                None,
            )
        )
    if panels:
        fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.6 * len(panels)), squeeze=False)
        for ax, (title, series, share) in zip(axes[:, 0], panels, strict=True):
            horizon = 0.0
            for label, times in series:
                xs, ys = per_second(times)
                if not xs:
                    continue
                xs, ys = [*xs, xs[-1] + 1], [*ys, ys[-1]]  # draw the last bin's top too
                if "sequential" in label:  # slow and long: clip it, say so in the legend
                    label += f" (continues to {xs[-1]:.0f} s)"
                else:
                    horizon = max(horizon, xs[-1] + 1)
                ax.step(xs, ys, where="post", label=label, linewidth=1.4)
            ax.axhline(RATE_LIMIT, color="red", linestyle="--", linewidth=1, label="25/s limit")
            if share is not None:
                ax.axhline(
                    share, color="grey", linestyle=":", linewidth=1, label=f"{share:g}/s left"
                )
            if horizon:
                ax.set_xlim(0, horizon + 1)
            ax.set_ylim(0, max(RATE_LIMIT * 1.6, ax.get_ylim()[1]))
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("seconds since the first accepted request")
            ax.set_ylabel("accepted requests / 1 s bin")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="upper right")
        fig.suptitle(f"Accepted requests per second at the gateway ({suite.started:%Y-%m-%d})")
        fig.tight_layout()
        fig.savefig(outdir / "throughput.png", dpi=110)
        plt.close(fig)
        written.append("throughput.png")

    run = suite.memory
    if run is not None and run.samples:
        fig, ax = plt.subplots(figsize=(10, 3.6))
        t0 = run.samples[0][0]
        xs = [t - t0 for t, _, _ in run.samples]
        ax.plot(xs, [rss / MB for _, rss, _ in run.samples], label="client RSS, MB")
        ax.axhline(run.start_rss / MB, color="grey", linestyle=":", label="RSS before the stream")
        ax.axhline(
            (run.start_rss + TARGET_GROWTH) / MB,
            color="red",
            linestyle="--",
            label=f"target: start + {TARGET_GROWTH // MB} MB",
        )
        ax.set_xlabel("seconds")
        ax.set_ylabel("RSS, MB")
        ax.set_ylim(0, (run.start_rss + TARGET_GROWTH) / MB * 1.15)
        ax.grid(alpha=0.3)
        twin = ax.twinx()
        twin.plot(xs, [n for _, _, n in run.samples], color="tab:green", alpha=0.5)
        twin.set_ylabel("records consumed", color="tab:green")
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title(f"Memory while streaming {suite.memory_records:,} researchers", fontsize=10)
        fig.tight_layout()
        fig.savefig(outdir / "memory.png", dpi=110)
        plt.close(fig)
        written.append("memory.png")
    if suite.frontier:
        foreign_bench.plot(suite.frontier, str(outdir / "frontier.png"))
        written.append("frontier.png")
    return written

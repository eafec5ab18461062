"""The whole ``RESULTS.md``: the header, then one section per scenario, in the run's order."""

from __future__ import annotations

from pathlib import Path

from benchmarks import foreign as foreign_bench
from benchmarks import margin as margin_bench
from benchmarks.harvest import PAGE, RATE_LIMIT
from benchmarks.mirror import section as mirror_section
from benchmarks.redis_workers import EFFECTIVE_RATE, HAND_SPLIT_RATE, hand_split_label
from benchmarks.report.common import Suite, _checks_table, _section_status, _spread, _table
from benchmarks.report.costs import memory_lines, overhead_lines
from benchmarks.report.foreign import (
    FOREIGN_HEAD,
    FOREIGN_SEEDS_HEAD,
    _foreign_rows,
    foreign_checks,
    foreign_seed_checks,
    foreign_seed_rows,
)
from benchmarks.report.harvest import _harvest_section, _variants
from benchmarks.report.shared_redis import REDIS_HEAD, _redis_rows, redis_checks


def _header(suite: Suite) -> list[str]:
    """The command, the date, the machine, how the scenarios ran, and the figures."""
    mode = "quick (smoke run; small sizes)" if suite.quick else "full"
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
    return md


def _margin_part(suite: Suite) -> list[str]:
    """The margin section (virtual time, every condition)."""
    md = ["", *margin_bench.section(), *_section_status(suite, "margin")]
    if suite.margin:
        md += ["", *margin_bench.markdown(suite.margin)]
    return md


def _harvest_part(suite: Suite) -> list[str]:
    """Scenario 1 and its variants 1b-1d."""
    n = suite.researchers
    md = [
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
    return md


def _foreign_part(suite: Suite) -> list[str]:
    """Scenario 2: one seed's table, then the rows judged on the mean over several seeds."""
    md = [
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
    return md


def _redis_part(suite: Suite) -> list[str]:
    """Scenario 3: four processes, one Redis against the budget split by hand."""
    md = [
        "",
        "## 3. Four processes, one institution: one Redis vs the budget split by hand",
        "",
        f"4 worker processes x {suite.redis_per_process} requests (16 concurrent each), "
        "started at the same instant against one gateway (latency uniform 0.2–0.8 s). "
        "One Redis: the library's defaults, every process on one `RedisGovernance`. "
        f"The baseline, {hand_split_label()}, is what a competent user writes without shared "
        f"state: each process plain httpx behind `AsyncLimiter(1, 1/{HAND_SPLIT_RATE:g})` (25 / 4 "
        f"rounded down to whole requests, {4 * HAND_SPLIT_RATE:g} together), a 429 retried "
        "after its Retry-After (1 s when absent). "
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
    return md


def _overhead_part(suite: Suite) -> list[str]:
    """Scenario 4: the client's overhead per request."""
    md = [
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
    return md


def _memory_part(suite: Suite) -> list[str]:
    """Scenario 5: memory while streaming researchers."""
    md = [
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
    return md


def _mirror_part(suite: Suite) -> list[str]:
    """Scenario 6: keeping a mirror."""
    md = [
        "",
        "## 6. Keeping a mirror: the nightly cost and sync throughput",
        *_section_status(suite, "mirror-nightly"),
        *_section_status(suite, "mirror-throughput"),
    ]
    if suite.mirror.nightly is not None or suite.mirror.runs:
        md += ["", *mirror_section(suite.mirror)]
    return md


def _frontier_part(suite: Suite) -> list[str]:
    """The frontier under foreign load: one table per load."""
    md = ["", *foreign_bench.section(suite.frontier_seeds), *_section_status(suite, "frontier")]
    md += [
        line
        for load, rows in suite.frontier.items()
        for line in ("", foreign_bench.table(load, rows))
    ]
    return md


def render(suite: Suite) -> str:
    """The whole ``RESULTS.md``."""
    md = [
        *_header(suite),
        *_margin_part(suite),
        *_harvest_part(suite),
        *_foreign_part(suite),
        *_redis_part(suite),
        *_overhead_part(suite),
        *_memory_part(suite),
        *_mirror_part(suite),
        *_frontier_part(suite),
    ]
    return "\n".join(md) + "\n"


def write_markdown(suite: Suite, path: Path) -> None:
    """Write :func:`render` to ``path``."""
    path.write_text(render(suite), encoding="utf-8")

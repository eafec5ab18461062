"""The printed report of ``python -m benchmarks.harvest``: a fixed-width table, notes, the
wall-time ratios and PASS/MISS of the library rows' targets (and the same as Markdown)."""

from __future__ import annotations

import argparse
import statistics

from benchmarks._process import GatewaySpec
from benchmarks.harvest import PAGE, PHYSICAL, RATE_LIMIT, Result

COLUMNS = [
    "strategy",
    "wall s",
    "records/s",
    "of 2,500",
    "accepted",
    "acc req/s",
    "ref req/s",
    "acc/ref",
    "steady req/s",
    "steady/ref",
    "429s",
    "max/1s",
    "records",
    "unique",
    "lost",
    "client CPU",
    "sim CPU",
    "peak RSS MB",
]


def row(r: Result) -> list[str]:
    """The table cells of one result."""
    return [
        f"({r.key}) {r.name}",
        f"{r.wall:.1f}",
        f"{r.goodput:,.0f}",
        f"{r.goodput / PHYSICAL:.0%}",
        str(r.accepted),
        f"{r.rate:.2f}",
        f"{r.outcome.ref_rate:.2f}",
        f"{r.rate / r.outcome.ref_rate:.1%}",
        f"{r.steady:.2f}",
        f"{r.steady / r.outcome.ref_rate:.1%}",
        str(r.throttled),
        str(r.max_1s),
        str(r.records),
        str(r.unique),
        str(r.lost),
        f"{r.client_cpu / r.wall:.0%}",
        f"{r.log.cpu_seconds / r.wall:.0%}",
        f"{r.peak_rss / 2**20:.0f}",
    ]


def text_table(results: list[Result]) -> str:
    """A fixed-width table of the results."""
    cells = [COLUMNS, *(row(r) for r in results)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(line)
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] + ["--:"] * (len(COLUMNS) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    return "\n".join(lines)


def _head(spec: GatewaySpec) -> str:
    """The first line: the harvest, the gateway and the foreign load."""
    return (
        f"harvest of {spec.researchers} researchers ({-(-spec.researchers // PAGE)} pages), "
        f"gateway {spec.rate_limit} req/s per sliding second, latency {spec.latency} s "
        f"(up_fraction {spec.up_fraction}), simulator in its own process"
        + (f", foreign load {spec.foreign_rate} req/s" if spec.foreign_rate else "")
    )


def _strategy_notes(r: Result) -> list[str]:
    """How busy one strategy kept the gateway, and the pages it lost."""
    notes = []
    if r.outcome.in_flight:
        busy = sum(1 for w in r.outcome.waiting if w > 0) / len(r.outcome.waiting)
        notes.append(
            f"({r.key}) in flight: mean {statistics.fmean(r.outcome.in_flight):.1f}, "
            f"max {max(r.outcome.in_flight)}; samples with requests waiting for a "
            f"permit: {busy:.0%}"
        )
    if r.outcome.failed_pages or r.outcome.lost_pages:
        notes.append(
            f"({r.key}) pages that got a 429: {r.outcome.failed_pages}, "
            f"lost after one retry: {r.outcome.lost_pages} ({r.lost} records)"
        )
    return notes


def _notes(results: list[Result], spec: GatewaySpec) -> list[str]:
    """What the columns mean, then each strategy's notes, then the goodput under load."""
    notes = [
        "acc req/s = accepted requests / wall time; steady = accepted rate from the 2nd "
        "accepted arrival to the last (gateway clock); ref = the configured effective rate "
        f"(library) or the {RATE_LIMIT} req/s limit (plain httpx); max/1s = most arrivals "
        "(429s included) in any sliding second; CPU = CPU seconds / wall seconds of the process; "
        "peak RSS = VmHWM of the client's own process (interpreter and imports included).",
    ]
    for r in results:
        notes += _strategy_notes(r)
    if spec.foreign_rate:
        notes += [
            f"({r.key}) goodput {r.goodput:.0f} records/s; foreign arrivals accepted "
            f"{r.log.foreign_accepted}, refused {r.log.foreign_refused}"
            for r in results
        ]
    return notes


def _checks(results: list[Result]) -> list[str]:
    """PASS or MISS for every target of every library row."""
    return [
        f"({r.key}) {'PASS' if ok else 'MISS'}  {label}"
        for r in results
        if r.library
        for label, ok in r.targets()
    ]


def _ratios(results: list[Result]) -> list[str]:
    """The wall time of (b) to (f) relative to (a)'s, when (a) ran."""
    by_key = {r.key: r for r in results}
    if "a" not in by_key:
        return []
    return [
        f"wall ({k})/(a): {by_key[k].wall / by_key['a'].wall:.2f}x" for k in "bcdef" if k in by_key
    ]


def _markdown(
    results: list[Result],
    mode: str,
    head: str,
    notes: list[str],
    ratios: list[str],
    checks: list[str],
) -> str:
    """The same report as Markdown."""
    md = [
        f"### Harvest benchmark ({mode})",
        "",
        head + ".",
        "",
        markdown_table(results),
        "",
        *(f"- {n}" for n in notes),
    ]
    if ratios:
        md += ["", "  ".join(ratios)]
    if checks:
        md += ["", "Targets:", "", *(f"- {c}" for c in checks)]
    return "\n".join(md) + "\n"


def report(results: list[Result], args: argparse.Namespace, spec: GatewaySpec) -> str:
    """Everything printed (and written as Markdown when asked)."""
    head = _head(spec)
    notes = _notes(results, spec)
    checks = _checks(results)
    ratios = _ratios(results)
    mode = ("quick" if args.quick else "full") + (", virtual time" if args.virtual else "")
    out = [head + f" [{mode}]", "", text_table(results), "", *notes]
    if ratios:
        out += ["", "  ".join(ratios)]
    if checks:
        out += ["", "targets:", *checks]
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(_markdown(results, mode, head, notes, ratios, checks))
    return "\n".join(out)

"""The PNG figures: accepted requests per second at the gateway, memory while streaming, and
the frontier under foreign load. matplotlib is optional: without it nothing is drawn."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import foreign as foreign_bench
from benchmarks.harvest import RATE_LIMIT
from benchmarks.memory import MB, TARGET_GROWTH, Run
from benchmarks.report.common import PLOT_HINT, Suite, _label
from benchmarks.report.harvest import _variants

#: One throughput panel: its title, (label, accepted arrival times) per series, and the share
#: of the limit left by another integration (a second line), if any.
Panel = tuple[str, list[tuple[str, list[float]]], float | None]


def per_second(times: Sequence[float]) -> tuple[list[float], list[int]]:
    """Accepted arrivals per 1 s bin from the first one: (bin starts, counts)."""
    if not times:
        return [], []
    t0 = min(times)
    bins: list[int] = [0] * (int(max(times) - t0) + 1)
    for t in times:
        bins[int(t - t0)] += 1
    return [float(i) for i in range(len(bins))], bins


def _throughput_panels(suite: Suite) -> list[Panel]:
    """One panel per scenario that logged accepted arrivals, in the report's order."""
    panels: list[Panel] = []
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
    return panels


def _draw_series(ax: Any, series: list[tuple[str, list[float]]]) -> float:
    """Step lines of accepted requests per second; the horizon to show (0: no clipping)."""
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
    return horizon


def _draw_panel(ax: Any, panel: Panel) -> None:
    """One throughput panel: the series, the limit, the share left, labels and legend."""
    title, series, share = panel
    horizon = _draw_series(ax, series)
    ax.axhline(RATE_LIMIT, color="red", linestyle="--", linewidth=1, label="25/s limit")
    if share is not None:
        ax.axhline(share, color="grey", linestyle=":", linewidth=1, label=f"{share:g}/s left")
    if horizon:
        ax.set_xlim(0, horizon + 1)
    ax.set_ylim(0, max(RATE_LIMIT * 1.6, ax.get_ylim()[1]))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("seconds since the first accepted request")
    ax.set_ylabel("accepted requests / 1 s bin")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")


def _throughput_figure(plt: Any, suite: Suite, panels: list[Panel], outdir: Path) -> None:
    """Write ``throughput.png``, one panel above the other."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.6 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        _draw_panel(ax, panel)
    fig.suptitle(f"Accepted requests per second at the gateway ({suite.started:%Y-%m-%d})")
    fig.tight_layout()
    fig.savefig(outdir / "throughput.png", dpi=110)
    plt.close(fig)


def _memory_figure(plt: Any, run: Run, records: int, outdir: Path) -> None:
    """Write ``memory.png``: RSS against the target, records consumed on a second axis."""
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
    ax.set_title(f"Memory while streaming {records:,} researchers", fontsize=10)
    fig.tight_layout()
    fig.savefig(outdir / "memory.png", dpi=110)
    plt.close(fig)


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
    panels = _throughput_panels(suite)
    if panels:
        _throughput_figure(plt, suite, panels, outdir)
        written.append("throughput.png")
    run = suite.memory
    if run is not None and run.samples:
        _memory_figure(plt, run, suite.memory_records, outdir)
        written.append("memory.png")
    if suite.frontier:
        foreign_bench.plot(suite.frontier, str(outdir / "frontier.png"))
        written.append("frontier.png")
    return written

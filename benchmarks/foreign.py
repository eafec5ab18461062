"""Sharing the budget with an integration we cannot see: goodput against 429s, side by side.

A harvest of every researcher (20,000 by default: 200 pages) runs on the simulated gateway
(25 requests per sliding second, 0.2-0.8 s latency, 2 % of it before arrival) while another
integration of the institution sends requests into the same window, one of three ways:

  poisson5   5 req/s, Poisson
  poisson10  10 req/s, Poisson
  bursts10   10 req/s in bursts: 10 requests within 50 ms, once a second at a random moment

Rows, each over the same seeds (same foreign arrivals, same latencies):

  library      esploro-async at its defaults
  library at REV  (``--previous REV``, repeatable) the library as of git revision REV, e.g.
               75770fe: its package is extracted with ``git archive`` and imported under
               another name
  fixed N/s    the competent hand-written client at a fixed rate of N req/s
               (``AsyncLimiter(1, 1/N)``, a 429 retried after its Retry-After), N = 6..14:
               the frontier of what a fixed rate trades

Figures, as means over the seeds: goodput (our accepted requests per second of the
harvest), our 429s as a share of our requests, the other integration's refused requests as
a share of its requests during the harvest. Virtual time (``looptime``): the same seed gives
the same numbers on any machine.

    python -m benchmarks.foreign [--seeds 5] [--researchers 20000] [--loads poisson5,...]
                                 [--rates 6,7,...,14] [--previous 75770fe ...] [--plot PATH]

Nothing is asserted; the goal's figures (goodput >= 10.5/s, both 429 shares <= 2 % at
poisson10) are printed as PASS/MISS for the library row.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import math
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harvest import HEADERS, PAGE, PATH
from esploro_async.testing import (
    SIM_API_KEY,
    Latency,
    SimulatedGateway,
    SyntheticInstitution,
)

ROOT = Path(__file__).resolve().parents[1]
URL = "http://esploro.localhost"
LOADS = ("poisson5", "poisson10", "bursts10")
HORIZON = 600.0  # seconds of scheduled bursts (far beyond any harvest here)

Run = Callable[[httpx.AsyncBaseTransport], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Figures:
    """One run's figures."""

    goodput: float  # our accepted requests per second
    own_429: float  # share of our requests refused
    foreign_429: float  # share of the other integration's requests refused
    requests: int
    throttled: int


def gateway(load: str, seed: int, researchers: int) -> SimulatedGateway:
    """The gateway of one run: the harvest's institution and the foreign load."""
    rate = {"poisson5": 5.0, "poisson10": 10.0}.get(load, 0.0)
    arrivals: list[float] = []
    if load == "bursts10":
        rng = random.Random(seed * 7919 + 1)
        for second in range(int(HORIZON)):
            start = second + rng.uniform(0.0, 0.95)
            arrivals += [start + rng.uniform(0.0, 0.05) for _ in range(10)]
    return SimulatedGateway(
        SyntheticInstitution(seed, researchers=researchers),
        latency=Latency.uniform(0.2, 0.8),
        up_fraction=0.02,
        foreign_rate=rate,
        foreign_arrivals=arrivals,
        seed=seed,
    )


def measure(run: Run, load: str, seed: int, researchers: int) -> Figures:
    """Run one harvest in virtual time and read the gateway's log."""
    import looptime

    gw = gateway(load, seed, researchers)

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await run(gw.transport())
        return loop.time() - t0

    loop = looptime.new_event_loop(start=0)
    try:
        wall = loop.run_until_complete(timed())
    finally:
        loop.close()
    ours = [r for r in gw.log if r.lane == "client" and r.arrived]
    foreign = [r for r in gw.log if r.lane == "foreign"]
    accepted = sum(r.accepted for r in ours)
    throttled = sum(r.error_code == "PER_SECOND_THRESHOLD" for r in ours)
    refused = sum(not r.accepted for r in foreign)
    return Figures(
        goodput=accepted / wall,
        own_429=throttled / max(1, len(ours)),
        foreign_429=refused / max(1, len(foreign)),
        requests=len(ours),
        throttled=throttled,
    )


def library_run(client_class: Any) -> Run:
    """A harvest with ``client_class`` (esploro-async's, or a previous release's) at defaults."""

    async def run(transport: httpx.AsyncBaseTransport) -> None:
        async with client_class(SIM_API_KEY, base_url=URL, transport=transport) as client:
            async for _ in client.researchers.list():
                pass

    return run


class Spacing:
    """``AsyncLimiter(1, interval)``'s behaviour: a grant per ``interval``, first come first.

    aiolimiter itself spins on looptime's clock at some intervals (0.1 s among them).
    """

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next = -math.inf
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._next - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = max(loop.time(), self._next) + self._interval

    async def __aexit__(self, *exc: object) -> None:
        return None


def fixed_run(rate: float, attempts: int = 10) -> Run:
    """The competent hand-written client (`benchmarks.harvest.competent`) at ``rate`` req/s."""

    async def run(transport: httpx.AsyncBaseTransport) -> None:
        limiter = Spacing(1 / rate)
        async with httpx.AsyncClient(
            base_url=URL, headers=HEADERS, timeout=60.0, transport=transport
        ) as http:

            async def page(offset: int) -> int:
                for _ in range(attempts):
                    async with limiter:
                        response = await http.get(PATH, params={"limit": PAGE, "offset": offset})
                    if response.status_code != 429:
                        return int(response.json().get("total_record_count") or 0)
                    await asyncio.sleep(float(response.headers.get("Retry-After") or 1.0))
                return 0

            total = await page(0)
            await asyncio.gather(*(page(o) for o in range(PAGE, total, PAGE)))

    return run


def previous_client(revision: str) -> Any:
    """``EsploroClient`` of the package as of git ``revision``, imported under another name."""
    name = "esploro_prev_" + re.sub(r"\W", "_", revision)
    target = Path(tempfile.gettempdir()) / f"esploro-bench-{name}"
    if not (target / name).exists():
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision, "esploro_async"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
        (target / "esploro_async").rename(target / name)
        for path in (target / name).rglob("*.py"):
            text = path.read_text()
            path.write_text(re.sub(r"\besploro_async\b", name, text))
    sys.path.insert(0, str(target))
    return importlib.import_module(name).EsploroClient


@dataclass(frozen=True)
class Row:
    """A strategy's figures over the seeds."""

    name: str
    runs: tuple[Figures, ...]

    def mean(self, field: str) -> float:
        return statistics.fmean(getattr(r, field) for r in self.runs)


def table(load: str, rows: list[Row]) -> str:
    """The rows of one load as a Markdown table."""
    lines = [
        f"**{load}** (mean of {len(rows[0].runs)} seeds)",
        "",
        "| strategy | goodput req/s | our 429s | other's 429s | requests |",
        "|---|--:|--:|--:|--:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.mean('goodput'):.2f} | {100 * row.mean('own_429'):.1f}% "
            f"| {100 * row.mean('foreign_429'):.1f}% | {row.mean('requests'):.0f} |"
        )
    return "\n".join(lines)


def section(seeds: int) -> list[str]:
    """The heading and the conditions of ``RESULTS.md``'s frontier section."""
    return [
        "## 7. Sharing the budget: goodput against 429s, beside fixed rates",
        "",
        "Virtual time; 20,000 researchers, 0.2–0.8 s latency (2 % before arrival) while another "
        "integration sends 5 or 10 req/s (Poisson) or 10 req/s in bursts of 10 within 50 ms. "
        f"Means over {seeds} seeds; the fixed rows are the hand-written client at that rate: "
        "the frontier a fixed rate traces. `python -m benchmarks.foreign` runs this section "
        "alone (and `--previous REV` adds an earlier revision).",
    ]


def plot(results: dict[str, list[Row]], path: str) -> None:
    """Goodput against the 429 shares, one panel per load (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, (load, rows) in zip(axes[0], results.items(), strict=True):
        fixed = [r for r in rows if r.name.startswith("fixed")]
        for share, marker in (("own_429", "o"), ("foreign_429", "s")):
            ax.plot(
                [100 * r.mean(share) for r in fixed],
                [r.mean("goodput") for r in fixed],
                marker=marker,
                linestyle="-",
                label=f"fixed rates, {'our' if share == 'own_429' else 'other'} 429s",
            )
            for r in rows:
                if not r.name.startswith("fixed"):
                    ax.scatter(
                        [100 * r.mean(share)],
                        [r.mean("goodput")],
                        marker="*" if share == "own_429" else "X",
                        s=120,
                        label=f"{r.name}, {'our' if share == 'own_429' else 'other'} 429s",
                    )
        ax.set_title(load)
        ax.set_xlabel("429s, % of requests")
        ax.set_ylabel("goodput, req/s")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.foreign``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--researchers", type=int, default=20_000)
    parser.add_argument("--loads", default=",".join(LOADS))
    parser.add_argument("--rates", default="6,7,8,9,10,11,12,13,14")
    parser.add_argument(
        "--previous",
        metavar="REV",
        action="append",
        default=[],
        help="also run the library as of git revision REV (repeatable)",
    )
    parser.add_argument("--no-library", action="store_true", help="skip the current library")
    parser.add_argument("--plot", metavar="PATH", help="write the frontier plot (matplotlib)")
    return parser


def _strategies(args: argparse.Namespace) -> list[tuple[str, Run]]:
    """The library at earlier revisions, the current library, then the fixed rates."""
    strategies: list[tuple[str, Run]] = []
    for revision in args.previous:
        strategies.append((f"library at {revision}", library_run(previous_client(revision))))
    if not args.no_library:
        from esploro_async import EsploroClient

        strategies.append(("library (defaults)", library_run(EsploroClient)))
    strategies += [(f"fixed {r}/s", fixed_run(float(r))) for r in args.rates.split(",") if r]
    return strategies


def _print_goals(rows: list[Row]) -> None:
    """PASS or MISS of the library rows against the goals under a 10 req/s Poisson load."""
    for row in rows:
        if row.name.startswith("library"):
            goals = (
                ("goodput >= 10.5/s", row.mean("goodput") >= 10.5),
                ("our 429s <= 2%", row.mean("own_429") <= 0.02),
                ("other's 429s <= 2%", row.mean("foreign_429") <= 0.02),
            )
            for text, ok in goals:
                print(f"poisson10 {row.name}: {'PASS' if ok else 'MISS'}  {text}")


def main(argv: list[str] | None = None) -> int:
    """Run the rows for each load and print the tables."""
    args = _parser().parse_args(argv)
    logging.getLogger().setLevel(logging.ERROR)
    logging.disable(logging.WARNING)
    strategies = _strategies(args)
    results: dict[str, list[Row]] = {}
    for load in args.loads.split(","):
        rows = []
        for name, run in strategies:
            print(f"{load}: {name} ...", file=sys.stderr, flush=True)
            runs = tuple(measure(run, load, seed, args.researchers) for seed in range(args.seeds))
            rows.append(Row(name, runs))
        results[load] = rows
        print(table(load, rows), end="\n\n", flush=True)
    _print_goals(results.get("poisson10", []))
    if args.plot:
        try:
            plot(results, args.plot)
        except ImportError:
            print("no plot: pip install matplotlib", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

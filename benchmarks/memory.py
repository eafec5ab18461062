"""Client memory while streaming many researchers through ``client.researchers.list()``.

The simulated gateway runs in its own process over loopback HTTP with a small fixed
latency (0.05 s) and a raised per-second threshold, ``rate_limit=200`` on both the
gateway and the client (so 181.8 req/s at the default safety margin), only to keep the
run short: the point is memory, not governance. The consumer keeps nothing but a count.
A thread samples this process's RSS (``/proc/self/status``) every 0.5 s.

    python -m benchmarks.memory [--quick] [--records 1000000] [--markdown PATH]

Target (printed as PASS/MISS, never asserted): RSS growth at most 30 MB, where growth is
the peak minus the RSS just before the stream starts (client open, nothing sent yet). The
peak is the kernel's high-water mark (``VmHWM``, reset just before the stream through
``/proc/self/clear_refs``), not only the highest 0.5 s sample: a sample misses a short
spike (growing the de-duplication table held the old and the new table at once). Measured
from before the imports or from interpreter start, the same run reads 15-25 MB more
(httpx, anyio and the library's own modules): state the reference point with the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

from benchmarks._process import GatewayLog, GatewaySpec, RssSampler, read_peak_rss, read_rss
from esploro_async import EsploroClient
from esploro_async.testing import SIM_API_KEY

MB = 1024 * 1024
TARGET_GROWTH = 30 * MB
RATE_LIMIT = 200


@dataclass
class Run:
    """What one streaming run measured."""

    records: int
    start_rss: int
    samples: list[tuple[float, int, int]]
    wall: float
    client_cpu: float
    seen_bytes: int  # the stream's de-duplication table (ids handed out), at the end
    seen_len: int
    log: GatewayLog | None = None
    high_water: int = 0  # VmHWM at the end, reset before the stream (0: not measured)

    @property
    def sampled_peak(self) -> int:
        """Highest sampled RSS."""
        return max(rss for _, rss, _ in self.samples)

    @property
    def peak(self) -> int:
        """The peak RSS of the stream: the high-water mark, or the samples' when higher."""
        return max(self.sampled_peak, self.high_water)

    @property
    def growth(self) -> int:
        """Peak minus the RSS before the stream started."""
        return self.peak - self.start_rss


async def stream(url: str, sampler_interval: float) -> Run:
    """Open a client, stream every researcher and sample RSS meanwhile."""
    count = 0
    async with EsploroClient(
        SIM_API_KEY, base_url=url, rate_limit=RATE_LIMIT, allow_above_threshold=True
    ) as client:
        researchers = client.researchers.list()
        reset = _reset_high_water()
        start_rss = read_rss()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        with RssSampler(sampler_interval, probe=lambda: count) as sampler:
            async for researcher in researchers:
                if researcher.primary_id is not None:
                    count += 1
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        seen = researchers._frontier.seen  # diagnostics only
        high_water = read_peak_rss() if reset else 0
        return Run(
            count, start_rss, sampler.samples, wall, cpu, seen.nbytes, len(seen), None, high_water
        )


def _reset_high_water() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux); whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def measure(records: int, latency: str = "0.05", interval: float = 0.5) -> Run:
    """Serve ``records`` researchers from a gateway process, stream them here, sample RSS."""
    spec = GatewaySpec(researchers=records, latency=latency, rate_limit=RATE_LIMIT)
    with spec.process() as gateway:
        run = asyncio.run(stream(gateway.url, interval))
        run.log = gateway.stop()
    return run


def timeline(run: Run, points: int = 10) -> list[str]:
    """RSS at about every tenth of the run, to tell a plateau from linear growth."""
    lines = []
    step = max(1, len(run.samples) // points)
    t0 = run.samples[0][0]
    for t, rss, n in [*run.samples[::step], run.samples[-1]]:
        lines.append(f"  t={t - t0:6.1f} s  records={n:>8}  RSS={rss / MB:7.1f} MB")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the stream and print the memory figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20,000 records")
    parser.add_argument("--records", type=int, default=None, help="default 1000000")
    parser.add_argument("--latency", default="0.05", help="gateway latency (CLI syntax)")
    parser.add_argument("--interval", type=float, default=0.5, help="RSS sampling period, s")
    parser.add_argument("--markdown", metavar="PATH", help="also write the results as Markdown")
    args = parser.parse_args(argv)
    n = args.records or (20_000 if args.quick else 1_000_000)
    try:
        run = measure(n, args.latency, args.interval)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    ok = run.growth <= TARGET_GROWTH
    rows = summary(run, n)
    width = max(len(k) for k, _ in rows)
    head = (
        f"streaming {n} researchers, gateway and client rate_limit={RATE_LIMIT}, "
        f"latency {args.latency} s, simulator in its own process, RSS every {args.interval} s"
    )
    verdict = (
        f"{'PASS' if ok else 'MISS'}  RSS growth {run.growth / MB:.1f} MB "
        f"<= {TARGET_GROWTH // MB} MB"
    )
    print(head)
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")
    print("timeline:")
    print("\n".join(timeline(run)))
    print(verdict)
    if args.markdown:
        md = [f"### Memory benchmark ({'quick' if args.quick else 'full'})", "", head + ".", ""]
        md += ["| measure | value |", "|---|--:|", *(f"| {k} | {v} |" for k, v in rows)]
        md += ["", verdict]
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("\n".join(md) + "\n")
    return 0


def summary(run: Run, n: int) -> list[tuple[str, str]]:
    """The measures of one run as (label, value) rows."""
    sim_cpu = run.log.cpu_seconds / run.wall if run.log else float("nan")
    return [
        ("records", f"{run.records} (expected {n})"),
        ("wall", f"{run.wall:.1f} s"),
        ("records/s", f"{run.records / run.wall:,.0f}"),
        ("requests", f"{len(run.log.arrivals) if run.log else 0}"),
        ("RSS at start", f"{run.start_rss / MB:.1f} MB"),
        ("RSS peak (VmHWM)", f"{run.high_water / MB:.1f} MB" if run.high_water else "n/a"),
        ("RSS peak of the samples", f"{run.sampled_peak / MB:.1f} MB"),
        ("RSS at end", f"{run.samples[-1][1] / MB:.1f} MB"),
        ("RSS growth", f"{run.growth / MB:.1f} MB"),
        ("de-dup id set at end", f"{run.seen_len} ids, ~{run.seen_bytes / MB:.1f} MB"),
        ("client CPU / wall", f"{run.client_cpu / run.wall:.0%}"),
        ("simulator CPU / wall", f"{sim_cpu:.0%}"),
    ]


if __name__ == "__main__":
    sys.exit(main())

"""The mirror's nightly cost and its sync throughput, side by side with their references.

    python -m benchmarks.mirror nightly [--assets 1000000] [--changed 0.005] [--nights 3]
                                        [--prefill records|ids]
    python -m benchmarks.mirror throughput [--assets 20000] [--latency 0.2:0.8]
    python -m benchmarks.mirror memory [--assets 1000000]

Both first two are scenarios of ``python -m benchmarks`` too (``mirror-nightly``,
``mirror-throughput``; section 6 of RESULTS.md).

``nightly``: a store holding every asset of a simulated institution (written directly, as a
first full sync leaves it), then ``--nights`` nights: ``--changed`` of the assets change
during the day (plus 0.01% new and 0.005% deleted), and ``sync assets`` runs at 02:30 the next
day by the gateway's clock. Requests are counted in the gateway's log and compared with the
target ``1.2 × changed/100 + 50``. A tenth of the day's edits are made between midnight and
the run: the next night's window (a date) lists them again, and their hash shows them
unchanged. The RSS of the nightly runs and of a JSON Lines export of the whole store is
sampled (target: at most 50 MB growth). ``--prefill ids`` writes each asset's id with a
stand-in text instead of its record (the simulator takes about 0.5 ms to make a record, so
a million take minutes): a night's requests and counts are the same (a changed record's hash
differs from the stand-in's as from the old record's); the export is then skipped.

``throughput``: a full sync of ``--assets`` assets from a simulated gateway in its own process
over loopback (``--latency``), beside the reference a competent user writes without the
mirror (the same stream's pages appended to a JSON Lines file, its checkpoint saved after
each page), each in a fresh process. Two measures: records/s over the whole run against the
physical limit (25 req/s × 99 new records a page with the one-record overlap = 2,475
records/s), and requests/s at the gateway from its arrival log (first to last arrival)
against 25/s — the second leaves out process start-up and the client's own pace on a
loaded machine less than the first.

``memory``: a full sync of ``--assets`` assets at a raised rate (200 req/s on both sides, only
to keep the run short), RSS sampled (target: at most 50 MB growth).

Nothing is asserted: the figures are printed (and, from ``python -m benchmarks``, judged
PASS/MISS in RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._process import RssSampler, read_rss, run_in_child
from esploro_async import EsploroClient
from esploro_async.mirror import Mirror, PageWrite, RecordRow, SQLiteStore
from esploro_async.mirror.export import export_records
from esploro_async.mirror.store import content_hash, record_text
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.process import GatewayProcess

MB = 1024 * 1024
INSTITUTION = "01BENCH_INST"
FIRST_DAY = dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.timezone.utc)
RATE = 25
GROWTH_TARGET = 50 * MB
STAND_IN = '{"stand_in":true}'


@dataclass
class Night:
    """One nightly run: its counts, requests at the gateway, target, time and RSS growth."""

    new: int
    changed: int
    unchanged: int
    requests: int
    wall: float
    growth: int

    @property
    def target(self) -> float:
        """``1.2 × (new + changed)/100 + 50`` requests."""
        return 1.2 * (self.new + self.changed) / 100 + 50


@dataclass
class NightlyResult:
    """The nightly scenario: the nights, and the export of the whole store (if made)."""

    assets: int
    changed: float
    prefill: str
    prefill_seconds: float = 0.0
    nights: list[Night] = field(default_factory=list)
    export: tuple[int, float, int] | None = None  # records, seconds, RSS growth


@dataclass
class SyncRun:
    """One throughput run: records, requests, wall time, gateway rate and RSS growth."""

    name: str
    records: int
    requests: int
    wall: float
    gateway_rate: float
    growth: int

    @property
    def records_per_second(self) -> float:
        """Records over the whole run's wall time."""
        return self.records / self.wall if self.wall else 0.0


async def prefill(
    store: SQLiteStore, institution: SyntheticInstitution, today: str, *, stand_in: bool
) -> None:
    """Write every asset into ``store`` as a finished first sync would have (fast path).

    ``stand_in``: each asset's id with `STAND_IN` as its text (see the module docstring).
    """
    total = len(institution.assets)
    batch = 10_000 if stand_in else 1_000
    ids = institution.assets.ids() if stand_in else []
    for offset in range(0, total, batch):
        if stand_in:
            rows = [RecordRow(rid, STAND_IN, "-") for rid in ids[offset : offset + batch]]
        else:
            rows = [
                RecordRow(rid, record_text(record), content_hash(record))
                for rid, record in institution.assets.iter_page(offset, batch)
            ]
        state = {"watermark": today, "run": None} if offset + batch >= total else {"run": None}
        await store.commit(PageWrite("assets", rows, (), state, now=f"{today}T00:00:00"))


def _churn_day(institution: SyntheticInstitution, night: int, assets: int, changed: float) -> None:
    """The day's edits, dated by the gateway's clock: most at noon, a tenth after midnight
    (those the next night's overlapping window sees again)."""
    day_changes = round(assets * changed)
    noon = FIRST_DAY + dt.timedelta(days=night - 1, hours=9, minutes=30)
    SimulatedGateway(institution, start=noon)
    late = day_changes // 10
    institution.churn(night, assets=(day_changes - late, assets // 10_000, assets // 20_000))
    SimulatedGateway(institution, start=noon + dt.timedelta(hours=14))
    institution.churn(f"{night} late", assets=(late, 0, 0))


async def _night(institution: SyntheticInstitution, db: Path, night: int) -> Night:
    gateway = SimulatedGateway(institution, start=FIRST_DAY + dt.timedelta(days=night))
    rss_before = read_rss()
    with RssSampler(0.2) as sampler:
        began = time.monotonic()
        async with (
            EsploroClient(
                SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
            ) as client,
            Mirror(client, SQLiteStore(db), institution=INSTITUTION) as mirror,
        ):
            counts = (await mirror.sync("assets")).counts
        wall = time.monotonic() - began
    growth = max(rss for _, rss, _ in sampler.samples) - rss_before
    requests = len(gateway.client_log())
    return Night(counts.new, counts.changed, counts.unchanged, requests, wall, growth)


async def _export(db: Path, out: Path) -> tuple[int, float, int]:
    store = SQLiteStore(db)
    await store.open(None, read_only=True)
    rss_before = read_rss()
    with RssSampler(0.2) as sampler:
        began = time.monotonic()
        count = await export_records(store, "assets", "jsonl", out)
        wall = time.monotonic() - began
    await store.close()
    return count, wall, max(rss for _, rss, _ in sampler.samples) - rss_before


async def nightly(
    folder: Path, assets: int, changed: float, nights: int, prefill_mode: str = "records"
) -> NightlyResult:
    """See the module docstring; prints each night as it ends."""
    result = NightlyResult(assets, changed, prefill_mode)
    institution = SyntheticInstitution(seed=1, researchers=1_000, assets=assets)
    db = folder / "mirror.sqlite"
    store = SQLiteStore(db)
    await store.open(INSTITUTION)
    started = time.monotonic()
    stand_in = prefill_mode == "ids"
    await prefill(store, institution, FIRST_DAY.date().isoformat(), stand_in=stand_in)
    await store.close()
    result.prefill_seconds = time.monotonic() - started
    print(f"prefilled {assets:,} assets ({prefill_mode}) in {result.prefill_seconds:.0f} s")
    for number in range(1, nights + 1):
        _churn_day(institution, number, assets, changed)
        night = await _night(institution, db, number)
        result.nights.append(night)
        print(
            f"night {number}: {night.new:,} new, {night.changed:,} changed, "
            f"{night.unchanged:,} unchanged; {night.requests} requests (target <= "
            f"{night.target:.0f}: {'PASS' if night.requests <= night.target else 'MISS'}); "
            f"{night.wall:.1f} s; RSS growth {night.growth / MB:.1f} MB"
        )
    if not stand_in:
        result.export = count, wall, growth = await _export(db, folder / "assets.jsonl")
        print(
            f"export: {count:,} records ({(folder / 'assets.jsonl').stat().st_size / MB:,.0f} "
            f"MB) in {wall:.1f} s ({count / wall:,.0f} records/s); RSS growth "
            f"{growth / MB:.1f} MB ({'PASS' if growth <= GROWTH_TARGET else 'MISS'} <= 50 MB); "
            f"store {db.stat().st_size / MB:,.0f} MB"
        )
    return result


def run_nightly(assets: int, changed: float, nights: int, prefill_mode: str) -> NightlyResult:
    """`nightly` in a temporary folder (module level, for `run_in_child`)."""
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as name:
        return asyncio.run(nightly(Path(name), assets, changed, nights, prefill_mode))


async def _baseline(url: str, out: Path, rate_limit: int) -> int:
    """The reference: the same stream into a JSON Lines file, checkpoint saved per page."""
    count = 0
    checkpoint = out.with_suffix(".checkpoint")
    async with EsploroClient(
        SIM_API_KEY, base_url=url, rate_limit=rate_limit, allow_above_threshold=rate_limit > 25
    ) as client:
        stream = client.assets.list(update_date_from="1900-01-01")
        with out.open("w", encoding="utf-8") as handle:
            async for page in stream.pages():
                for record in page.records:
                    handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                checkpoint.write_text(stream.checkpoint.to_json())
                count += len(page.records)
    return count


async def _mirror(url: str, db: Path, rate_limit: int, prefetch: int | None) -> int:
    client = EsploroClient(
        SIM_API_KEY, base_url=url, rate_limit=rate_limit, allow_above_threshold=rate_limit > 25
    )
    mirror = Mirror(client, SQLiteStore(db), institution=INSTITUTION, prefetch=prefetch)
    async with client, mirror:
        return (await mirror.sync("assets")).counts.new


BASELINE = "baseline: stream to JSONL + checkpoint"
MIRROR = "mirror: sync into SQLite"


def gateway_rate(times: list[float]) -> float:
    """Accepted requests per second from the first arrival to the last."""
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def sync_run(
    name: str, assets: int, latency: str, rate_limit: int, prefetch: int | None
) -> SyncRun:
    """One run of ``name`` (`BASELINE` or `MIRROR`) against a fresh gateway process."""
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as folder_name:
        folder = Path(folder_name)
        with GatewayProcess(
            researchers=100, assets=assets, latency=Latency.parse(latency), rate_limit=rate_limit
        ) as gateway:
            rss_before = read_rss()
            with RssSampler(0.5) as sampler:
                began = time.monotonic()
                if name == BASELINE:
                    count = asyncio.run(_baseline(gateway.url, folder / "a.jsonl", rate_limit))
                else:
                    db = folder / "m.sqlite"
                    count = asyncio.run(_mirror(gateway.url, db, rate_limit, prefetch))
                wall = time.monotonic() - began
            growth = max(rss for _, rss, _ in sampler.samples) - rss_before
            log = gateway.stop()
    times = log.accepted_times
    return SyncRun(name, count, len(log.arrivals), wall, gateway_rate(times), growth)


def describe_run(run: SyncRun, rate_limit: int) -> str:
    """One line of a throughput run."""
    limit = rate_limit * 99
    return (
        f"{run.name}: {run.records:,} records, {run.requests:,} requests in {run.wall:.1f} s "
        f"= {run.records_per_second:,.0f} records/s ({run.records_per_second / limit:.0%} of "
        f"{limit:,}/s); at the gateway {run.gateway_rate:.1f} req/s "
        f"({run.gateway_rate / rate_limit:.0%} of {rate_limit}/s); "
        f"RSS growth {run.growth / MB:.1f} MB"
    )


def throughput(
    assets: int,
    latency: str,
    rate_limit: int,
    runs: tuple[str, ...],
    prefetch: int | None,
    *,
    fresh_process: bool = True,
) -> list[SyncRun]:
    """See the module docstring; each run in a fresh process unless ``fresh_process=False``."""
    results = []
    for name in runs:
        args = (name, assets, latency, rate_limit, prefetch)
        run = run_in_child(sync_run, *args) if fresh_process else sync_run(*args)
        print(describe_run(run, rate_limit), flush=True)
        results.append(run)
    return results


# -- section 6 of RESULTS.md ---------------------------------------------------------------


@dataclass
class MirrorBench:
    """What ``python -m benchmarks`` ran of the mirror (for section 6)."""

    nightly: NightlyResult | None = None
    nightly_command: str = ""
    runs: list[SyncRun] = field(default_factory=list)
    throughput_command: str = ""
    load: str = ""  # the load average while the throughput runs ran


def suite_nightly(bench: MirrorBench, quick: bool) -> None:
    """The nightly scenario: 1,000,000 assets and 2 nights (quick: 20,000)."""
    assets, nights = (20_000, 2) if quick else (1_000_000, 2)
    bench.nightly_command = (
        f"python -m benchmarks.mirror nightly --assets {assets} --nights {nights} --prefill ids"
    )
    bench.nightly = run_in_child(run_nightly, assets, 0.005, nights, "ids")


def suite_throughput(bench: MirrorBench, quick: bool) -> None:
    """The throughput scenario: 20,000 assets (quick: 2,000), baseline then mirror."""
    assets = 2_000 if quick else 20_000
    bench.throughput_command = f"python -m benchmarks.mirror throughput --assets {assets}"
    before = os.getloadavg()
    bench.runs = throughput(assets, "0.2:0.8", RATE, (BASELINE, MIRROR), 16)
    after = os.getloadavg()
    bench.load = f"{before[0]:.2f} before, {after[0]:.2f} after (1-minute load average)"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def section(bench: MirrorBench) -> list[str]:
    """Section 6's tables (Markdown lines)."""
    md: list[str] = []
    result = bench.nightly
    if result is not None:
        md += [
            f"Nightly cost: `{bench.nightly_command}`: {result.assets:,} assets, "
            f"{result.changed:.1%} changed a day (a tenth after midnight: listed again the "
            "next night, unchanged by hash), 0.01% new, 0.005% deleted; requests counted in "
            "the gateway's log, the probe of its clock included. The store is prefilled with "
            "every asset's id and a stand-in text (a night's requests and counts are those of "
            "a store of the real records; the standalone `--prefill records` also exports).",
            "",
            "| night | new | changed | unchanged | requests | target | | s | RSS growth |",
            "|--:|--:|--:|--:|--:|--:|--|--:|--:|",
        ]
        for number, night in enumerate(result.nights, 1):
            ok = night.requests <= night.target
            md.append(
                f"| {number} | {night.new:,} | {night.changed:,} | {night.unchanged:,} | "
                f"{night.requests} | <= {night.target:.0f} | {_verdict(ok)} | "
                f"{night.wall:.1f} | {night.growth / MB:.1f} MB |"
            )
    if bench.runs:
        md += [
            "",
            f"Sync throughput: `{bench.throughput_command}`: a full sync of the assets, "
            "latency uniform 0.2–0.8 s, the gateway in its own process, each run in a fresh "
            "process, beside the reference a competent user writes (the same stream's pages "
            "appended to JSON Lines, fsync and checkpoint per page). Limits: 2,475 records/s "
            "(25 req/s x 99 new records a page), 25 req/s at the gateway; the gateway rate "
            "(first to last arrival) is the less load-sensitive of the two. Load: "
            f"{bench.load}.",
            "",
            "| run | records | requests | s | records/s | of 2,475/s | req/s at gateway | "
            "RSS growth |",
            "|--|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for run in bench.runs:
            md.append(
                f"| {run.name} | {run.records:,} | {run.requests:,} | {run.wall:.1f} | "
                f"{run.records_per_second:,.0f} | {run.records_per_second / 2475:.0%} | "
                f"{run.gateway_rate:.1f} | {run.growth / MB:.1f} MB |"
            )
        by_name = {run.name: run for run in bench.runs}
        if BASELINE in by_name and MIRROR in by_name:
            base, mirror = by_name[BASELINE], by_name[MIRROR]
            md += [
                "",
                "Mirror / baseline: "
                f"{mirror.records_per_second / max(base.records_per_second, 1e-9):.2f}x "
                "records/s, "
                f"{mirror.gateway_rate / max(base.gateway_rate, 1e-9):.2f}x req/s at the gateway.",
            ]
    return md


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["nightly", "throughput", "memory"])
    parser.add_argument("--assets", type=int)
    parser.add_argument("--changed", type=float, default=0.005)
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--latency", default="0.2:0.8")
    parser.add_argument("--prefetch", type=int, default=16, help="the mirror's (default 16)")
    parser.add_argument("--prefill", choices=["records", "ids"], default="records")
    args = parser.parse_args()
    if args.scenario == "nightly":
        run_nightly(args.assets or 1_000_000, args.changed, args.nights, args.prefill)
    elif args.scenario == "throughput":
        before = os.getloadavg()[0]
        throughput(args.assets or 20_000, args.latency, RATE, (BASELINE, MIRROR), args.prefetch)
        print(f"load average (1 min): {before:.2f} before, {os.getloadavg()[0]:.2f} after")
    else:
        assets = args.assets or 1_000_000
        throughput(assets, "0.05", 200, (MIRROR,), args.prefetch, fresh_process=False)


if __name__ == "__main__":
    main()

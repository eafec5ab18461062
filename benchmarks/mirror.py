"""The mirror's nightly cost and its sync throughput, side by side with their references.

    python -m benchmarks.mirror nightly [--assets 1000000] [--changed 0.005] [--nights 3]
    python -m benchmarks.mirror throughput [--assets 20000] [--latency 0.2:0.8]
    python -m benchmarks.mirror memory [--assets 1000000]

``nightly``: a store holding every asset of a simulated institution (written directly, as a
first full sync leaves it), then ``--nights`` nights: ``--changed`` of the assets change
during the day (plus 0.01% new and 0.005% deleted), and ``sync assets`` runs at 02:30 the next
day by the gateway's clock. Requests are counted in the gateway's log and compared with the
target ``1.2 × changed/100 + 50``. A tenth of the day's edits are made between midnight and
the run: the next night's window (a date) lists them again, and their hash shows them
unchanged. The RSS of the nightly runs and of a JSON Lines export of the whole store is
sampled (target: at most 50 MB growth).

``throughput``: a full sync of ``--assets`` assets from a simulated gateway in its own process
over loopback (``--latency``), beside the reference a competent user writes without the
mirror (the same stream's pages appended to a JSON Lines file, its checkpoint saved after
each page): records/s of each, and against the physical limit (25 req/s × 99 new records a
page with the one-record overlap = 2,475 records/s).

``memory``: a full sync of ``--assets`` assets at a raised rate (200 req/s on both sides, only
to keep the run short), RSS sampled (target: at most 50 MB growth).

Nothing is asserted: the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks._process import RssSampler, read_rss
from esploro_async import EsploroClient
from esploro_async.mirror import Mirror, PageWrite, RecordRow, SQLiteStore
from esploro_async.mirror.export import export_records
from esploro_async.mirror.store import content_hash, record_text
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.process import GatewayProcess

MB = 1024 * 1024
INSTITUTION = "01BENCH_INST"
FIRST_DAY = dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.timezone.utc)


async def prefill(store: SQLiteStore, institution: SyntheticInstitution, today: str) -> None:
    """Write every asset into ``store`` as a finished first sync would have (fast path)."""
    total = len(institution.assets)
    for offset in range(0, total, 1000):
        rows = []
        for rid, record in institution.assets.iter_page(offset, 1000):
            rows.append(RecordRow(rid, record_text(record), content_hash(record)))
        state = {"watermark": today, "run": None} if offset + 1000 >= total else {"run": None}
        await store.commit(PageWrite("assets", rows, (), state, now=f"{today}T00:00:00"))


async def nightly(folder: Path, assets: int, changed: float, nights: int) -> None:
    """See the module docstring."""
    institution = SyntheticInstitution(seed=1, researchers=1_000, assets=assets)
    db = folder / "mirror.sqlite"
    store = SQLiteStore(db)
    await store.open(INSTITUTION)
    started = time.monotonic()
    await prefill(store, institution, FIRST_DAY.date().isoformat())
    await store.close()
    print(f"prefilled {assets:,} assets in {time.monotonic() - started:.0f} s")
    day_changes = round(assets * changed)
    for night in range(1, nights + 1):
        # the day's edits, dated by the gateway's clock: most at noon, a tenth between
        # midnight and the run (those the next night's overlapping window sees again)
        noon = FIRST_DAY + dt.timedelta(days=night - 1, hours=9, minutes=30)
        SimulatedGateway(institution, start=noon)
        late = day_changes // 10
        institution.churn(night, assets=(day_changes - late, assets // 10_000, assets // 20_000))
        SimulatedGateway(institution, start=noon + dt.timedelta(hours=14))
        institution.churn(f"{night} late", assets=(late, 0, 0))
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
                summary = await mirror.sync("assets")
            wall = time.monotonic() - began
        requests = len(gateway.client_log())
        touched = summary.counts.new + summary.counts.changed
        target = 1.2 * touched / 100 + 50
        growth = max(rss for _, rss, _ in sampler.samples) - rss_before
        print(
            f"night {night}: {summary.describe()}; {requests} requests for {touched:,} new or "
            f"changed (target <= {target:.0f}: {'PASS' if requests <= target else 'MISS'}); "
            f"{wall:.1f} s; RSS growth {growth / MB:.1f} MB"
        )
    store = SQLiteStore(db)
    await store.open(None, read_only=True)
    rss_before = read_rss()
    with RssSampler(0.2) as sampler:
        began = time.monotonic()
        count = await export_records(store, "assets", "jsonl", folder / "assets.jsonl")
        wall = time.monotonic() - began
    await store.close()
    growth = max(rss for _, rss, _ in sampler.samples) - rss_before
    size = (folder / "assets.jsonl").stat().st_size
    print(
        f"export: {count:,} records ({size / MB:,.0f} MB) in {wall:.1f} s "
        f"({count / wall:,.0f} records/s); RSS growth {growth / MB:.1f} MB "
        f"({'PASS' if growth <= 50 * MB else 'MISS'} <= 50 MB); "
        f"store {db.stat().st_size / MB:,.0f} MB"
    )


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


def throughput(
    folder: Path,
    assets: int,
    latency: str,
    rate_limit: int,
    runs: tuple[str, ...],
    prefetch: int | None,
) -> None:
    """See the module docstring."""
    limit = rate_limit * 99
    for name in runs:
        with GatewayProcess(
            researchers=100, assets=assets, latency=Latency.parse(latency), rate_limit=rate_limit
        ) as gateway:
            rss_before = read_rss()
            with RssSampler(0.5) as sampler:
                began = time.monotonic()
                if name.startswith("baseline"):
                    count = asyncio.run(_baseline(gateway.url, folder / "a.jsonl", rate_limit))
                else:
                    count = asyncio.run(
                        _mirror(gateway.url, folder / "m.sqlite", rate_limit, prefetch)
                    )
                wall = time.monotonic() - began
            growth = max(rss for _, rss, _ in sampler.samples) - rss_before
            requests = len(gateway.stop().arrivals)
        print(
            f"{name}: {count:,} records, {requests:,} requests in {wall:.1f} s = "
            f"{count / wall:,.0f} records/s ({count / wall / limit:.0%} of {limit:,}/s); "
            f"RSS growth {growth / MB:.1f} MB"
        )


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["nightly", "throughput", "memory"])
    parser.add_argument("--assets", type=int)
    parser.add_argument("--changed", type=float, default=0.005)
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument("--latency", default="0.2:0.8")
    parser.add_argument("--prefetch", type=int, default=16, help="the mirror's (default 16)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as name:
        folder = Path(name)
        if args.scenario == "nightly":
            asyncio.run(nightly(folder, args.assets or 1_000_000, args.changed, args.nights))
        elif args.scenario == "throughput":
            runs = (BASELINE, MIRROR)
            throughput(folder, args.assets or 20_000, args.latency, 25, runs, args.prefetch)
        else:
            throughput(folder, args.assets or 1_000_000, "0.05", 200, (MIRROR,), args.prefetch)


if __name__ == "__main__":
    main()

"""Nightly synchronisation: apply a CSV of HR changes to Esploro researchers.

The CSV has one row per change: ``primary_id,field,value`` where ``field`` is one of the
columns below. Each row becomes a fetch-modify-PUT (`researchers.edit`: the PUT replaces
the whole record, so it is read first and only written if something changed), run
concurrently with `client.bulk` in the batch lane. Every row gets one result line.

    python examples/nightly_sync.py hr_changes.csv results.jsonl --simulate
    ESPLORO_API_KEY=... ESPLORO_REGION=eu python examples/nightly_sync.py hr_changes.csv out.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from esploro_async import DailyQuotaExhaustedError, EsploroClient
from esploro_async.models import Researcher
from esploro_async.testing import SIM_API_KEY, SimulatedGateway, SyntheticInstitution


def _set_title(r: Researcher, value: str) -> None:
    r["researcher"] = {**r.get("researcher", {}), "display_title": value}


def _set_position(r: Researcher, value: str) -> None:
    r["researcher"] = {**r.get("researcher", {}), "position": {"value": value}}


FIELDS: dict[str, Callable[[Researcher, str], None]] = {
    "orcid": lambda r, v: setattr(r, "orcid", v or None),
    "first_name": lambda r, v: setattr(r, "first_name", v),
    "last_name": lambda r, v: setattr(r, "last_name", v),
    "display_title": _set_title,
    "position": _set_position,
}
"""The CSV ``field`` values this script understands, and how each edits a researcher."""


async def sync(client: EsploroClient, rows: list[dict[str, str]], out: TextIO) -> dict[str, int]:
    """Apply ``rows``; write one JSON line per row to ``out``; return counts by status."""

    async def apply(row: dict[str, str]) -> str:
        setter = FIELDS.get(row["field"])
        if setter is None:
            raise ValueError(f"unknown field {row['field']!r}; known: {', '.join(FIELDS)}")
        async with client.researchers.edit(row["primary_id"]) as researcher:
            before = researcher.to_dict()
            setter(researcher, row["value"])
            return "changed" if researcher.to_dict() != before else "unchanged"

    counts: dict[str, int] = {}
    try:
        async for result in client.bulk(rows, apply, concurrency=8):
            status = result.value if result.ok else "error"
            line: dict[str, Any] = {"row": result.index + 1, **result.item, "status": status}
            if result.error is not None:
                line["error"] = f"{type(result.error).__name__}: {result.error}"
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            counts[str(status)] = counts.get(str(status), 0) + 1
    except DailyQuotaExhaustedError as exc:
        counts["not run (daily quota)"] = len(rows) - sum(counts.values())
        print(f"stopped: {exc}", file=sys.stderr)
    return counts


def _client(simulate: bool) -> EsploroClient:
    if not simulate:
        # The key from ESPLORO_API_KEY; the gateway from ESPLORO_BASE_URL, else ESPLORO_REGION
        # (default na): `esploro-async simulate serve` prints a URL to use.
        return EsploroClient()
    gateway = SimulatedGateway(SyntheticInstitution(seed=0, researchers=1_000))
    return EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gateway.transport()
    )


async def run(simulate: bool, rows: list[dict[str, str]], out: TextIO) -> dict[str, int]:
    """Open the client and apply the rows."""
    async with _client(simulate) as client:
        return await sync(client, rows, out)


def main(argv: list[str] | None = None) -> int:
    """Run the synchronisation; exit status 1 if any row failed or was not run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("changes", type=Path, help="CSV with primary_id,field,value")
    parser.add_argument("results", type=Path, help="JSON Lines, one result per row")
    parser.add_argument("--simulate", action="store_true", help="a simulated institution")
    args = parser.parse_args(argv)
    with open(args.changes, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(args.results, "w", encoding="utf-8") as out:
        counts = asyncio.run(run(args.simulate, rows, out))
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return 1 if counts.get("error") or counts.get("not run (daily quota)") else 0


if __name__ == "__main__":
    sys.exit(main())

"""Kill a real ``esploro-async sync`` process at random instants, against a simulator served
on loopback whose records change, appear and disappear between runs; then compare."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

import attrs

from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution
from esploro_async.testing.server import SimServer

__all__ = ["KillReport", "kill_and_compare", "simulated_records"]

_MAIN = "from esploro_async.cli import main; main()"


@attrs.define
class KillReport:
    """What a schedule of kills did."""

    kills: int = 0
    completed: int = 0
    exit_codes: list[int] = attrs.Factory(list)


def sync_command(kind: str, db: str, *extra: str) -> list[str]:
    """The command line of one sync."""
    return [sys.executable, "-c", _MAIN, "sync", kind, "--db", db, "--quiet", *extra]


async def run_cli(
    server: SimServer, args: list[str], *, kill_after: float | None = None
) -> int | None:
    """Run the CLI; with ``kill_after``, SIGKILL it then. ``None``: it was killed running."""
    env = {
        **os.environ,
        "ESPLORO_API_KEY": SIM_API_KEY,
        "ESPLORO_BASE_URL": server.url,
        "ESPLORO_INSTITUTION": "01SIM_INST",
    }
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    if kill_after is None:
        _, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
        return 0
    try:
        await asyncio.wait_for(asyncio.shield(process.wait()), kill_after)
    except asyncio.TimeoutError:
        try:
            process.send_signal(signal.SIGKILL)
        except ProcessLookupError:  # it ended at the kill instant: a run that finished
            return await process.wait()
        await process.wait()
        return None
    return process.returncode


def simulated_records(gateway: SimulatedGateway, kind: str) -> dict[str, str]:
    """The simulator's records of ``kind`` as the mirror stores them (id -> JSON text)."""
    store = getattr(gateway.institution, kind)
    return {
        rid: json.dumps(store.ref(rid), ensure_ascii=False, separators=(",", ":"))
        for rid in store.ids()
    }


def exported_records(path: Path, kind: str) -> dict[str, str]:
    """The export's lines by id."""

    def key(record: dict[str, Any]) -> str:
        if kind == "assets":
            return str(record["originalRepository"]["assetId"])
        return str(record["primary_id"])

    lines = path.read_text("utf-8").splitlines()
    found = {key(json.loads(line)): line for line in lines}
    assert len(found) == len(lines), "an id was exported twice"
    return found


async def kill_and_compare(
    *,
    kind: str,
    db: str,
    out: Path,
    rounds: int,
    seed: int,
    assets: int = 1_000,
    researchers: int = 150,
    max_delay: float = 1.4,
) -> KillReport:
    """``rounds`` killed syncs (the simulator changes before each run; runs that end before
    their instant comes do not count), then a final sync that completes; asserts that the
    export equals the simulator's records."""
    rng = random.Random(seed)
    institution = SyntheticInstitution(seed=seed, researchers=researchers, assets=assets)
    gateway = SimulatedGateway(institution, latency=Latency.uniform(0.002, 0.01), seed=seed)
    report = KillReport()
    day = {"assets": (assets // 50, assets // 200, assets // 400)}
    day["researchers"] = (researchers // 10, researchers // 50, researchers // 100)
    extra = ("--refresh-days", "3") if kind == "researchers" else ()
    async with gateway.serve("127.0.0.1", 0) as server:
        for round_no in range(2 * rounds):
            if report.kills == rounds:
                break
            institution.churn(
                f"{seed}:{round_no}",
                assets=day["assets"] if kind == "assets" else (0, 0, 0),
                researchers=day["researchers"] if kind == "researchers" else (0, 0, 0),
            )
            reconcile = ("--reconcile",) if rng.random() < 0.2 else ()
            code = await run_cli(
                server,
                sync_command(kind, db, *extra, *reconcile),
                kill_after=rng.uniform(0.3, max_delay),
            )
            if code is None:
                report.kills += 1
            else:
                report.completed += 1
                report.exit_codes.append(code)
        last = ("--reconcile",) if kind == "assets" else ("--refresh-days", "1")
        await run_cli(server, sync_command(kind, db, *last))
        export = [sys.executable, "-c", _MAIN, "export", "--db", db, "--type", kind]
        await run_cli(server, [*export, "--out", str(out)])
        expected = simulated_records(gateway, kind)
    found = exported_records(out, kind)
    assert found.keys() == expected.keys()
    assert found == expected
    return report

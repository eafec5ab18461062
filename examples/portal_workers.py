"""A portal run by several uvicorn workers beside a harvest process, all on one Redis.

Every process of the institution (each uvicorn worker, the harvest, other hosts) shares the
gateway's 25 requests per second and the daily quota through `RedisGovernance`. Profile
pages go in the ``interactive`` lane and pass before the harvest's ``batch`` work of every
process; the harvest stops at ``batch_reserve`` institution-wide, the pages go on.

    pip install 'esploro-async[redis,cli]' fastapi uvicorn
    export ESPLORO_REDIS_URL=redis://localhost:6379/0 ESPLORO_INSTITUTION=01ABC_INST
    export ESPLORO_API_KEY=... ESPLORO_REGION=eu      # or ESPLORO_BASE_URL=<a simulated gateway>
    uvicorn examples.portal_workers:app --workers 4   # the portal
    python examples/portal_workers.py harvest         # the nightly harvest, another process
    esploro-async status                              # watch them share the budget

With ``opentelemetry-api`` installed (``pip install 'esploro-async[otel]'``) and an SDK
configured, each process also reports the governance metrics (`esploro_async.metrics`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException

from esploro_async import DailyQuotaExhaustedError, EsploroClient, NotFoundError
from esploro_async.governance.redis import RedisGovernance
from esploro_async.metrics import instrument

RESERVES: dict[str, Any] = {"daily_reserve": 1_000, "batch_reserve": 50_000}


def open_client() -> EsploroClient:
    """A client of the institution on the shared Redis governance (settings from the env)."""
    governance = RedisGovernance.from_env(
        **{k: int(os.environ.get(f"ESPLORO_{k.upper()}", v)) for k, v in RESERVES.items()},
        fallback="local",
    )
    instrument(governance)  # OpenTelemetry metrics; a no-op without opentelemetry-api
    base_url = os.environ.get("ESPLORO_BASE_URL")
    return EsploroClient(
        region=None if base_url else os.environ.get("ESPLORO_REGION", "na"),
        base_url=base_url,
        institution=governance.institution,
        governance=governance,
    )


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One client per worker process, for the worker's lifetime."""
    async with open_client() as client:
        app.state.client = client
        try:
            yield
        finally:
            await client.governance.aclose()


app = FastAPI(title="Research portal (several workers)", lifespan=lifespan)


@app.get("/researchers/{primary_id}")
async def profile(primary_id: str) -> dict[str, Any]:
    """A researcher's profile, in the interactive lane (the client's default)."""
    client: EsploroClient = app.state.client
    try:
        researcher = await client.researchers.get(primary_id)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such researcher") from None
    except DailyQuotaExhaustedError:
        raise HTTPException(status_code=503, detail="daily API quota spent") from None
    return {"id": researcher.primary_id, "name": researcher.last_name, "pid": os.getpid()}


@app.get("/status")
async def status() -> dict[str, Any]:
    """This worker's view of the institution's governance."""
    snapshot = app.state.client.governance.snapshot()
    return {
        "pid": os.getpid(),
        "requests": snapshot.requests,
        "throttled": snapshot.throttled,
        "quota_remaining": snapshot.quota_remaining,
    }


async def harvest(limit: int | None) -> int:
    """Stream researchers in the batch lane (a real job would store them); how many."""
    count = 0
    async with open_client() as client:
        try:
            async for _researcher in client.researchers.list(on_insufficient_quota="run"):
                count += 1
                if limit is not None and count >= limit:
                    break
        except DailyQuotaExhaustedError:
            print("stopped at the batch reserve; resume after the reset", file=sys.stderr)
        finally:
            await client.governance.aclose()
    return count


def main(argv: list[str] | None = None) -> int:
    """``harvest [--limit N]``: the harvest process."""
    parser = argparse.ArgumentParser(prog="python examples/portal_workers.py")
    parser.add_argument("command", choices=["harvest"])
    parser.add_argument("--limit", type=int, help="stop after this many researchers")
    args = parser.parse_args(argv)
    print(f"harvested {asyncio.run(harvest(args.limit))} researchers", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

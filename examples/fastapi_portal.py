"""A research portal that shares the institution's budget with a nightly harvest.

One `EsploroClient` lives for the whole app (FastAPI's lifespan). Profile pages fetch a
researcher in the ``interactive`` lane (the client's default), so a visitor never waits
behind the harvest that runs in the same process in the ``batch`` lane; the harvest stops
at its own daily reserve (``batch_reserve``) and leaves the rest of the quota to the pages.

    pip install 'esploro-async[examples]'
    ESPLORO_SIMULATE=1 uvicorn examples.fastapi_portal:app      # a simulated institution
    ESPLORO_API_KEY=... ESPLORO_REGION=eu uvicorn examples.fastapi_portal:app
    curl localhost:8000/researchers/R00000042 ; curl localhost:8000/status
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException

from esploro_async import DailyQuotaExhaustedError, EsploroClient, NotFoundError
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution


def make_client() -> EsploroClient:
    """The real API when ESPLORO_API_KEY is set (and ESPLORO_SIMULATE is not), else a simulator."""
    reserves: dict[str, Any] = {"daily_reserve": 1_000, "batch_reserve": 50_000}
    if os.environ.get("ESPLORO_API_KEY") and not os.environ.get("ESPLORO_SIMULATE"):
        return EsploroClient(region=os.environ.get("ESPLORO_REGION", "na"), **reserves)
    gateway = SimulatedGateway(
        SyntheticInstitution(seed=1, researchers=20_000), latency=Latency.uniform(0.1, 0.4)
    )
    return EsploroClient(
        SIM_API_KEY,
        base_url="http://esploro.localhost",
        transport=gateway.transport(),
        daily_reserve=0,
        batch_reserve=0,
    )


class Harvest:
    """The nightly job, in the batch lane: it counts researchers (a real one would store them)."""

    def __init__(self) -> None:
        self.records = 0
        self.state = "not started"

    async def run(self, client: EsploroClient) -> None:
        self.state = "running"
        try:
            async for _researcher in client.researchers.list(on_insufficient_quota="run"):
                self.records += 1
            self.state = "done"
        except DailyQuotaExhaustedError:
            self.state = "stopped at the batch reserve; resumes after the reset"


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the client for the app's lifetime and start the harvest beside it."""
    async with make_client() as client:
        app.state.client = client
        app.state.harvest = Harvest()
        task = asyncio.create_task(app.state.harvest.run(client))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


app = FastAPI(title="Research portal", lifespan=lifespan)


@app.get("/researchers/{primary_id}")
async def profile(primary_id: str) -> dict[str, Any]:
    """A researcher's profile, fetched in the interactive lane."""
    client: EsploroClient = app.state.client
    try:
        researcher = await client.researchers.get(primary_id)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such researcher") from None
    except DailyQuotaExhaustedError:
        raise HTTPException(status_code=503, detail="daily API quota spent") from None
    return {
        "id": researcher.primary_id,
        "name": f"{researcher.first_name or ''} {researcher.last_name or ''}".strip(),
        "orcid": researcher.orcid,
        "emails": researcher.emails,
        "keywords": researcher.keywords,
    }


@app.get("/status")
async def status() -> dict[str, Any]:
    """The harvest's progress and the institution's governance."""
    client: EsploroClient = app.state.client
    snapshot = client.governance.snapshot()
    return {
        "harvest": {"state": app.state.harvest.state, "records": app.state.harvest.records},
        "requests": snapshot.requests,
        "throttled": snapshot.throttled,
        "quota_remaining": snapshot.quota_remaining,
        "effective_rate": snapshot.effective_rate,
    }

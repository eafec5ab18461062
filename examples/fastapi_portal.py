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
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from esploro_async import (
    APIConnectionError,
    DailyQuotaExhaustedError,
    EsploroClient,
    EsploroError,
    InvalidIdentifierError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution


def make_client() -> EsploroClient:
    """The real API when ESPLORO_API_KEY is set (and ESPLORO_SIMULATE is not), else a simulator."""
    reserves: dict[str, Any] = {"daily_reserve": 1_000, "batch_reserve": 50_000}
    if os.environ.get("ESPLORO_API_KEY") and not os.environ.get("ESPLORO_SIMULATE"):
        return EsploroClient(**reserves)  # ESPLORO_BASE_URL, else ESPLORO_REGION (default na)
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


def http_answer(error: EsploroError) -> tuple[int, str, dict[str, str]]:
    """The HTTP status, message and headers a visitor gets for one of the library's errors.

    The visitor's input is at fault only for a bad id (400) or a missing record (404); the
    rest is the API's state, told as "try again later" (429, 503) with a ``Retry-After``.
    Anything else is the portal's own fault (500, logged by the server).
    """
    if isinstance(error, InvalidIdentifierError):
        return 400, "not a valid researcher id", {}
    if isinstance(error, NotFoundError):
        return 404, "no such researcher", {}
    if isinstance(error, RateLimitError):
        return 429, "too many requests to the research API: try again shortly", {"Retry-After": "1"}
    if isinstance(error, DailyQuotaExhaustedError):
        wait = (error.resets_at - datetime.now(timezone.utc)).total_seconds()
        retry_after = {"Retry-After": str(max(1, int(wait)))}
        return 503, "the research API's daily quota is spent", retry_after
    if isinstance(error, (ServerError, APIConnectionError)):
        return 503, "the research API is unavailable: try again later", {"Retry-After": "30"}
    raise error


@app.exception_handler(EsploroError)
async def library_error(_request: Request, error: EsploroError) -> JSONResponse:
    """Every route's library errors, answered as `http_answer` says."""
    status, detail, headers = http_answer(error)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


@app.get("/researchers/{primary_id}")
async def profile(primary_id: str) -> dict[str, Any]:
    """A researcher's profile, fetched in the interactive lane."""
    client: EsploroClient = app.state.client
    researcher = await client.researchers.get(primary_id)
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

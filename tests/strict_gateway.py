"""A minimal strict gateway for the core tests: sliding-window 429s, a quota, scripted replies.

It is deliberately tiny and independent of `esploro_async.testing`, so the
governance tests do not depend on the simulator they help to validate.
"""

from __future__ import annotations

import email.utils
import random
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import anyio
import attrs
import httpx

GATEWAY_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">'
    "<errorsExist>true</errorsExist><errorList><error><errorCode>{code}</errorCode>"
    "<errorMessage>{message}</errorMessage><trackingId>E01-TEST</trackingId></error>"
    "</errorList></web_service_result>"
)

Reply = Callable[[httpx.Request], httpx.Response | None]


@attrs.define
class Arrival:
    """One request as the gateway saw it."""

    at: float
    method: str
    path: str
    status: int


@attrs.define
class StrictGateway:
    """Counts accepted arrivals in ``(t - 1, t]``; the 26th gets 429 PER_SECOND_THRESHOLD.

    ``latency`` is a (low, high) uniform one-way delay applied before arrival and
    again before the response; ``foreign`` is a list of times at which another
    integration's requests arrive; ``script`` may answer a request itself.
    ``faults`` are consumed one per request: ``hang`` (never answers: the client's
    read timeout fires), ``reset`` (connection lost after processing), ``refused``
    (connection refused: not processed), ``500``, ``503-long`` (Retry-After 1 h);
    ``ok`` lets a request through normally.
    """

    rate_limit: int = 25
    quota: int | None = None
    latency: tuple[float, float] = (0.0, 0.0)
    count_rejected: bool = False
    foreign: list[float] = attrs.Factory(list)
    script: Reply | None = None
    faults: list[str] = attrs.Factory(list)
    start: datetime = attrs.Factory(lambda: datetime.now(timezone.utc))
    seed: int = 0
    arrivals: list[Arrival] = attrs.Factory(list)
    _window: deque[float] = attrs.Factory(deque)
    _rng: random.Random = attrs.field(init=False)
    _t0: float | None = None

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def transport(self) -> httpx.MockTransport:
        """An in-process transport serving this gateway."""
        return httpx.MockTransport(self.handle)

    def wall(self, now: float) -> datetime:
        """The gateway's wall clock at monotonic ``now``."""
        if self._t0 is None:
            self._t0 = now
        return self.start + timedelta(seconds=now - self._t0)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await anyio.sleep(self._rng.uniform(*self.latency))
        now = anyio.current_time()
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault != "ok":
            self.arrivals.append(Arrival(now, request.method, request.url.path, 0))
            return await self._fail(fault, request)
        response = self._decide(request, now)
        self.arrivals.append(Arrival(now, request.method, request.url.path, response.status_code))
        await anyio.sleep(self._rng.uniform(*self.latency))
        return response

    def accepted_times(self) -> list[float]:
        """Arrival times of requests that were not refused by a threshold."""
        return [a.at for a in self.arrivals if a.status != 429]

    def max_in_window(self, window: float = 1.0) -> int:
        """Most accepted arrivals in any half-open window ``[t, t + window)``."""
        times = sorted(self.accepted_times())
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while times[lo] <= t - window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def _decide(self, request: httpx.Request, now: float) -> httpx.Response:
        while self.foreign and self.foreign[0] <= now:
            self._admit(self.foreign.pop(0))
        self._prune(now)
        headers = {"Date": email.utils.format_datetime(self.wall(now), usegmt=True)}
        if self.quota is not None and self.quota <= 0:
            return self._gateway_error(429, "DAILY_THRESHOLD", "Daily threshold reached", headers)
        if len(self._window) >= self.rate_limit:
            if self.count_rejected:
                self._window.append(now)
            return self._gateway_error(
                429,
                "PER_SECOND_THRESHOLD",
                "HTTP requests are more than allowed per second",
                headers,
            )
        self._window.append(now)
        if self.quota is not None:
            self.quota -= 1
            headers["X-Exl-Api-Remaining"] = str(self.quota)
        scripted = self.script(request) if self.script else None
        if scripted is not None:
            scripted.headers.update(headers)
            return scripted
        return httpx.Response(200, json={"ok": True}, headers=headers)

    async def _fail(self, fault: str, request: httpx.Request) -> httpx.Response:
        if fault == "hang":
            timeout = request.extensions.get("timeout", {}).get("read") or 3600.0
            await anyio.sleep(timeout)
            raise httpx.ReadTimeout("timed out", request=request)
        if fault == "reset":
            raise httpx.ReadError("connection reset by peer", request=request)
        if fault == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == "500":
            error = {"errorCode": "x", "errorMessage": "boom"}
            body = {"errorsExist": True, "errorList": {"error": [error]}}
            return httpx.Response(500, json=body)
        if fault == "503-long":
            return httpx.Response(503, headers={"Retry-After": "3600"})
        raise ValueError(f"unknown fault {fault!r}")

    def _admit(self, at: float) -> None:
        self._prune(at)
        if len(self._window) < self.rate_limit:
            self._window.append(at)

    def _prune(self, now: float) -> None:
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()

    def _gateway_error(
        self, status: int, code: str, message: str, headers: dict[str, str]
    ) -> httpx.Response:
        if self.quota is not None:
            headers["X-Exl-Api-Remaining"] = str(max(self.quota, 0))
        headers["Content-Type"] = "application/xml;charset=UTF-8"
        return httpx.Response(
            status, content=GATEWAY_XML.format(code=code, message=message), headers=headers
        )

"""The simulated Ex Libris API gateway: governance, faults, latency and dispatch.

Time
    The monotonic clock is :func:`anyio.current_time` (virtualised by ``looptime``) and
    every delay is an :func:`anyio.sleep`.  The simulated wall clock is
    ``start + (now - t0)``, where ``t0`` is the monotonic time of the first request.

Life of a request (:meth:`SimulatedGateway.exchange`)
    1. *sent* at ``s``: faults are matched (see :class:`~.faults.Fault`) and a latency
       ``L`` is drawn; ``up = L * up_fraction``, ``down = L - up``; a request held by
       ``stalls`` (:class:`~.faults.Stalls`) takes its delay on top of ``up``;
    2. *arrives* at ``s + up``: the gateway decides, synchronously and atomically: API
       key, per-second threshold, daily quota, then the API handler (or the fault);
    3. the response is delivered at ``s + L``.  With a read timeout ``T`` (transport
       only) a response later than ``s + T`` becomes a timeout at ``s + T``; if
       ``up >= T`` the request is lost before arrival (never processed, not counted).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import email.utils
import json
import random
import string
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from urllib.parse import unquote

import anyio

from esploro_async.testing import _hostile, _xml
from esploro_async.testing.api import JSON_CT, XML_CT, ApiRequest, ApiResponse, EsploroApi
from esploro_async.testing.arrival import Arrival, lost_record
from esploro_async.testing.fault_states import FaultState, StallState, latency_for, pick_fault
from esploro_async.testing.faults import (
    BODY_FAULTS,
    RESPONSE_FAULTS,
    Fault,
    FaultKind,
    Latency,
    Stalls,
)
from esploro_async.testing.foreign import ForeignArrivals
from esploro_async.testing.institution import SyntheticInstitution
from esploro_async.testing.keys import (
    SIM_API_KEY,
    SIM_READ_ONLY_KEY,
    check_roles,
    default_keys,
    may_call,
)
from esploro_async.testing.log_queries import LogQueries
from esploro_async.testing.replies import (
    DAILY_MESSAGE,
    HTML_401,
    HTML_502,
    PER_SECOND_MESSAGE,
    PER_SECOND_MESSAGE_JSON,
    REMAINING,
    REMAINING_HEADER_TIMINGS,
    ROUTING_MESSAGE,
    SERVER_HEADER,
    UNAUTHORIZED_MESSAGE,
    damage,
    report_fault,
)
from esploro_async.testing.window import NS, ArrivalWindow, max_in_window
from esploro_async.testing.wire import (
    ConnectionReset,
    RequestRecord,
    ResponseTimeout,
    SimRequest,
    SimResponse,
)

if TYPE_CHECKING:
    from esploro_async.testing.process import GatewayProcess
    from esploro_async.testing.server import SimServer
    from esploro_async.testing.transport import SimTransport

__all__ = [
    "SIM_API_KEY",
    "SIM_READ_ONLY_KEY",
    "ConnectionReset",
    "RequestRecord",
    "ResponseTimeout",
    "SimRequest",
    "SimResponse",
    "SimulatedGateway",
    "max_in_window",
]


async def _sleep(seconds: float) -> None:
    """Sleep a whole number of microseconds.

    Virtual clocks (looptime) tick in microseconds; on Python 3.10 a deadline a fraction of
    a tick past "now" is never due and never fast-forwarded, so the loop would stall.
    """
    await anyio.sleep(round(seconds, 6))


def _wall_now() -> _dt.datetime:
    """The host's wall clock (UTC): where a gateway without a ``start`` begins."""
    return _dt.datetime.now(_dt.timezone.utc)


def _utc_start(start: _dt.datetime | None) -> _dt.datetime:
    """Where the simulated wall clock begins: ``start`` (naive means UTC), else the host's."""
    if start is None:
        return _wall_now()
    return start if start.tzinfo is not None else start.replace(tzinfo=_dt.timezone.utc)


_HTML_PAGES = {FaultKind.HTML_401: (401, HTML_401), FaultKind.HTML_200: (200, _hostile.HTML_200)}
"""The faults answered by an HTML page instead of the gateway: status and page."""


class SimulatedGateway(LogQueries):
    """A stateful simulation of the Ex Libris API gateway in front of one institution.

    **Per-second threshold (exact rule).**  Arrival times are quantised to integer
    nanoseconds.  A request arriving at ``t`` is refused with HTTP 429
    ``PER_SECOND_THRESHOLD`` iff at least ``rate_limit`` *counted* arrivals ``a``
    satisfy ``t - window < a <= t`` (i.e. ``a + window > t``).  Counted arrivals are
    the accepted ones, plus the refused ones when ``count_rejected=True``.  So with 25
    accepted arrivals in ``[t0, t0 + 1)`` a 26th at ``t0 + 0.999…`` is refused, and one
    at exactly ``t0 + 1.0`` is accepted (``t0`` has left the window).

    **Daily quota.**  ``quota_remaining`` starts at ``quota_remaining`` (default
    ``daily_quota``) and is reset to ``daily_quota`` at each simulated midnight GMT.  An
    accepted request decrements it (refused ones too if ``quota_counts_rejected``); at 0
    requests get HTTP 429 ``DAILY_THRESHOLD``.  Every gateway response carries
    ``X-Exl-Api-Remaining``: with ``remaining_header="arrival"`` (default) the count right
    after this request was counted; ``"departure"``: the count when its response leaves
    (other requests that arrived meanwhile already taken off); ``"none"``: no header. The
    documentation does not say which the real gateway does.

    **Keys.**  ``Authorization: apikey <KEY>`` or ``?apikey=``.  Unknown or missing keys,
    and ``"ro"`` keys on POST/PUT/DELETE, get HTTP 400 ``UNAUTHORIZED`` (gateway XML).
    Such requests are not counted in the window or the quota (the gateway cannot or does
    not attribute them).

    **Foreign load.**  ``foreign_rate`` req/s of Poisson arrivals from another
    integration (seeded), materialised lazily up to each real arrival; they take window
    slots and quota like accepted requests when they fit, and are logged with
    ``lane="foreign"``.  ``foreign_arrivals`` (or `add_foreign_arrivals`) schedules foreign
    arrivals at given monotonic times instead, e.g. a burst that fills the window just
    before a client's request; both sources may be combined.

    **Clock.**  The simulated wall clock (the ``Date`` header, the quota day) starts at
    ``start``, by default the host's clock when the gateway is built, and then follows the
    monotonic clock.  Pass ``start`` to put the gateway anywhere in time, e.g. seconds
    before its midnight, or minutes off the host's clock.

    Gateway errors (429, 400 ``UNAUTHORIZED``, 503 ``ROUTING_ERROR``) are XML even when
    JSON was asked for.  Pass ``institution`` to share data between gateways.
    """

    def __init__(
        self,
        institution: SyntheticInstitution | None = None,
        *,
        rate_limit: int = 25,
        window: float = 1.0,
        count_rejected: bool = False,
        daily_quota: int = 1_000_000,
        quota_remaining: int | None = None,
        quota_counts_rejected: bool = False,
        start: _dt.datetime | None = None,
        latency: Latency | None = None,
        latency_by_endpoint: Mapping[str, Latency] | None = None,
        up_fraction: float = 0.5,
        stalls: Stalls | None = None,
        remaining_header: Literal["arrival", "departure", "none"] = "arrival",
        faults: Iterable[Fault] = (),
        foreign_rate: float = 0.0,
        foreign_arrivals: Iterable[float] = (),
        api_keys: Mapping[str, str] | None = None,
        seed: int = 0,
    ) -> None:
        if not 0.0 <= up_fraction <= 1.0:
            raise ValueError("up_fraction must be in [0, 1]")
        if remaining_header not in REMAINING_HEADER_TIMINGS:
            raise ValueError(
                f"remaining_header must be one of {REMAINING_HEADER_TIMINGS}, "
                f"not {remaining_header!r}"
            )
        self.api_keys: dict[str, str] = default_keys() if api_keys is None else dict(api_keys)
        check_roles(self.api_keys.values())
        self.institution: SyntheticInstitution = (
            SyntheticInstitution(seed) if institution is None else institution
        )
        self.rate_limit = rate_limit
        self.window = window
        self.count_rejected = count_rejected
        self.daily_quota = daily_quota
        self.quota_remaining: int = daily_quota if quota_remaining is None else quota_remaining
        self.quota_counts_rejected = quota_counts_rejected
        self.start: _dt.datetime = _utc_start(start)
        self.latency: Latency = latency or Latency.fixed(0.0)
        self.latency_by_endpoint: dict[str, Latency] = dict(latency_by_endpoint or {})
        self.up_fraction = up_fraction
        self.stalls: Stalls | None = stalls
        self.remaining_header = remaining_header
        self.faults: list[Fault] = list(faults)
        self.seed = seed
        #: Every request seen, in arrival order (plus foreign arrivals).
        self.log: list[RequestRecord] = []
        #: ``"json"``: a 429 ``PER_SECOND_THRESHOLD`` comes as the real JSON body, without
        #: ``trackingId`` and with a padded message (scriptotek/php-alma-client
        #: ``per_second_threshold_error_response.json``); ``"xml"`` (default): the XML one.
        self.throttle_body: Literal["xml", "json"] = "xml"
        self._fault_states = [FaultState(f) for f in self.faults]
        self._lat_rng = random.Random(f"{seed}:latency")
        self._stalls = (
            None if stalls is None else StallState(stalls, random.Random(f"{seed}:stall"))
        )
        self._fault_rng = random.Random(f"{seed}:faults")
        self._foreign = ForeignArrivals(foreign_rate, foreign_arrivals, seed)
        self._id_rng = random.Random(f"{seed}:ids")
        self._counted = ArrivalWindow(window)
        self._t0: float | None = None
        self._next_reset: float = float("inf")
        self._number = 0
        self.api: EsploroApi = EsploroApi(
            self.institution,
            tracking_id=self._tracking_id,
            today=self._today,
            seed=seed,
            clock=self.now,
            wall_clock=self.wall_clock,
        )

    @property
    def foreign_rate(self) -> float:
        """Poisson arrivals per second from another integration (see *Foreign load*)."""
        return self._foreign.rate

    # -- clocks -----------------------------------------------------------------------
    @staticmethod
    def now() -> float:
        """The monotonic clock (:func:`anyio.current_time`)."""
        return anyio.current_time()

    def wall_clock(self, t: float | None = None) -> _dt.datetime:
        """The simulated wall clock at monotonic time ``t`` (default: now)."""
        if self._t0 is None:
            return self.start
        if t is None:
            t = self.now()
        return self.start + _dt.timedelta(seconds=t - self._t0)

    def _today(self) -> _dt.date:
        try:
            return self.wall_clock().date()
        except RuntimeError:  # no event loop running
            return self.start.date()

    def _start_clock(self, t: float) -> None:
        self._t0 = t
        midnight = (self.start + _dt.timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self._next_reset = t + (midnight - self.start).total_seconds()
        self._foreign.start(t)

    # -- identifiers --------------------------------------------------------------------
    def _tracking_id(self) -> str:
        r = self._id_rng
        alnum = string.ascii_uppercase + string.digits
        return (
            f"E01-{r.randrange(10**10):010d}-{''.join(r.choices(alnum, k=5))}"
            f"-AWAE{r.randrange(10**10):010d}"
        )

    def _request_id(self) -> str:
        return "".join(self._id_rng.choices(string.ascii_letters + string.digits, k=10))

    # -- governance ---------------------------------------------------------------------
    def _roll_day(self, t: float) -> None:
        while t >= self._next_reset:
            self.quota_remaining = self.daily_quota
            self._next_reset += 86_400.0

    def _window_full(self, t_ns: int) -> bool:
        return self._counted.count(t_ns) >= self.rate_limit

    def _admit(self, t: float) -> str | None:
        """Apply the thresholds at arrival ``t``; ``None`` = accepted, else the error code."""
        self._roll_day(t)
        t_ns = round(t * NS)
        if self._window_full(t_ns):
            if self.count_rejected:
                self._counted.add(t_ns)
            if self.quota_counts_rejected and self.quota_remaining > 0:
                self.quota_remaining -= 1
            return "PER_SECOND_THRESHOLD"
        if self.quota_remaining <= 0:
            if self.count_rejected:
                self._counted.add(t_ns)
            return "DAILY_THRESHOLD"
        self._counted.add(t_ns)
        self.quota_remaining -= 1
        return None

    def add_foreign_arrivals(self, times: Iterable[float]) -> None:
        """Schedule foreign arrivals at monotonic ``times`` (see *Foreign load* above).

        They are decided, like the Poisson ones, when a later client request arrives.
        """
        self._foreign.schedule(times)

    def _materialise_foreign(self, t: float) -> None:
        while (f := self._foreign.next_due(t)) is not None:
            code = self._admit(f)
            self._number += 1
            self.log.append(
                RequestRecord(
                    number=self._number,
                    arrival=f,
                    wall_time=self.wall_clock(f),
                    method="GET",
                    path="(foreign)",
                    query="",
                    status=200 if code is None else 429,
                    error_code=code,
                    accepted=code is None,
                    lane="foreign",
                    processed=code is None,
                )
            )

    # -- faults / latency -----------------------------------------------------------------
    def _pick_fault(self, method: str, path: str) -> Fault | None:
        return pick_fault(self._fault_states, method, path, self._fault_rng)

    def _latency_for(self, path: str) -> Latency:
        return latency_for(self.latency, self.latency_by_endpoint, path)

    # -- request handling -------------------------------------------------------------
    def _headers(
        self, content_type: str | None, *, gateway: bool = True, t: float | None = None
    ) -> list[tuple[str, str]]:
        wall = self.wall_clock(t)
        headers = [
            ("Date", email.utils.format_datetime(wall.astimezone(_dt.timezone.utc), usegmt=True))
        ]
        if gateway:
            headers += [("Server", SERVER_HEADER), ("X-Request-ID", self._request_id())]
            if self.remaining_header != "none":
                headers.append((REMAINING, str(max(self.quota_remaining, 0))))
        if content_type:
            headers.append(("Content-Type", content_type))
        return headers

    def _refusal(self, code: str, t: float) -> SimResponse:
        """The 429 of a request refused by the per-second or the daily threshold."""
        if code == "PER_SECOND_THRESHOLD" and self.throttle_body == "json":
            error = {"errorCode": code, "errorMessage": PER_SECOND_MESSAGE_JSON}
            body = {"errorList": {"error": [error]}, "errorsExist": True, "result": None}
            return SimResponse(429, self._headers(JSON_CT, t=t), json.dumps(body).encode())
        msg = PER_SECOND_MESSAGE if code == "PER_SECOND_THRESHOLD" else DAILY_MESSAGE
        return self._gateway_error(429, code, msg, t)

    def _gateway_error(self, status: int, code: str, message: str, t: float) -> SimResponse:
        body = _xml.error_xml(code, message, self._tracking_id())
        return SimResponse(status, self._headers(XML_CT, t=t), body)

    def _arrive(
        self, req: SimRequest, fault: Fault | None, t: float, number: int, sent: float | None = None
    ) -> tuple[SimResponse | None, RequestRecord]:
        """Decide at arrival time ``t`` (synchronous: atomic w.r.t. other requests)."""
        if self._t0 is None:
            self._start_clock(t)
        self._materialise_foreign(t)
        self._roll_day(t)
        arrival = Arrival.read(req, fault, t, number, sent, self.wall_clock(t))
        return self._html_fault(arrival) or self._refused(arrival) or self._answer(arrival, req)

    def _html_fault(self, arrival: Arrival) -> tuple[SimResponse, RequestRecord] | None:
        """The HTML page of an ``HTML_401``/``HTML_200`` fault, answered before governance."""
        fault = arrival.fault
        if fault is None or fault.kind not in _HTML_PAGES:
            return None
        status, page = _HTML_PAGES[fault.kind]
        headers = self._headers("text/html;charset=utf-8", gateway=False, t=arrival.t)
        return SimResponse(status, headers, page.encode()), arrival.record(status, None, False)

    def _refused(self, arrival: Arrival) -> tuple[SimResponse, RequestRecord] | None:
        """The gateway's refusal (unknown key, read-only key, threshold), if it refuses."""
        t = arrival.t
        if not may_call(self.api_keys, arrival.key, arrival.method):
            resp = self._gateway_error(400, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE, t)
            return resp, arrival.record(400, "UNAUTHORIZED", False)
        code = self._admit(t)
        if code is not None:
            return self._refusal(code, t), arrival.record(429, code, False)
        return None

    def _answer(
        self, arrival: Arrival, req: SimRequest
    ) -> tuple[SimResponse | None, RequestRecord]:
        """The API's answer to an accepted request, or the injected fault's."""
        fault = arrival.fault
        api_req = ApiRequest(
            method=arrival.method,
            path=arrival.path,
            segments=arrival.segments,
            query=dict(arrival.query),
            headers=req.headers,
            body=req.body,
            base_url=req.base_url,
        )
        kind = report_fault(fault)
        if fault is None or kind is not None or fault.kind in RESPONSE_FAULTS:
            api_resp = self.api.handle(
                api_req,
                report_not_ready=kind is not None,
                report_loading=kind is FaultKind.REPORT_LOADING,
            )
            return self._api_reply(api_resp, fault, arrival.t), arrival.record(
                api_resp.status, api_resp.error_code, True, True
            )
        if fault.is_processed:
            self.api.handle(api_req, report_not_ready=False, report_loading=False)
        return self._fault_reply(fault, api_req, arrival)

    def _api_reply(self, api_resp: ApiResponse, fault: Fault | None, t: float) -> SimResponse:
        """The API handler's response, as a body fault delivers it if there is one."""
        body = api_resp.body
        if fault is not None and fault.kind in BODY_FAULTS:
            body = damage(body, fault, api_resp.content_type)
        content_type = api_resp.content_type if api_resp.body or api_resp.status != 204 else None
        return SimResponse(api_resp.status, self._headers(content_type, t=t), body)

    def _fault_reply(
        self, fault: Fault, api_req: ApiRequest, arrival: Arrival
    ) -> tuple[SimResponse | None, RequestRecord]:
        """What a failing fault answers (nothing, for ``RESET`` and ``HANG``) and its record."""
        processed = fault.is_processed
        failed = self._fault_response(fault, api_req, arrival.t)
        if failed is None:  # RESET (processed) and HANG: no response reaches the client.
            return None, arrival.record(None, fault.kind.value.upper(), True, processed)
        resp, code = failed
        if fault.retry_after is not None:
            resp.headers.append(("Retry-After", f"{fault.retry_after:g}"))
        return resp, arrival.record(resp.status, code, True, processed)

    def _fault_response(
        self, fault: Fault, api_req: ApiRequest, t: float
    ) -> tuple[SimResponse, str | None] | None:
        """The error response of an injected fault and its error code, if it answers."""
        kind = fault.kind
        if kind is FaultKind.ROUTING_ERROR:
            return self._gateway_error(503, "ROUTING_ERROR", ROUTING_MESSAGE, t), "ROUTING_ERROR"
        if kind is FaultKind.HTTP_500:
            err = self.api.error(api_req, 500, "INTERNAL_SERVER_ERROR", "Internal server error.")
            resp = SimResponse(500, self._headers(err.content_type, t=t), err.body)
            return resp, "INTERNAL_SERVER_ERROR"
        if kind is FaultKind.HTTP_502:
            return SimResponse(502, self._headers("text/html", t=t), HTML_502.encode()), None
        return None

    async def exchange(self, req: SimRequest, *, read_timeout: float | None = None) -> SimResponse:
        """Carry one request through latency, governance, faults and the API.

        Raises :class:`ConnectionReset` or :class:`ResponseTimeout` for the network-level
        faults; transports translate them (``httpx.ConnectError``/``ReadError``/
        ``ReadTimeout``; the loopback server aborts the connection or stays silent).
        """
        sent = self.now()
        self._number += 1
        number = self._number
        path = unquote(req.raw_path)
        fault = self._pick_fault(req.method.upper(), path)
        total = self._latency_for(path).sample(self._lat_rng)
        up = total * self.up_fraction
        down = total - up
        if self._stalls is not None:  # its own draws: the latencies stay as they were
            up += self._stalls.delay()
        await self._request_leg(req, fault, number, sent, up, read_timeout)
        response, rec = self._arrive(req, fault, self.now(), number, sent)
        self.log.append(rec)
        if response is not None and fault is not None and fault.kind in _hostile.KINDS:
            response = _hostile.apply(response, fault, self._fault_rng)
        if response is None:
            assert fault is not None
            await self._no_response(fault, sent, down, read_timeout)
        if read_timeout is not None and up + down > read_timeout:
            await _sleep(max(0.0, sent + read_timeout - self.now()))
            raise ResponseTimeout()
        await _sleep(down)
        if self.remaining_header == "departure":
            self._materialise_foreign(self.now())
            response.headers[:] = [
                (name, str(max(self.quota_remaining, 0)) if name == REMAINING else value)
                for name, value in response.headers
            ]
        return response

    async def _request_leg(
        self,
        req: SimRequest,
        fault: Fault | None,
        number: int,
        sent: float,
        up: float,
        read_timeout: float | None,
    ) -> None:
        """Carry ``req`` to the gateway; raise if it is lost on the way (reset or timeout)."""
        if fault is not None and fault.kind is FaultKind.RESET and not fault.is_processed:
            await _sleep(up)
            self.log.append(lost_record(req, fault, number, sent, self.wall_clock(sent), "RESET"))
            raise ConnectionReset(processed=False)
        if read_timeout is not None and up >= read_timeout:
            await _sleep(read_timeout)
            self.log.append(lost_record(req, fault, number, sent, self.wall_clock(sent), "TIMEOUT"))
            raise ResponseTimeout()
        await _sleep(up)

    async def _no_response(
        self, fault: Fault, sent: float, down: float, read_timeout: float | None
    ) -> NoReturn:
        """How a request the gateway processed but never answers ends: reset or timeout."""
        if fault.kind is FaultKind.RESET:
            await _sleep(down)
            raise ConnectionReset(processed=True)
        if read_timeout is None:
            await anyio.sleep_forever()
        else:
            await _sleep(max(0.0, sent + read_timeout - self.now()))
        raise ResponseTimeout()

    # -- running ------------------------------------------------------------------------
    def transport(self) -> SimTransport:
        """An in-process ``httpx.AsyncBaseTransport`` (no sockets) talking to this gateway."""
        from esploro_async.testing.transport import SimTransport

        return SimTransport(self)

    @contextlib.asynccontextmanager
    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, allow_non_loopback: bool = False
    ) -> AsyncIterator[SimServer]:
        """Serve this gateway over real HTTP/1.1 on ``host:port`` (loopback only by default)."""
        from esploro_async.testing.server import SimServer

        server = SimServer(self, host, port, allow_non_loopback=allow_non_loopback)
        await server.start()
        try:
            yield server
        finally:
            await server.close()

    @staticmethod
    def in_child_process(
        *, researchers: int = 200, assets: int = 500, **options: Any
    ) -> GatewayProcess:
        """A gateway like this one, served over loopback HTTP by a child process.

        For benchmarks and load tests, where the simulator must not share a core with the
        client it measures: ``options`` are this class's keyword arguments (picklable),
        ``researchers`` and ``assets`` size its `SyntheticInstitution`. See `GatewayProcess`:

        ```python
        with SimulatedGateway.in_child_process(researchers=20_000) as gw:
            ...  # point clients at gw.url
            log = gw.stop()
        ```
        """
        from esploro_async.testing.process import GatewayProcess

        return GatewayProcess(researchers=researchers, assets=assets, **options)

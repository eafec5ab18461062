"""The simulated Ex Libris API gateway: governance, faults, latency and dispatch.

Time
    The monotonic clock is :func:`anyio.current_time` (virtualised by ``looptime``) and
    every delay is an :func:`anyio.sleep`.  The simulated wall clock is
    ``start + (now - t0)``, where ``t0`` is the monotonic time of the first request.

Life of a request (:meth:`SimulatedGateway.exchange`)
    1. *sent* at ``s``: faults are matched (see :class:`~.faults.Fault`) and a latency
       ``L`` is drawn; ``up = L * up_fraction``, ``down = L - up``;
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
import hashlib
import json
import random
import string
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode

import anyio
import attrs

from esploro_async.testing import _hostile, _xml
from esploro_async.testing.api import JSON_CT, XML_CT, ApiRequest, ApiResponse, EsploroApi
from esploro_async.testing.faults import (
    BODY_FAULTS,
    REPORT_FAULTS,
    RESPONSE_FAULTS,
    Fault,
    FaultKind,
    Latency,
    endpoint_matches,
)
from esploro_async.testing.institution import SyntheticInstitution
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


SIM_API_KEY = "l8xx5e1f0c2a9b7d4e6f8a0b1c3d5e7f9a2b"
"""The read/write key the simulated gateway accepts by default."""
SIM_READ_ONLY_KEY = "l8xx0ead0b1ee2c3d4e5f6a7b8c9d0e1f2a3"
"""A read-only key: GET works, POST/PUT/DELETE get HTTP 400 ``UNAUTHORIZED``."""

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
SERVER_HEADER = "Layer7-API-Gateway"
REMAINING = "X-Exl-Api-Remaining"
REMAINING_HEADER_TIMINGS = ("arrival", "departure", "none")
"""When ``X-Exl-Api-Remaining`` is written: as the request is counted, as its response
leaves, or never (``SimulatedGateway(remaining_header=...)``)."""
PER_SECOND_MESSAGE = "HTTP requests are more than allowed per second"
PER_SECOND_MESSAGE_JSON = PER_SECOND_MESSAGE + ". See https://goo.gl/2x1c1M "
DAILY_MESSAGE = "Daily API threshold has been reached. Please try again tomorrow."
UNAUTHORIZED_MESSAGE = "API-key not defined or not configured to allow this API."
ROUTING_MESSAGE = "Routing error: the request could not be routed to the target service."
HTML_401 = (
    '<!doctype html><html lang="en"><head><title>HTTP Status 401 – Unauthorized</title>'
    '<style type="text/css">body {font-family:Tahoma,Arial,sans-serif;}</style></head>'
    '<body><h1>HTTP Status 401 – Unauthorized</h1><hr class="line" /><p><b>Type</b> '
    "Status Report</p><p><b>Description</b> The request has not been applied to the target "
    "resource because it lacks valid authentication credentials for that resource.</p>"
    '<hr class="line" /><h3>Apache Tomcat</h3></body></html>'
)
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center></body></html>"
)
_NS = 1_000_000_000


def _wall_now() -> _dt.datetime:
    """The host's wall clock (UTC): where a gateway without a ``start`` begins."""
    return _dt.datetime.now(_dt.timezone.utc)


@attrs.define
class _FaultState:
    fault: Fault
    seen: int = 0
    fired: int = 0


class SimulatedGateway:
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
        for role in (api_keys or {}).values():
            if role not in ("rw", "ro"):
                raise ValueError(f"key role must be 'rw' or 'ro', not {role!r}")
        self.institution: SyntheticInstitution = (
            institution if institution is not None else SyntheticInstitution(seed)
        )
        self.rate_limit = rate_limit
        self.window = window
        self.count_rejected = count_rejected
        self.daily_quota = daily_quota
        self.quota_remaining: int = daily_quota if quota_remaining is None else quota_remaining
        self.quota_counts_rejected = quota_counts_rejected
        self.start: _dt.datetime = start or _wall_now()
        if self.start.tzinfo is None:
            self.start = self.start.replace(tzinfo=_dt.timezone.utc)
        self.latency: Latency = latency or Latency.fixed(0.0)
        self.latency_by_endpoint: dict[str, Latency] = dict(latency_by_endpoint or {})
        self.up_fraction = up_fraction
        self.remaining_header = remaining_header
        self.faults: list[Fault] = list(faults)
        self.foreign_rate = foreign_rate
        self.api_keys: dict[str, str] = dict(
            api_keys if api_keys is not None else {SIM_API_KEY: "rw", SIM_READ_ONLY_KEY: "ro"}
        )
        self.seed = seed
        #: Every request seen, in arrival order (plus foreign arrivals).
        self.log: list[RequestRecord] = []
        #: ``"json"``: a 429 ``PER_SECOND_THRESHOLD`` comes as the real JSON body, without
        #: ``trackingId`` and with a padded message (scriptotek/php-alma-client
        #: ``per_second_threshold_error_response.json``); ``"xml"`` (default): the XML one.
        self.throttle_body: Literal["xml", "json"] = "xml"
        self._fault_states = [_FaultState(f) for f in self.faults]
        self._lat_rng = random.Random(f"{seed}:latency")
        self._fault_rng = random.Random(f"{seed}:faults")
        self._foreign_rng = random.Random(f"{seed}:foreign")
        self._id_rng = random.Random(f"{seed}:ids")
        self._window_ns = round(window * _NS)
        self._counted: deque[int] = deque()
        self._t0: float | None = None
        self._next_reset: float = float("inf")
        self._foreign_next: float | None = None
        self._foreign_at: list[float] = sorted(foreign_arrivals)
        self._number = 0
        self.api: EsploroApi = EsploroApi(
            self.institution,
            tracking_id=self._tracking_id,
            today=self._today,
            seed=seed,
            clock=self.now,
            wall_clock=self.wall_clock,
        )

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
        if self.foreign_rate > 0:
            self._foreign_next = t + self._foreign_rng.expovariate(self.foreign_rate)

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
        counted = self._counted
        limit = t_ns - self._window_ns
        while counted and counted[0] <= limit:
            counted.popleft()
        return len(counted) >= self.rate_limit

    def _admit(self, t: float) -> str | None:
        """Apply the thresholds at arrival ``t``; ``None`` = accepted, else the error code."""
        self._roll_day(t)
        t_ns = round(t * _NS)
        if self._window_full(t_ns):
            if self.count_rejected:
                self._counted.append(t_ns)
            if self.quota_counts_rejected and self.quota_remaining > 0:
                self.quota_remaining -= 1
            return "PER_SECOND_THRESHOLD"
        if self.quota_remaining <= 0:
            if self.count_rejected:
                self._counted.append(t_ns)
            return "DAILY_THRESHOLD"
        self._counted.append(t_ns)
        self.quota_remaining -= 1
        return None

    def add_foreign_arrivals(self, times: Iterable[float]) -> None:
        """Schedule foreign arrivals at monotonic ``times`` (see *Foreign load* above).

        They are decided, like the Poisson ones, when a later client request arrives.
        """
        self._foreign_at = sorted([*self._foreign_at, *times])

    def _next_foreign(self, t: float) -> float | None:
        """The earliest foreign arrival due by ``t`` (consumed), or ``None``."""
        scheduled = self._foreign_at[0] if self._foreign_at else None
        poisson = self._foreign_next
        if poisson is not None and poisson <= t and (scheduled is None or poisson <= scheduled):
            assert self.foreign_rate > 0
            self._foreign_next = poisson + self._foreign_rng.expovariate(self.foreign_rate)
            return poisson
        if scheduled is not None and scheduled <= t:
            return self._foreign_at.pop(0)
        return None

    def _materialise_foreign(self, t: float) -> None:
        while (f := self._next_foreign(t)) is not None:
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
        chosen: Fault | None = None
        for st in self._fault_states:
            f = st.fault
            if f.method is not None and f.method != method:
                continue
            if not endpoint_matches(f.endpoint, path):
                continue
            st.seen += 1
            if chosen is not None:
                continue
            if f.requests is not None and st.seen not in f.requests:
                continue
            if f.max_count is not None and st.fired >= f.max_count:
                continue
            if f.probability < 1.0 and self._fault_rng.random() >= f.probability:
                continue
            st.fired += 1
            chosen = f
        return chosen

    def _latency_for(self, path: str) -> Latency:
        best: tuple[int, Latency] | None = None
        for key, lat in self.latency_by_endpoint.items():
            if endpoint_matches(key, path):
                score = len(key) + 1000 if key.startswith("/") else 1
                if best is None or score > best[0]:
                    best = (score, lat)
        return self.latency if best is None else best[1]

    # -- request handling -------------------------------------------------------------
    @staticmethod
    def _split_path(raw_path: str) -> tuple[str, tuple[str, ...]]:
        parts = tuple(unquote(p) for p in raw_path.split("/") if p)
        return unquote(raw_path), parts

    @staticmethod
    def _api_key(req: SimRequest, query: list[tuple[str, str]]) -> str | None:
        auth = req.headers.get("authorization", "")
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "apikey" and value.strip():
            return value.strip()
        for k, v in query:
            if k == "apikey":
                return v
        return None

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
        query = parse_qsl(req.query_string, keep_blank_values=True)
        key = self._api_key(req, query)
        logged_query = urlencode([(k, v) for k, v in query if k != "apikey"])
        path, segments = self._split_path(req.raw_path)
        method = req.method.upper()
        fp = hashlib.sha256(key.encode()).hexdigest()[:12] if key else None

        def record(
            status: int | None, code: str | None, accepted: bool, processed: bool = False
        ) -> RequestRecord:
            return RequestRecord(
                number=number,
                arrival=t,
                wall_time=self.wall_clock(t),
                method=method,
                path=path,
                query=logged_query,
                status=status,
                error_code=code,
                accepted=accepted,
                key_fingerprint=fp,
                fault=None if fault is None else fault.kind.value,
                processed=processed,
                sent=sent,
            )

        if fault is not None and fault.kind is FaultKind.HTML_401:
            headers = self._headers("text/html;charset=utf-8", gateway=False, t=t)
            return SimResponse(401, headers, HTML_401.encode()), record(401, None, False)
        if fault is not None and fault.kind is FaultKind.HTML_200:
            headers = self._headers("text/html;charset=utf-8", gateway=False, t=t)
            return SimResponse(200, headers, _hostile.HTML_200.encode()), record(200, None, False)
        role = self.api_keys.get(key) if key else None
        if role is None or (role == "ro" and method in WRITE_METHODS):
            resp = self._gateway_error(400, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE, t)
            return resp, record(400, "UNAUTHORIZED", False)
        code = self._admit(t)
        if code is not None:
            return self._refusal(code, t), record(429, code, False)

        api_req = ApiRequest(
            method=method,
            path=path,
            segments=segments,
            query=dict(query),
            headers=req.headers,
            body=req.body,
            base_url=req.base_url,
        )
        processed = fault is None or fault.is_processed
        report_fault = _report_fault(fault)
        not_ready = report_fault is not None
        api_resp: ApiResponse | None = (
            self.api.handle(
                api_req,
                report_not_ready=not_ready,
                report_loading=report_fault is FaultKind.REPORT_LOADING,
            )
            if processed
            else None
        )
        if fault is None or not_ready or fault.kind in RESPONSE_FAULTS:
            assert api_resp is not None
            body = api_resp.body
            if fault is not None and fault.kind in BODY_FAULTS:
                body = _damage(body, fault, api_resp.content_type)
            resp = SimResponse(
                api_resp.status,
                self._headers(
                    api_resp.content_type if api_resp.body or api_resp.status != 204 else None, t=t
                ),
                body,
            )
            return resp, record(api_resp.status, api_resp.error_code, True, True)
        failed = self._fault_response(fault, api_req, t)
        if failed is None:  # RESET (processed) and HANG: no response reaches the client.
            return None, record(None, fault.kind.value.upper(), True, processed)
        resp, code = failed
        if fault.retry_after is not None:
            resp.headers.append(("Retry-After", f"{fault.retry_after:g}"))
        return resp, record(resp.status, code, True, processed)

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
        method = req.method.upper()
        path = unquote(req.raw_path)
        fault = self._pick_fault(method, path)
        total = self._latency_for(path).sample(self._lat_rng)
        up = total * self.up_fraction
        down = total - up

        def lost(code: str) -> RequestRecord:
            return RequestRecord(
                number=number,
                arrival=sent,
                wall_time=self.wall_clock(sent),
                method=method,
                path=path,
                query=urlencode([(k, v) for k, v in parse_qsl(req.query_string) if k != "apikey"]),
                status=None,
                error_code=code,
                accepted=False,
                fault=None if fault is None else fault.kind.value,
                arrived=False,
                sent=sent,
            )

        if fault is not None and fault.kind is FaultKind.RESET and not fault.is_processed:
            await _sleep(up)
            self.log.append(lost("RESET"))
            raise ConnectionReset(processed=False)
        if read_timeout is not None and up >= read_timeout:
            await _sleep(read_timeout)
            self.log.append(lost("TIMEOUT"))
            raise ResponseTimeout()
        await _sleep(up)
        response, rec = self._arrive(req, fault, self.now(), number, sent)
        self.log.append(rec)
        if response is not None and fault is not None and fault.kind in _hostile.KINDS:
            response = _hostile.apply(response, fault, self._fault_rng)
        if response is None:
            assert fault is not None
            if fault.kind is FaultKind.RESET:
                await _sleep(down)
                raise ConnectionReset(processed=True)
            if read_timeout is None:
                await anyio.sleep_forever()
            else:
                await _sleep(max(0.0, sent + read_timeout - self.now()))
            raise ResponseTimeout()
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

    # -- observation ------------------------------------------------------------------------
    def max_in_window(
        self, window: float | None = None, *, accepted_only: bool = True, lane: str | None = None
    ) -> int:
        """Most arrivals in any half-open window ``[t, t + window)`` (default: ``self.window``).

        ``lane=None`` counts client and foreign arrivals alike (what the server sees);
        ``lane="client"`` only ours.  Requests that never arrived are ignored.
        """
        times = [
            r.arrival
            for r in self.log
            if r.arrived and (r.accepted or not accepted_only) and (lane is None or r.lane == lane)
        ]
        return max_in_window(times, self.window if window is None else window)

    def max_sent_in_window(self, window: float | None = None) -> int:
        """Most of the client's requests *sent* in any window ``[t, t + window)``.

        What the client controls; arrivals differ from it by the jitter of the request leg.
        """
        sent = [r.sent for r in self.log if r.sent is not None]
        return max_in_window(sent, self.window if window is None else window)

    def counts_by_status(self, lane: str | None = "client") -> Counter[int | None]:
        """``Counter`` of HTTP statuses (``None`` = no response) in the log."""
        return Counter(r.status for r in self.log if lane is None or r.lane == lane)

    def counts_by_error_code(self, lane: str | None = "client") -> Counter[str]:
        """``Counter`` of error codes (gateway, application and fault codes) in the log."""
        return Counter(
            r.error_code for r in self.log if r.error_code and (lane is None or r.lane == lane)
        )

    def client_log(self) -> list[RequestRecord]:
        """The log without foreign arrivals."""
        return [r for r in self.log if r.lane == "client"]

    def reset_log(self) -> None:
        """Forget the log (governance state is kept)."""
        self.log.clear()


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """Most of ``times`` in any half-open window ``[t, t + window)`` (the gateway's rule).

    Times are quantised to integer nanoseconds, as the gateway does.
    """
    ns = sorted(round(t * _NS) for t in times)
    w = round(window * _NS)
    best = lo = 0
    for hi, t in enumerate(ns):
        while ns[lo] + w <= t:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _report_fault(fault: Fault | None) -> FaultKind | None:
    """The kind of ``fault`` if it answers a report as still running, else ``None``."""
    return fault.kind if fault is not None and fault.kind in REPORT_FAULTS else None


def _damage(body: bytes, fault: Fault, content_type: str) -> bytes:
    if fault.kind is FaultKind.LEADING_WHITESPACE:
        return b"\r\n   " + body
    if fault.kind in (FaultKind.SHORT_PAGE, FaultKind.NO_LIST):
        return _shorten(body, drop_list=fault.kind is FaultKind.NO_LIST)
    if fault.kind is FaultKind.TRUNCATED:
        return body[: int(len(body) * fault.truncate_at)]
    if b":" in body and "json" in content_type:
        return body.replace(b":", b"=", 1)
    if b"</" in body:
        return body.replace(b"</", b"</!", 1)
    return b"\x00" + body + b"{"


def _shorten(body: bytes, *, drop_list: bool) -> bytes:
    """A JSON list page without the second half of its list (or without the list)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    for key, value in data.items():
        if isinstance(value, list) and value:
            if drop_list:
                del data[key]
            else:
                data[key] = value[: len(value) // 2]
            return json.dumps(data).encode()
    return body

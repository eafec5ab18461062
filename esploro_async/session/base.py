"""`BaseClient`: the one place that sends.

Every higher layer (pagination, resources, bulk operations) calls `BaseClient.request`,
so governance, retries and error mapping live here only. One request is resolved once into
a frozen `RequestOptions`, then sent as a loop of attempts; each attempt holds a
governance slot while it is on the wire, and ends in a response or a `Failure`
(`esploro_async.session.outcomes` holds the tables that decide which):

```text
request ─► options ─► attempt 1 ─► [slot ─► quota ─► permit ─► send ─► record] ─► done / retry?
                      attempt 2 ─► ...
```
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx
from typing_extensions import Unpack

from esploro_async._clock import current_time
from esploro_async.errors import ConfigurationError, DailyQuotaExhaustedError
from esploro_async.governance.core import Governance
from esploro_async.governance.lanes import LANES, Lane, current_lane
from esploro_async.governance.protocol import Attempt, GovernanceProtocol, ResponseInfo
from esploro_async.governance.registry import (
    Sharer,
    acquire_shared,
    check_institution,
    gateway_identity,
    release_shared,
)
from esploro_async.governance.settings import GovernanceSettings
from esploro_async.pagination.speculation import ListingTotals
from esploro_async.retry import IDEMPOTENT_METHODS, RetryPolicy
from esploro_async.session.bodies import BodyUnreadable, read_body
from esploro_async.session.config import (
    Format,
    gateway_from_env,
    key_fingerprint,
    resolve_api_key,
    resolve_base_url,
    tls_context,
)
from esploro_async.session.deadlines import AttemptDeadlines
from esploro_async.session.headers import ACCEPT, BodyAndHeaders
from esploro_async.session.options import (
    ClientOptions,
    check_byte_limit,
    check_governance,
    check_options,
    check_timeout,
)
from esploro_async.session.outcomes import (
    TRANSPORT_ERRORS,
    Answer,
    Failure,
    retry_delay,
    transport_rule,
)
from esploro_async.session.paths import full_path, query_of, quote_segment, url_of
from esploro_async.session.request_options import RequestOptions, attempt_deadline
from esploro_async.session.response import EsploroResponse, GatewayHeaders
from esploro_async.tracing import RequestTrace, on_the_wire, start_request_trace, throttle_kind

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "DEFAULT_TIMEOUT", "BaseClient", "quote_segment"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
"""60 s to read a response, 10 s to connect, 60 s for a whole attempt (the longest part).

Each read, and the attempt as a whole, is bounded: a server trickling bytes cannot
stretch an attempt past the deadline. Waiting for a permit never counts.
"""

DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""The largest response body read (64 MiB, counted after decompression)."""

_Client = TypeVar("_Client", bound="BaseClient")
_GOVERNANCE_SETTINGS = (
    "rate_limit",
    "allow_above_threshold",
    "safety_margin",
    "max_in_flight",
    "daily_reserve",
    "on_quota_exhausted",
    "batch_reserve",
)
_log = logging.getLogger("esploro_async.http")


class BaseClient:
    """An authenticated, governed HTTP session for one Esploro institution.

    See `esploro_async.EsploroClient` for the arguments; this class holds the
    request path and lifecycle, the subclass adds the API areas.
    """

    def __init__(self, api_key: str | None = None, **options: Unpack[ClientOptions]) -> None:
        check_options(type(self).__name__, options)
        fmt = options.get("format", "json")
        if fmt not in ACCEPT:
            raise ConfigurationError(f"format must be 'json' or 'xml', not {fmt!r}")
        region, base_url = gateway_from_env(*_one_of(options, "region", "base_url"))
        http_client, transport = _one_of(options, "http_client", "transport")
        verify = tls_context(options.get("verify"), given_client=http_client is not None)
        lane = options.get("lane", "interactive")
        if lane not in LANES:
            raise ConfigurationError(f"lane must be 'interactive' or 'batch', not {lane!r}")
        self.max_response_bytes: int = check_byte_limit(
            options.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
        )
        self.lane: Lane = lane
        self._api_key = resolve_api_key(api_key)
        self._bodies = BodyAndHeaders(self._api_key)
        self.base_url: str = resolve_base_url(region, base_url)
        self.format: Format = fmt
        self.lang: str | None = options.get("lang")
        self.retry: RetryPolicy = options.get("retry") or RetryPolicy()
        self._fingerprint = key_fingerprint(self._api_key)
        self._release: weakref.finalize[Any, Any] | None = None
        self.governance: GovernanceProtocol = self._governance(options)
        timeout = check_timeout(options.get("timeout", DEFAULT_TIMEOUT))
        self._owns_http = http_client is None
        if http_client is None:
            pool = self.governance.max_in_flight
            http_client = httpx.AsyncClient(
                transport=transport,
                verify=True if verify is None else verify,  # True: httpx's default
                timeout=timeout,
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                follow_redirects=False,
                headers=self._bodies.by_format[fmt],
            )
            # An owned client sends the headers of the client's format by itself.
            self._bodies.sent_by_default = fmt
        self._http: httpx.AsyncClient = http_client
        self._attempt_deadline = attempt_deadline(http_client.timeout)
        self._deadlines = AttemptDeadlines()
        self._closed = False
        #: The total each listing (endpoint and query) reported last: a listing of the same
        #: query speculates no further (`esploro_async.pagination.speculation`).
        self.listing_totals: ListingTotals = ListingTotals()

    def _governance(self, options: ClientOptions) -> GovernanceProtocol:
        """The governance given, or the process's shared one for this institution (or,
        unnamed, this gateway and key)."""
        local_settings: dict[str, Any] = {name: options.get(name) for name in _GOVERNANCE_SETTINGS}
        governance = options.get("governance")
        institution = options.get("institution")
        self.institution: str | None = (
            None if institution is None else check_institution(institution)
        )
        if governance is not None:
            check_governance(governance, local_settings)
            other = getattr(governance, "institution", None)
            if institution is not None and other is not None and other != institution:
                raise ConfigurationError(
                    f"institution={institution!r} but the governance given is {other!r}'s"
                )
            return governance
        settings = GovernanceSettings.build(**local_settings)
        shared, shared_key = acquire_shared(
            Sharer(gateway_identity(self.base_url), self._fingerprint, self.institution),
            settings,
            lambda: Governance.local(settings),
        )
        # Released by aclose(), or when an unclosed client is garbage-collected.
        self._release = weakref.finalize(self, release_shared, shared_key)
        return shared

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, key=<sha256:{self._fingerprint}>)"
        )

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (if this client created it) and release governance."""
        if self._closed:
            return
        self._closed = True
        if self._release is not None:
            self._release()  # once: an unclosed client releases when garbage-collected
        if self._owns_http:
            await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        format: Format | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        idempotent: bool | None = None,
        lane: Lane | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> EsploroResponse:
        """Send one API request under governance, with retries, and return its checked response.

        Args:
            method: HTTP method.
            path: ``/esploro/v1/...`` (or any gateway path), or a path relative to
                ``/esploro/v1/`` such as ``"researchers"``; a query in it is kept.
            params: query parameters; ``None`` values are dropped. Merged into a query in
                ``path`` (where both name a key, this value is sent).
            json: a JSON body (sent as ``application/json``).
            content: a raw body, e.g. XML (``Content-Type`` follows ``format``).
            format: ``"json"`` or ``"xml"`` for this request (default: the client's).
            headers: extra headers (``Authorization`` and ``Accept`` are set here).
            retry: a policy for this request instead of the client's.
            idempotent: whether replaying the request is harmless; default: true for
                GET, HEAD, PUT, DELETE, OPTIONS. Decides retries after ambiguous failures.
            lane: ``"interactive"`` or ``"batch"``; default: the surrounding `use_lane`
                block, else the client's ``lane``.
            timeout: this request's timeout (per attempt) instead of the client's.

        Raises:
            APIError: or a subclass, when the API answered with an error.
            DailyQuotaExhaustedError: at the daily threshold or the configured reserve.
            APIConnectionError: when no response arrived.
            ResponseFormatError: when a success body cannot be parsed.
            InvalidIdentifierError: the path has a ``.``/``..`` segment (also as ``%2e``);
                nothing was sent.
        """
        if self._closed:
            raise RuntimeError("this client is closed")
        method = method.upper()
        where = full_path(method, path)
        body, request_headers = self._bodies.build(format or self.format, headers, json, content)
        options = RequestOptions(
            method=method,
            path=where,
            params=query_of(params, self.lang),
            content=body,
            headers=request_headers,
            lane=lane or current_lane() or self.lane,
            retry=retry or self.retry,
            idempotent=method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
            timeout=timeout,
            deadline=self._deadline(timeout),
        )
        trace = start_request_trace(method, options.path, options.lane)  # None: not traced
        if trace is None:
            return await self._attempts(options)
        try:
            response = await self._attempts(options, trace)
        except BaseException as exc:
            trace.end(exc)
            raise
        trace.end()
        return response

    def _deadline(self, timeout: httpx.Timeout | float | None) -> float | None:
        """The whole-attempt deadline of a request with ``timeout`` (``None``: the client's)."""
        if timeout is None:
            return self._attempt_deadline
        return attempt_deadline(httpx.Timeout(timeout))

    async def _attempts(
        self, options: RequestOptions, trace: RequestTrace | None = None
    ) -> EsploroResponse:
        """The attempts of one request, until a response, or an error not to retry."""
        started = current_time()
        attempt_no = 0
        counted = 0
        while True:
            attempt_no += 1
            result = await self._attempt(options, attempt_no, trace)
            if isinstance(result, EsploroResponse):
                return result
            if trace is not None and (kind := throttle_kind(result.error)) is not None:
                trace.throttled(kind)
            if result.kind == "quota_wait":
                continue  # governance holds the next attempt until the reset
            counted += 1
            delay = retry_delay(result, options, counted, started)
            if delay is None:
                raise result.error
            _log.info(
                "%s; retrying in %.2f s (attempt %d of %d)",
                result.error,
                delay,
                counted + 1,
                options.retry.max_attempts,
            )
            if delay > 0:
                await anyio.sleep(delay)

    async def _attempt(
        self, options: RequestOptions, attempt_no: int, trace: RequestTrace | None
    ) -> EsploroResponse | Failure:
        """One attempt: a governance slot, the exchange, and what governance learns of it."""
        if trace is not None:
            trace.waiting(attempt_no)
        async with self.governance.attempt(retry=attempt_no > 1, lane=options.lane) as slot:
            if trace is not None:
                trace.sending(attempt_no)
            request = self._http.build_request(
                options.method,
                url_of(self.base_url, options.path, options.params),
                content=options.content,
                headers=options.headers,
                timeout=httpx.USE_CLIENT_DEFAULT if options.timeout is None else options.timeout,
            )
            sent_at = current_time()
            try:
                exchange = self._exchange_in_time(request, options.deadline)
                response, content, gateway = await (
                    exchange if trace is None else on_the_wire(trace, exchange)
                )
            except TRANSPORT_ERRORS as exc:
                rule = transport_rule(exc)
                await slot.record(ResponseInfo(status_code=None, sent=rule.sent))
                return rule.failure(options, exc)
            return await self._check(
                slot, options, Answer.read(response, content, gateway), attempt_no, sent_at
            )

    async def _exchange_in_time(
        self, request: httpx.Request, deadline: float | None
    ) -> tuple[httpx.Response, bytes | str, GatewayHeaders]:
        """`_exchange` within ``deadline`` seconds (`TimeoutError` past it; ``None``: none)."""
        if deadline is None:
            return await self._exchange(request)
        watched = self._deadlines.watch(deadline)
        if watched is None:
            with anyio.fail_after(deadline):
                return await self._exchange(request)
        try:
            result = await self._exchange(request)
        except BaseException as exc:
            self._deadlines.release(watched, exc)
            raise
        self._deadlines.release(watched, None)
        return result

    async def _exchange(
        self, request: httpx.Request
    ) -> tuple[httpx.Response, bytes | str, GatewayHeaders]:
        """Send ``request`` and read its body; a body that cannot be read gives the reason."""
        response = await self._http.send(request, stream=True)
        try:
            gateway = GatewayHeaders.read(response.headers)
            content: bytes | str = await read_body(
                response,
                self.max_response_bytes,
                (gateway.content_encoding, gateway.content_length),
            )
        except BodyUnreadable as exc:
            content = exc.problem
        except BaseException:
            with anyio.CancelScope(shield=True):
                await response.aclose()
            raise
        if not response.is_closed:  # a body read whole has closed its response already
            await response.aclose()
        return response, content, gateway

    async def _check(
        self,
        slot: Attempt,
        options: RequestOptions,
        answer: Answer,
        attempt_no: int,
        sent_at: float,
    ) -> EsploroResponse | Failure:
        """Tell governance what ``answer`` says, then judge it."""
        await slot.record(answer.info(options.retry.retry_after_cap))
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "%s %s -> %d in %.3f s (attempt %d, remaining %s)",
                options.method,
                options.path,
                answer.status,
                current_time() - sent_at,
                attempt_no,
                answer.gateway.remaining,
            )
        if answer.usable:
            return answer.success(options, attempt_no, sent_at)
        return answer.failure(options) or self._daily_threshold(answer)

    def _daily_threshold(self, answer: Answer) -> Failure:
        snapshot = self.governance.snapshot()
        remaining = answer.gateway.remaining
        error = DailyQuotaExhaustedError(
            "the gateway refused the request: daily quota exhausted (429 DAILY_THRESHOLD); "
            f"it resets at {snapshot.quota_resets_at.isoformat()}",
            remaining=remaining if remaining is not None else 0,
            reserve=snapshot.daily_reserve,
            resets_at=snapshot.quota_resets_at,
            status_code=429,
            tracking_id=answer.tracking_id,
        )
        waits = self.governance.on_quota_exhausted == "wait"
        return Failure(error, "quota_wait" if waits else "final")


def _one_of(options: ClientOptions, first: str, second: str) -> tuple[Any, Any]:
    """The values of two options that exclude each other (`ConfigurationError` if both are set)."""
    one, other = options.get(first), options.get(second)
    if one is not None and other is not None:
        raise ConfigurationError(f"pass {first} or {second}, not both")
    return one, other

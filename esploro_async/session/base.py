"""`BaseClient`: the one place that sends.

Every higher layer (pagination, resources, bulk operations) calls `BaseClient.request`,
so governance, retries and error mapping live here only. One request is a loop
of attempts; each attempt holds a governance slot while it is on the wire:

```text
request ─► attempt 1 ─► [slot ─► quota ─► permit ─► send ─► record] ─► done / retry?
            attempt 2 ─► ...
```
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import weakref
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import quote, unquote

import anyio
import attrs
import httpx
from typing_extensions import Unpack

from esploro_async._clock import current_time
from esploro_async._version import __version__
from esploro_async.errors import (
    ConfigurationError,
    ConnectionFailedError,
    ConnectionLostError,
    DailyQuotaExhaustedError,
    EsploroError,
    InvalidIdentifierError,
    NotFoundError,
    RequestTimeoutError,
    ResponseFormatError,
)
from esploro_async.governance.core import PER_SECOND_THRESHOLD, Governance
from esploro_async.governance.lanes import LANES, Lane, current_lane
from esploro_async.governance.protocol import Attempt, GovernanceProtocol, ResponseInfo
from esploro_async.governance.quota import DAILY_THRESHOLD
from esploro_async.governance.registry import (
    Sharer,
    acquire_shared,
    check_institution,
    gateway_identity,
    release_shared,
)
from esploro_async.governance.settings import GovernanceSettings
from esploro_async.retry import IDEMPOTENT_METHODS, RetryPolicy
from esploro_async.session.bodies import (
    BodyUnreadable,
    ParsedBody,
    parse_body,
    read_body,
    truncate,
)
from esploro_async.session.config import (
    Format,
    gateway_from_env,
    key_fingerprint,
    resolve_api_key,
    resolve_base_url,
    tls_context,
)
from esploro_async.session.options import ClientOptions, check_options
from esploro_async.session.response import EsploroResponse, GatewayHeaders, api_error
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
_ACCEPT = {"json": "application/json", "xml": "application/xml"}
_ACCEPT_ENCODING = "gzip, deflate"  # what `read_body` decodes with a bounded output
_log = logging.getLogger("esploro_async.http")
# Python 3.11+: asyncio's own timeout, used when the loop is asyncio's.
_asyncio_timeout: Callable[[float], AbstractAsyncContextManager[object]] | None = getattr(
    asyncio, "timeout", None
)


def quote_segment(value: str) -> str:
    """Percent-encode ``value`` for use as one path segment (ids, codes)."""
    return quote(str(value), safe="")


def _has_dot_segment(path: str) -> bool:
    """Whether a ``/``-separated path has a ``.``/``..`` segment, raw or percent-encoded."""
    if "." not in path and "%" not in path:
        return False  # no dot, raw or encoded (the usual path): nothing to decode
    for part in path.split("/"):
        decoded = part
        for _ in range(4):
            if decoded in (".", ".."):
                return True
            step = unquote(decoded)
            if step == decoded:
                break
            decoded = step
        if "/" in decoded and _has_dot_segment(decoded):
            return True
    return False


@attrs.frozen
class _Failure:
    """A failed attempt and how it may be retried.

    ``kind``: ``throttled`` (429 per second: retry any method, governance paces it),
    ``unsent`` (connection failed: retry any method), ``ambiguous`` (may have been
    processed: retry idempotent methods only), ``quota_wait`` (daily threshold in
    wait mode: try again after the reset), ``final`` (never retried).
    """

    error: EsploroError
    kind: Literal["throttled", "unsent", "ambiguous", "quota_wait", "final"]
    retry_after: float | None = None
    status_code: int | None = None


class BaseClient:
    """An authenticated, governed HTTP session for one Esploro institution.

    See `esploro_async.EsploroClient` for the arguments; this class holds the
    request path and lifecycle, the subclass adds the API areas.
    """

    def __init__(self, api_key: str | None = None, **options: Unpack[ClientOptions]) -> None:
        check_options(type(self).__name__, options)
        fmt = options.get("format", "json")
        lane = options.get("lane", "interactive")
        if fmt not in _ACCEPT:
            raise ConfigurationError(f"format must be 'json' or 'xml', not {fmt!r}")
        region, base_url = options.get("region"), options.get("base_url")
        if region is not None and base_url is not None:
            raise ConfigurationError("pass region or base_url, not both")
        region, base_url = gateway_from_env(region, base_url)
        http_client, transport = options.get("http_client"), options.get("transport")
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        verify = tls_context(options.get("verify"), given_client=http_client is not None)
        if lane not in LANES:
            raise ConfigurationError(f"lane must be 'interactive' or 'batch', not {lane!r}")
        self.max_response_bytes: int = _byte_limit(
            options.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
        )
        self.lane: Lane = lane
        self._api_key = resolve_api_key(api_key)
        self._base_headers = {
            fmt: {
                "User-Agent": f"esploro-async/{__version__}",
                "Accept": accept,
                "Accept-Encoding": _ACCEPT_ENCODING,
                "Authorization": f"apikey {self._api_key}",
            }
            for fmt, accept in _ACCEPT.items()
        }
        self.base_url: str = resolve_base_url(region, base_url)
        self.format: Format = fmt
        self.lang: str | None = options.get("lang")
        self.retry: RetryPolicy = options.get("retry") or RetryPolicy()
        self._fingerprint = key_fingerprint(self._api_key)
        self._release: weakref.finalize[Any, Any] | None = None
        self.governance: GovernanceProtocol = self._governance(options)
        timeout = _check_timeout(options.get("timeout", DEFAULT_TIMEOUT))
        self._owns_http = http_client is None
        # The headers an owned client sends by itself: a request in the client's format
        # without extra headers passes none (httpx merges each one it is given, slowly).
        self._sent_by_default: Format | None = None
        if http_client is None:
            pool = self.governance.max_in_flight
            http_client = httpx.AsyncClient(
                transport=transport,
                verify=True if verify is None else verify,  # True: httpx's default
                timeout=timeout,
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                follow_redirects=False,
                headers=self._base_headers[fmt],
            )
            self._sent_by_default = fmt
        self._http = http_client
        self._attempt_deadline = _attempt_deadline(http_client.timeout)
        self._closed = False

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
            _check_governance(governance, local_settings)
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
                ``/esploro/v1/`` such as ``"researchers"``.
            params: query parameters; ``None`` values are dropped.
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
        fmt = format or self.format
        full_path = path if path.startswith("/") else f"/esploro/v1/{path}"
        if _has_dot_segment(full_path.split("?", 1)[0]):
            raise InvalidIdentifierError(
                f"refusing {method} {full_path!r}: a '.'/'..' segment could resolve to "
                "another endpoint"
            )
        body, request_headers = self._body_and_headers(fmt, headers, json, content)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if self.lang is not None:
            query.setdefault("lang", self.lang)
        policy = retry or self.retry
        replayable = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        chosen: Lane = lane or current_lane() or self.lane
        trace = start_request_trace(method, full_path, chosen)  # None: not traced
        if trace is None:
            return await self._attempts(
                method, full_path, query, body, request_headers, chosen, policy, replayable, timeout
            )
        try:
            response = await self._attempts(
                method, full_path, query, body, request_headers, chosen, policy, replayable,
                timeout, trace,
            )  # fmt: skip
        except BaseException as exc:
            trace.end(exc)
            raise
        trace.end()
        return response

    async def _attempts(
        self,
        method: str,
        full_path: str,
        query: Mapping[str, Any],
        body: bytes | None,
        request_headers: Mapping[str, str] | None,
        chosen: Lane,
        policy: RetryPolicy,
        replayable: bool,
        timeout: httpx.Timeout | float | None,
        trace: RequestTrace | None = None,
    ) -> EsploroResponse:
        """The attempts of one request, until a response, or an error not to retry."""
        started = current_time()
        attempt_no = 0
        counted = 0
        while True:
            attempt_no += 1
            result = await self._attempt(
                method, full_path, query, body, request_headers, attempt_no, chosen, policy,
                timeout, trace,
            )  # fmt: skip
            if isinstance(result, EsploroResponse):
                return result
            if trace is not None and (kind := throttle_kind(result.error)) is not None:
                trace.throttled(kind)
            if result.kind == "quota_wait":
                continue  # governance holds the next attempt until the reset
            counted += 1
            delay = self._retry_delay(result, policy, counted, replayable, started)
            if delay is None:
                raise result.error
            _log.info(
                "%s; retrying in %.2f s (attempt %d of %d)",
                result.error,
                delay,
                counted + 1,
                policy.max_attempts,
            )
            if delay > 0:
                await anyio.sleep(delay)

    def _body_and_headers(
        self, fmt: Format, extra: Mapping[str, str] | None, json: Any, content: bytes | str | None
    ) -> tuple[bytes | None, dict[str, str] | None]:
        """The body to send and the headers to pass with it (``None``: the client's own)."""
        headers = self._headers(fmt, extra)
        if json is not None:
            if content is not None:
                raise ValueError("pass json or content, not both")
            body = jsonlib.dumps(json, ensure_ascii=False).encode()
            return body, _content_type(headers, "application/json", replace=True)
        if content is None:
            return None, headers
        body = content.encode() if isinstance(content, str) else content
        return body, _content_type(headers, _ACCEPT[fmt], replace=False)

    def _headers(self, fmt: Format, extra: Mapping[str, str] | None) -> dict[str, str] | None:
        """The headers to pass with a request; ``None`` when the http client sends them."""
        base = self._base_headers[fmt]
        if not extra:
            return None if fmt == self._sent_by_default else dict(base)
        # A caller may set its own User-Agent, never Accept, Accept-Encoding or Authorization,
        # in whatever case it spells them (one name in two cases would send both values).
        headers = {"User-Agent": base["User-Agent"]}
        for name, value in extra.items():
            lowered = name.lower()
            if lowered == "user-agent":
                headers["User-Agent"] = value
            elif lowered not in _FIXED_HEADERS:
                headers[name] = value
        for name in ("Accept", "Accept-Encoding", "Authorization"):
            headers[name] = base[name]
        return headers

    def _retry_delay(
        self,
        failure: _Failure,
        policy: RetryPolicy,
        attempts: int,
        replayable: bool,
        started: float,
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up."""
        if failure.kind == "final" or attempts >= policy.max_attempts:
            return None
        if failure.kind == "ambiguous" and not replayable:
            return None
        status = failure.status_code
        if status is not None and status >= 500 and status not in policy.retry_statuses:
            return None
        if failure.retry_after is not None and failure.retry_after > policy.retry_after_cap:
            return None
        if failure.kind == "throttled":
            delay = 0.0  # governance pauses every sender; the permit waits
        else:
            delay = max(policy.backoff(attempts), failure.retry_after or 0.0)
        if policy.deadline is not None and current_time() - started + delay > policy.deadline:
            return None
        return delay

    async def _attempt(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any],
        body: bytes | None,
        headers: Mapping[str, str] | None,
        attempt_no: int,
        lane: Lane,
        policy: RetryPolicy,
        timeout: httpx.Timeout | float | None = None,
        trace: RequestTrace | None = None,
    ) -> EsploroResponse | _Failure:
        if trace is not None:
            trace.waiting(attempt_no)
        async with self.governance.attempt(retry=attempt_no > 1, lane=lane) as slot:
            if trace is not None:
                trace.sending(attempt_no)
            request = self._http.build_request(
                method,
                self.base_url + path,
                params=query,
                content=body,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
            deadline = (
                self._attempt_deadline
                if timeout is None
                else _attempt_deadline(httpx.Timeout(timeout))
            )
            sent_at = current_time()
            try:
                exchange = self._exchange_in_time(request, deadline)
                response, content = await (
                    exchange if trace is None else on_the_wire(trace, exchange)
                )
            except TimeoutError:
                await slot.record(ResponseInfo(status_code=None))
                return _Failure(
                    RequestTimeoutError(
                        f"{method} {path}: no complete response within "
                        f"{deadline:g} s (the attempt's deadline)",
                        method=method,
                        path=path,
                    ),
                    "ambiguous",
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                await slot.record(ResponseInfo(status_code=None, sent=False))
                return _Failure(
                    ConnectionFailedError(
                        _transport_message(method, path, exc), method=method, path=path
                    ),
                    "unsent",
                )
            except httpx.TimeoutException as exc:
                await slot.record(ResponseInfo(status_code=None))
                return _Failure(
                    RequestTimeoutError(
                        _transport_message(method, path, exc), method=method, path=path
                    ),
                    "ambiguous",
                )
            except (httpx.UnsupportedProtocol, httpx.ProxyError) as exc:
                await slot.record(ResponseInfo(status_code=None, sent=False))
                raise ConfigurationError(_transport_message(method, path, exc)) from None
            except httpx.TransportError as exc:
                await slot.record(ResponseInfo(status_code=None))
                return _Failure(
                    ConnectionLostError(
                        _transport_message(method, path, exc), method=method, path=path
                    ),
                    "ambiguous",
                )
            return await self._check(
                slot, response, content, method, path, attempt_no, sent_at, policy
            )

    async def _exchange_in_time(
        self, request: httpx.Request, deadline: float | None
    ) -> tuple[httpx.Response, bytes | str]:
        """`_exchange` within ``deadline`` seconds (`TimeoutError` past it; ``None``: none)."""
        if deadline is None:
            return await self._exchange(request)
        if _asyncio_timeout is not None and _on_asyncio():
            async with _asyncio_timeout(deadline):  # a fifth of the cost of an anyio scope
                return await self._exchange(request)
        with anyio.fail_after(deadline):
            return await self._exchange(request)

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes | str]:
        """Send ``request`` and read its body; a body that cannot be read gives the reason."""
        response = await self._http.send(request, stream=True)
        try:
            content: bytes | str = await read_body(response, self.max_response_bytes)
        except BodyUnreadable as exc:
            content = exc.problem
        except BaseException:
            with anyio.CancelScope(shield=True):
                await response.aclose()
            raise
        if not response.is_closed:  # a body read whole has closed its response already
            await response.aclose()
        return response, content

    async def _check(
        self,
        slot: Attempt,
        response: httpx.Response,
        content: bytes | str,
        method: str,
        path: str,
        attempt_no: int,
        sent_at: float,
        policy: RetryPolicy,
    ) -> EsploroResponse | _Failure:
        status = response.status_code
        gateway = GatewayHeaders.read(response.headers)
        if isinstance(content, str):  # too large or undecodable: what it said is unknown
            body = ParsedBody("text", None, valid=False, problem=content)
            content = b""
        else:
            body = parse_body(content, gateway.content_type)
        remaining = gateway.remaining
        code = body.errors[0].code if body.errors else None
        if status == 429 and code != DAILY_THRESHOLD:
            code = PER_SECOND_THRESHOLD  # an unlabelled 429 is treated as the per-second one
        retry_after = gateway.retry_after
        await slot.record(
            ResponseInfo(
                status_code=status,
                error_code=code,
                remaining=remaining,
                server_date=gateway.date,
                # A pause longer than this request would wait is never imposed on others.
                retry_after=_within(retry_after, policy.retry_after_cap),
            )
        )
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "%s %s -> %d in %.3f s (attempt %d, remaining %s)",
                method,
                path,
                status,
                current_time() - sent_at,
                attempt_no,
                remaining,
            )
        if 200 <= status < 300:
            unusable = _unusable_success(status, body, method, path)
            if unusable is not None:
                return unusable
            if not body.errors_exist:
                return EsploroResponse(
                    status_code=status,
                    headers=response.headers,
                    content=content,
                    data=body.data,
                    quota_remaining=remaining,
                    attempts=attempt_no,
                    method=method,
                    path=path,
                    elapsed=current_time() - sent_at,
                )
        if code == DAILY_THRESHOLD:
            return self._daily_threshold(
                body.errors[0].tracking_id if body.errors else None, remaining
            )
        error = api_error(
            status,
            body,
            method=method,
            path=path,
            quota_remaining=remaining,
            headers=response.headers,
        )
        if status == 429:
            return _Failure(error, "throttled", retry_after)
        if status >= 500 and not isinstance(error, NotFoundError):
            return _Failure(error, "ambiguous", retry_after, status)
        return _Failure(error, "final")

    def _daily_threshold(self, tracking_id: str | None, remaining: int | None) -> _Failure:
        snapshot = self.governance.snapshot()
        error = DailyQuotaExhaustedError(
            "the gateway refused the request: daily quota exhausted (429 DAILY_THRESHOLD); "
            f"it resets at {snapshot.quota_resets_at.isoformat()}",
            remaining=remaining if remaining is not None else 0,
            reserve=snapshot.daily_reserve,
            resets_at=snapshot.quota_resets_at,
            status_code=429,
            tracking_id=tracking_id,
        )
        waits = self.governance.on_quota_exhausted == "wait"
        return _Failure(error, "quota_wait" if waits else "final")


def _check_governance(governance: object, local_settings: Mapping[str, object]) -> None:
    """Refuse a governance object that lacks what the client reads, or settings beside it."""
    if not isinstance(governance, GovernanceProtocol):
        raise ConfigurationError(
            "governance must implement esploro_async.governance.GovernanceProtocol "
            "(attempt, snapshot, aclose, max_in_flight, on_quota_exhausted); "
            f"got {type(governance).__name__}"
        )
    given = [name for name, value in local_settings.items() if value is not None]
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} configure the default governance; with governance=... "
            "set them on that object instead"
        )


def _transport_message(method: str, path: str, exc: Exception) -> str:
    detail = truncate(str(exc)) or type(exc).__name__
    return f"{method} {path}: {type(exc).__name__}: {detail}"


def _unusable_success(status: int, body: ParsedBody, method: str, path: str) -> _Failure | None:
    """A 2xx whose body is not an API answer: the request was processed (or not), unknown."""
    if body.kind == "html":
        problem = (
            "with an HTML page instead of an API answer (a proxy, login or maintenance page? "
            "check base_url); the request may not have been processed"
        )
    elif not body.valid:
        problem = f"but the body could not be read ({body.problem}); the request was processed"
    else:
        return None
    return _Failure(
        ResponseFormatError(
            f"{method} {path}: HTTP {status} {problem}",
            method=method,
            path=path,
            status_code=status,
        ),
        "ambiguous",
    )


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_FIXED_HEADERS = frozenset({"accept", "accept-encoding", "authorization"})


def _content_type(
    headers: Mapping[str, str] | None, value: str, *, replace: bool
) -> dict[str, str]:
    """``headers`` with one ``Content-Type``: ``value``, or the caller's unless ``replace``.

    Names are compared whatever their case: one name in two cases would send both values.
    """
    merged = dict(headers or {})
    given = [name for name in merged if name.lower() == "content-type"]
    if given and not replace:
        return merged
    for name in given:
        del merged[name]
    merged["Content-Type"] = value
    return merged


def _check_timeout(value: object) -> httpx.Timeout | float | None:
    """``value`` if it is a usable timeout, else `ConfigurationError` (it would fail every
    request): a number of seconds > 0, an ``httpx.Timeout`` whose parts are, or ``None``."""
    if value is None:
        return None
    if isinstance(value, httpx.Timeout):
        parts = {
            "connect": value.connect,
            "read": value.read,
            "write": value.write,
            "pool": value.pool,
        }
        for name, part in parts.items():
            if part is not None and not part > 0:
                raise ConfigurationError(
                    f"timeout.{name} must be a number of seconds > 0 or None, got {part!r}"
                )
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(
            "timeout must be a number of seconds > 0, an httpx.Timeout, or None for no "
            f"timeout, got {value!r}"
        )
    return value


def _byte_limit(value: object) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) and value > 0):
        raise ConfigurationError(f"max_response_bytes must be a positive int, not {value!r}")
    return value


def _within(retry_after: float | None, cap: float) -> float | None:
    """``retry_after`` if it is at most ``cap``, else ``None`` (no shared pause from it)."""
    return retry_after if retry_after is not None and retry_after <= cap else None


def _attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """The whole-attempt deadline: the longest of the connect, write and read timeouts.

    ``None`` (no deadline) when reads are not timed out either.
    """
    if timeout.read is None:
        return None
    return max(t for t in (timeout.connect, timeout.write, timeout.read) if t is not None)

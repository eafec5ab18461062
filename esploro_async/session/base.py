"""`BaseClient`: the one place that sends.

Every higher layer (pagination, resources, bulk operations) calls `BaseClient.request`,
so governance, retries and error mapping live here only. One request is a loop
of attempts; each attempt holds a governance slot while it is on the wire::

    request ─► attempt 1 ─► [slot ─► quota ─► permit ─► send ─► record] ─► done / retry?
                attempt 2 ─► ...
"""

from __future__ import annotations

import json as jsonlib
import logging
import weakref
from collections.abc import Mapping
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
    RequestTimeoutError,
    ResponseFormatError,
)
from esploro_async.governance.core import PER_SECOND_THRESHOLD, Governance
from esploro_async.governance.lanes import LANES, Lane, current_lane
from esploro_async.governance.protocol import Attempt, GovernanceProtocol, ResponseInfo
from esploro_async.governance.quota import DAILY_THRESHOLD
from esploro_async.governance.registry import acquire_shared, release_shared
from esploro_async.retry import IDEMPOTENT_METHODS, RetryPolicy
from esploro_async.session.bodies import parse_body
from esploro_async.session.config import (
    Format,
    key_fingerprint,
    resolve_api_key,
    resolve_base_url,
)
from esploro_async.session.options import ClientOptions, check_options
from esploro_async.session.response import EsploroResponse, GatewayHeaders, api_error

__all__ = ["DEFAULT_TIMEOUT", "BaseClient", "quote_segment"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
"""60 s to read a response, 10 s to connect. Waiting for a permit never counts."""

_Client = TypeVar("_Client", bound="BaseClient")
_GOVERNANCE_SETTINGS = (
    "rate_limit",
    "safety_margin",
    "max_in_flight",
    "daily_reserve",
    "on_quota_exhausted",
    "batch_reserve",
)
_ACCEPT = {"json": "application/json", "xml": "application/xml"}
_log = logging.getLogger("esploro_async.http")


def quote_segment(value: str) -> str:
    """Percent-encode ``value`` for use as one path segment (ids, codes)."""
    return quote(str(value), safe="")


def _has_dot_segment(path: str) -> bool:
    """Whether a ``/``-separated path has a ``.``/``..`` segment, raw or percent-encoded."""
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
        http_client, transport = options.get("http_client"), options.get("transport")
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        if lane not in LANES:
            raise ConfigurationError(f"lane must be 'interactive' or 'batch', not {lane!r}")
        self.lane: Lane = lane
        self._api_key = resolve_api_key(api_key)
        self._base_headers = {
            fmt: {
                "User-Agent": f"esploro-async/{__version__}",
                "Accept": accept,
                "Authorization": f"apikey {self._api_key}",
            }
            for fmt, accept in _ACCEPT.items()
        }
        self.base_url = resolve_base_url(region, base_url)
        self.format: Format = fmt
        self.lang = options.get("lang")
        self.retry = options.get("retry") or RetryPolicy()
        self._fingerprint = key_fingerprint(self._api_key)
        self._release: weakref.finalize[Any, Any] | None = None
        self.governance = self._governance(options)
        timeout = options.get("timeout", DEFAULT_TIMEOUT)
        self._owns_http = http_client is None
        if http_client is None:
            pool = self.governance.max_in_flight
            http_client = httpx.AsyncClient(
                transport=transport,
                timeout=timeout,
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                follow_redirects=False,
            )
        self._http = http_client
        self._timeout = timeout
        self._closed = False

    def _governance(self, options: ClientOptions) -> GovernanceProtocol:
        """The governance given, or the process's shared one for this gateway and key."""
        local_settings = {name: options.get(name) for name in _GOVERNANCE_SETTINGS}
        governance = options.get("governance")
        if governance is not None:
            _check_governance(governance, local_settings)
            return governance
        rate_limit = options.get("rate_limit")
        safety_margin = options.get("safety_margin")
        max_in_flight = options.get("max_in_flight")
        effective = {
            "rate_limit": 25.0 if rate_limit is None else float(rate_limit),
            "safety_margin": 0.10 if safety_margin is None else safety_margin,
            "max_in_flight": 64 if max_in_flight is None else max_in_flight,
            "daily_reserve": options.get("daily_reserve") or 0,
            "on_quota_exhausted": options.get("on_quota_exhausted") or "raise",
            "batch_reserve": options.get("batch_reserve"),
        }
        shared, shared_key = acquire_shared(
            (self.base_url, self._fingerprint),
            tuple(effective.items()),
            lambda: Governance.local(**effective),  # type: ignore[arg-type]
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
        request_headers = self._headers(fmt, headers)
        body: bytes | None = None
        if json is not None:
            if content is not None:
                raise ValueError("pass json or content, not both")
            body = jsonlib.dumps(json, ensure_ascii=False).encode()
            request_headers["Content-Type"] = "application/json"
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
            request_headers.setdefault("Content-Type", _ACCEPT[fmt])
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if self.lang is not None:
            query.setdefault("lang", self.lang)
        policy = retry or self.retry
        replayable = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        chosen: Lane = lane or current_lane() or self.lane
        started = current_time()
        attempt_no = 0
        counted = 0
        while True:
            attempt_no += 1
            result = await self._attempt(
                method, full_path, query, body, request_headers, attempt_no, chosen, timeout
            )
            if isinstance(result, EsploroResponse):
                return result
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

    def _headers(self, fmt: Format, extra: Mapping[str, str] | None) -> dict[str, str]:
        base = self._base_headers[fmt]
        if not extra:
            return dict(base)
        # A caller may set its own User-Agent, never Accept or Authorization.
        return {
            "User-Agent": base["User-Agent"],
            **extra,
            "Accept": base["Accept"],
            "Authorization": base["Authorization"],
        }

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
        headers: Mapping[str, str],
        attempt_no: int,
        lane: Lane,
        timeout: httpx.Timeout | float | None = None,
    ) -> EsploroResponse | _Failure:
        async with self.governance.attempt(retry=attempt_no > 1, lane=lane) as slot:
            request = self._http.build_request(
                method,
                self.base_url + path,
                params=query,
                content=body,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
            sent_at = current_time()
            try:
                response = await self._http.send(request)
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
                raise ConfigurationError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
            except httpx.TransportError as exc:
                await slot.record(ResponseInfo(status_code=None))
                return _Failure(
                    ConnectionLostError(
                        _transport_message(method, path, exc), method=method, path=path
                    ),
                    "ambiguous",
                )
            return await self._check(slot, response, method, path, attempt_no, sent_at)

    async def _check(
        self,
        slot: Attempt,
        response: httpx.Response,
        method: str,
        path: str,
        attempt_no: int,
        sent_at: float,
    ) -> EsploroResponse | _Failure:
        status = response.status_code
        gateway = GatewayHeaders.read(response.headers)
        body = parse_body(response.content, gateway.content_type)
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
                retry_after=retry_after,
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
            if not body.valid:
                return _Failure(
                    ResponseFormatError(
                        f"{method} {path}: HTTP {status} but the body could not be read "
                        f"({body.problem}); the request was processed",
                        method=method,
                        path=path,
                        status_code=status,
                    ),
                    "ambiguous",
                )
            if not body.errors_exist:
                return EsploroResponse(
                    status_code=status,
                    headers=response.headers,
                    content=response.content,
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
        error = api_error(status, body, method=method, path=path, quota_remaining=remaining)
        if status == 429:
            return _Failure(error, "throttled", retry_after)
        if status >= 500:
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
    detail = str(exc) or type(exc).__name__
    return f"{method} {path}: {type(exc).__name__}: {detail}"

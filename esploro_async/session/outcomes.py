"""What one attempt came to: a response, or a `Failure` that says whether to try again.

Two tables decide it. `TRANSPORT_RULES` maps each exception the transport raises (or the
attempt's deadline) to an error, a retry kind and whether the request left the host;
`Answer.outcome` reads a response's status and body the same way. `retry_delay` then
applies the request's `RetryPolicy` to the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs
import httpx

from esploro_async._clock import current_time
from esploro_async.errors import (
    ConfigurationError,
    ConnectionFailedError,
    ConnectionLostError,
    EsploroError,
    NotFoundError,
    RequestTimeoutError,
    ResponseFormatError,
)
from esploro_async.governance.core import PER_SECOND_THRESHOLD
from esploro_async.governance.protocol import ResponseInfo
from esploro_async.governance.quota import DAILY_THRESHOLD
from esploro_async.session.bodies import ParsedBody, parse_body, truncate
from esploro_async.session.request_options import RequestOptions
from esploro_async.session.response import EsploroResponse, GatewayHeaders, api_error

__all__ = [
    "TRANSPORT_ERRORS",
    "TRANSPORT_RULES",
    "Answer",
    "Failure",
    "FailureKind",
    "TransportRule",
    "retry_delay",
    "transport_rule",
]

FailureKind = Literal["throttled", "unsent", "ambiguous", "quota_wait", "final"]


@attrs.frozen
class Failure:
    """A failed attempt and how it may be retried.

    ``kind``: ``throttled`` (429 per second: retry any method, governance paces it),
    ``unsent`` (connection failed: retry any method), ``ambiguous`` (may have been
    processed: retry idempotent methods only), ``quota_wait`` (daily threshold in
    wait mode: try again after the reset), ``final`` (never retried).
    """

    error: EsploroError
    kind: FailureKind
    retry_after: float | None = None
    status_code: int | None = None


# -- the transport's exceptions ----------------------------------------------------------


def _message(options: RequestOptions, exc: BaseException) -> str:
    detail = truncate(str(exc)) or type(exc).__name__
    return f"{options.where}: {type(exc).__name__}: {detail}"


def _past_deadline(options: RequestOptions, _exc: BaseException) -> EsploroError:
    return RequestTimeoutError(
        f"{options.where}: no complete response within {options.deadline:g} s "
        "(the attempt's deadline)",
        method=options.method,
        path=options.path,
    )


def _raised_as(
    cls: type[ConnectionFailedError | ConnectionLostError | RequestTimeoutError],
) -> Callable[[RequestOptions, BaseException], EsploroError]:
    def build(options: RequestOptions, exc: BaseException) -> EsploroError:
        return cls(_message(options, exc), method=options.method, path=options.path)

    return build


def _misconfigured(options: RequestOptions, exc: BaseException) -> EsploroError:
    return ConfigurationError(_message(options, exc))


@attrs.frozen
class TransportRule:
    """How an attempt that raised one of ``raised`` ends.

    ``kind`` is the failure's retry kind, or ``None`` for an error raised at once (the
    client cannot work as configured); ``sent`` is what governance is told: ``False`` when
    the request provably never left.
    """

    raised: tuple[type[BaseException], ...]
    error: Callable[[RequestOptions, BaseException], EsploroError]
    kind: FailureKind | None
    sent: bool

    def failure(self, options: RequestOptions, exc: BaseException) -> Failure:
        """The failure of the attempt (raises the error itself when ``kind`` is ``None``)."""
        error = self.error(options, exc)
        if self.kind is None:
            raise error from None
        return Failure(error, self.kind)


TRANSPORT_RULES = (
    TransportRule((TimeoutError,), _past_deadline, "ambiguous", sent=True),
    TransportRule(
        (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout),
        _raised_as(ConnectionFailedError),
        "unsent",
        sent=False,
    ),
    TransportRule((httpx.TimeoutException,), _raised_as(RequestTimeoutError), "ambiguous", True),
    TransportRule((httpx.UnsupportedProtocol, httpx.ProxyError), _misconfigured, None, False),
    TransportRule((httpx.TransportError,), _raised_as(ConnectionLostError), "ambiguous", True),
)
"""First match wins: the attempt's deadline, then httpx's errors from the most specific."""

TRANSPORT_ERRORS = (TimeoutError, httpx.TransportError)
"""Every exception some rule of `TRANSPORT_RULES` maps."""


def transport_rule(exc: BaseException) -> TransportRule:
    """The first rule of `TRANSPORT_RULES` for ``exc`` (one of `TRANSPORT_ERRORS`)."""
    return next(rule for rule in TRANSPORT_RULES if isinstance(exc, rule.raised))


# -- responses -----------------------------------------------------------------------------


@attrs.frozen
class Answer:
    """A response as the session judges it: its status, gateway headers and parsed body."""

    response: httpx.Response
    content: bytes
    gateway: GatewayHeaders
    body: ParsedBody
    code: str | None

    @classmethod
    def read(
        cls, response: httpx.Response, content: bytes | str, gateway: GatewayHeaders | None = None
    ) -> Answer:
        """Parse ``content`` (a str: the reason the body could not be read); ``gateway``:
        the response's headers when read already."""
        if gateway is None:
            gateway = GatewayHeaders.read(response.headers)
        if isinstance(content, str):  # too large or undecodable: what it said is unknown
            body = ParsedBody("text", None, valid=False, problem=content)
            content = b""
        else:
            body = parse_body(content, gateway.content_type)
        code = body.errors[0].code if body.errors else None
        if response.status_code == 429 and code != DAILY_THRESHOLD:
            code = PER_SECOND_THRESHOLD  # an unlabelled 429 is treated as the per-second one
        return cls(response, content, gateway, body, code)

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self.response.status_code

    @property
    def daily_threshold(self) -> bool:
        """Whether the gateway refused the request at the daily threshold."""
        return self.code == DAILY_THRESHOLD

    @property
    def tracking_id(self) -> str | None:
        """The first error's tracking id, if the body lists errors."""
        return self.body.errors[0].tracking_id if self.body.errors else None

    def info(self, retry_after_cap: float) -> ResponseInfo:
        """What governance learns from it."""
        return ResponseInfo(
            status_code=self.status,
            error_code=self.code,
            remaining=self.gateway.remaining,
            server_date=self.gateway.date,
            # A pause longer than this request would wait is never imposed on others.
            retry_after=_within(self.gateway.retry_after, retry_after_cap),
        )

    def success(self, options: RequestOptions, attempt_no: int, sent_at: float) -> EsploroResponse:
        """The response handed to the caller."""
        return EsploroResponse(
            status_code=self.status,
            headers=self.response.headers,
            content=self.content,
            data=self.body.data,
            quota_remaining=self.gateway.remaining,
            attempts=attempt_no,
            method=options.method,
            path=options.path,
            elapsed=current_time() - sent_at,
        )

    @property
    def usable(self) -> bool:
        """Whether it is a success to hand to the caller: a 2xx with an API answer, no errors."""
        body = self.body
        return (
            200 <= self.status < 300
            and body.kind != "html"
            and body.valid
            and not body.errors_exist
        )

    def failure(self, options: RequestOptions) -> Failure | None:
        """How the attempt failed, unless it was `usable` or refused at the daily threshold
        (``None``: governance's mode decides what that refusal is)."""
        status = self.status
        if 200 <= status < 300 and (unusable := _unusable_success(status, self.body, options)):
            return unusable
        if self.daily_threshold:
            return None
        error = api_error(
            status,
            self.body,
            method=options.method,
            path=options.path,
            quota_remaining=self.gateway.remaining,
            headers=self.response.headers,
        )
        retry_after = self.gateway.retry_after
        if status == 429:
            return Failure(error, "throttled", retry_after)
        if status >= 500 and not isinstance(error, NotFoundError):
            return Failure(error, "ambiguous", retry_after, status)
        return Failure(error, "final")


def _unusable_success(status: int, body: ParsedBody, options: RequestOptions) -> Failure | None:
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
    return Failure(
        ResponseFormatError(
            f"{options.where}: HTTP {status} {problem}",
            method=options.method,
            path=options.path,
            status_code=status,
        ),
        "ambiguous",
    )


def _within(retry_after: float | None, cap: float) -> float | None:
    """``retry_after`` if it is at most ``cap``, else ``None`` (no shared pause from it)."""
    return retry_after if retry_after is not None and retry_after <= cap else None


# -- retrying ------------------------------------------------------------------------------


def retry_delay(
    failure: Failure, options: RequestOptions, attempts: int, started: float
) -> float | None:
    """Seconds to wait before attempt ``attempts + 1``, or ``None`` to give up."""
    policy = options.retry
    if not _may_retry(failure, options, attempts):
        return None
    if failure.kind == "throttled":
        delay = 0.0  # governance pauses every sender; the permit waits
    else:
        delay = max(policy.backoff(attempts), failure.retry_after or 0.0)
    if policy.deadline is not None and current_time() - started + delay > policy.deadline:
        return None
    return delay


def _may_retry(failure: Failure, options: RequestOptions, attempts: int) -> bool:
    policy = options.retry
    if failure.kind == "final" or attempts >= policy.max_attempts:
        return False
    if failure.kind == "ambiguous" and not options.idempotent:
        return False
    status = failure.status_code
    if status is not None and status >= 500 and status not in policy.retry_statuses:
        return False
    return failure.retry_after is None or failure.retry_after <= policy.retry_after_cap

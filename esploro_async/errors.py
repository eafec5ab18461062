"""Exceptions raised by esploro-async.

Every exception the library raises on purpose derives from `EsploroError`:

```text
EsploroError
├── ConfigurationError          bad settings: no API key, unknown region, http to a remote
├── BriefRecordError            a brief list record would be written back whole (PUT)
├── PatchFormatError            asset patch fields that cannot travel in one body format
├── InvalidIdentifierError      an id or path part that could leave its endpoint (``..``,
│                               ``%2e``, empty), or an ORCID with a wrong checksum
├── JobFailedError              a configuration job ended FAILED or COMPLETED_FAILED
│   └── JobAbortedError         ... or was aborted (USER_ABORTED, SYSTEM_ABORTED)
├── JobManualHandlingError      a job stayed MANUAL_HANDLING_REQUIRED: a person must act
├── JobWaitTimeoutError         a job wait passed its deadline (the job may still run)
├── ReportNotFinishedError      an analytics report never said ``IsFinished=true``
├── ReportTokenExpiredError     420033 "No more rows to fetch": restart the report
├── DailyQuotaExhaustedError    429 DAILY_THRESHOLD, or the daily reserve is reached
│   └── InsufficientQuotaError  a harvest would not finish above the reserve (refused up front)
├── RedisUnavailableError       the shared governance store (Redis) cannot be reached
├── ResponseFormatError         a success response whose body is unreadable, too large or HTML
│   └── IncompletePageError     a page stayed short of what its total says is there
├── UnresolvedDriftError        the data kept changing under a harvest: records may be missing
├── APIConnectionError          no HTTP response at all
│   ├── ConnectionFailedError   the connection failed: the request was not sent
│   ├── RequestTimeoutError     no response in time: the request may have been processed
│   └── ConnectionLostError     the connection broke mid-exchange: it may have been processed
└── APIError                    the API answered with an error status or an error body
    ├── BadRequestError         400 and any other 4xx not listed below
    ├── AuthenticationError     400 UNAUTHORIZED, 401, 403 INVALID_REQUEST / FORBIDDEN
    │   └── WrongHostError      an HTML 401 page: the base URL is not the API gateway
    ├── NotFoundError           404, or a "not found" error code whatever the status
    ├── RateLimitError          429 PER_SECOND_THRESHOLD, still there after every retry
    └── ServerError             5xx
        └── ServiceUnavailableError   503 or ROUTING_ERROR: maintenance or gateway trouble
```

No exception message, repr or attribute ever holds the API key.

Renamed in 0.2 (the old names clashed with httpx's or lacked the ``Error`` suffix); the old
names still import, with a ``DeprecationWarning``, until 0.3: ``DailyQuotaExhausted``,
``RequestTimeout``, ``TransportError``, ``ConnectError``, ``NetworkError``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime

import attrs

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BriefRecordError",
    "ConfigurationError",
    "ConnectionFailedError",
    "ConnectionLostError",
    "DailyQuotaExhaustedError",
    "ErrorDetail",
    "EsploroError",
    "IncompletePageError",
    "InsufficientQuotaError",
    "InvalidIdentifierError",
    "JobAbortedError",
    "JobFailedError",
    "JobManualHandlingError",
    "JobWaitTimeoutError",
    "NotFoundError",
    "PatchFormatError",
    "RateLimitError",
    "RedisUnavailableError",
    "ReportNotFinishedError",
    "ReportTokenExpiredError",
    "RequestTimeoutError",
    "ResponseFormatError",
    "ServerError",
    "ServiceUnavailableError",
    "UnresolvedDriftError",
    "WrongHostError",
]


@attrs.frozen
class ErrorDetail:
    """One entry of an Ex Libris ``errorList``.

    ``code`` is a string: a numeric business code (``"401861"``) or a gateway
    word (``"UNAUTHORIZED"``). ``tracking_id`` is what Ex Libris support asks for.
    """

    code: str | None
    message: str | None
    tracking_id: str | None = None


class EsploroError(Exception):
    """Base class of every exception raised by esploro-async."""


class ConfigurationError(EsploroError, ValueError):
    """The client was configured in a way that cannot work (raised before any request)."""


class DailyQuotaExhaustedError(EsploroError):
    """No request may be sent until the daily quota resets.

    Raised when the gateway answers 429 ``DAILY_THRESHOLD`` (``status_code`` is 429),
    or before sending, when the quota estimate has reached the configured
    ``daily_reserve`` (``status_code`` is ``None``: nothing was sent). Never retried.

    Attributes:
        remaining: the quota estimate when it was raised (``None`` if unknown).
        reserve: the configured floor that was protected.
        resets_at: when the quota resets (next midnight GMT by default), timezone-aware.
        status_code: 429 when the gateway refused, ``None`` when the client refused.
        tracking_id: the gateway's tracking id, when it refused.
    """

    def __init__(
        self,
        message: str,
        *,
        remaining: int | None,
        reserve: int,
        resets_at: datetime,
        status_code: int | None = None,
        tracking_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.remaining = remaining
        self.reserve = reserve
        self.resets_at = resets_at
        self.status_code = status_code
        self.tracking_id = tracking_id


class InsufficientQuotaError(DailyQuotaExhaustedError):
    """A harvest would need more requests than the daily quota has above the reserve.

    Raised by a stream before it fetches anything beyond its first page, unless it was told
    to run until the reserve and stop. ``needed`` is the number of requests still required.
    """

    def __init__(
        self,
        message: str,
        *,
        needed: int,
        remaining: int | None,
        reserve: int,
        resets_at: datetime,
    ) -> None:
        super().__init__(message, remaining=remaining, reserve=reserve, resets_at=resets_at)
        self.needed = needed


class BriefRecordError(EsploroError, ValueError):
    """A whole-entity PUT was refused because the record is a brief list item.

    The API's PUT is swap-all: a brief record (from a list) written back would reset every
    field it lacks. Fetch the full record first (``get``), or pass ``force=True``.
    """


class PatchFormatError(EsploroError, ValueError):
    """An asset patch asks for fields that cannot travel in one body format.

    ``identifier.*`` fields can only be patched in XML and ``temporary.linksToExtract`` only
    in JSON: send them in two ``patch`` calls.
    """


class InvalidIdentifierError(EsploroError, ValueError):
    """An id or path part was refused before anything was sent.

    Ids are sent percent-encoded as one path segment, so ``/``, ``?`` and ``#`` cannot
    change the URL. What is refused is what a server could still resolve to another
    endpoint: an empty id, ``.`` or ``..`` (also inside ``a/../b``, and percent-encoded as
    ``%2e``, which RFC 3986 servers decode to ``.``), and ORCIDs whose checksum is wrong.
    """


class JobFailedError(EsploroError):
    """A configuration job instance ended without doing its work.

    Raised by ``wait_for`` for ``FAILED`` and ``COMPLETED_FAILED``, and (as the subclass
    `JobAbortedError`) for ``USER_ABORTED`` and ``SYSTEM_ABORTED``.

    Attributes:
        instance: the finished `esploro_async.models.JobInstance`, with its status,
            alerts and counters.
    """

    def __init__(self, message: str, *, instance: object) -> None:
        super().__init__(message)
        self.instance = instance


class JobAbortedError(JobFailedError):
    """A job instance was aborted: ``USER_ABORTED`` (someone stopped it in Alma/Esploro) or
    ``SYSTEM_ABORTED`` (the platform stopped it). Run it again once the cause is known."""


class JobManualHandlingError(EsploroError):
    """A job instance stayed ``MANUAL_HANDLING_REQUIRED`` longer than the wait allows.

    The job neither continues nor ends by itself: a person must open it in Alma/Esploro
    (Monitor Jobs) and resolve it. Nothing was cancelled; wait again afterwards.

    Attributes:
        instance: the last polled `esploro_async.models.JobInstance`.
        waited: seconds the instance was seen needing manual handling.
    """

    def __init__(self, message: str, *, instance: object, waited: float) -> None:
        super().__init__(message)
        self.instance = instance
        self.waited = waited


class JobWaitTimeoutError(EsploroError):
    """A job wait reached its deadline before the instance ended.

    The job was not cancelled and may still run: wait again with the same instance.

    Attributes:
        instance: the last polled `esploro_async.models.JobInstance` (``None`` if none).
        deadline: the deadline in seconds.
    """

    def __init__(self, message: str, *, instance: object, deadline: float) -> None:
        super().__init__(message)
        self.instance = instance
        self.deadline = deadline


class ReportNotFinishedError(EsploroError):
    """An analytics report kept answering ``IsFinished=false`` with no rows.

    The reports API answers ``IsFinished=false`` with an empty ``<ResultXml/>`` while the
    query still runs; the stream follows the resumption token a bounded number of times
    and then raises this instead of returning a silently short report.

    Attributes:
        path: the report's catalog path.
        rows: how many rows were delivered before giving up.
        empty_pages: how many empty unfinished pages in a row were seen.
    """

    def __init__(self, message: str, *, path: str, rows: int, empty_pages: int) -> None:
        super().__init__(message)
        self.path = path
        self.rows = rows
        self.empty_pages = empty_pages


class ReportTokenExpiredError(EsploroError):
    """The report's resumption token is used up or expired (API error ``420033``, "No more
    rows to fetch"): the rest of the report cannot be read with it.

    Nothing can resume the read: run the report again from the start (a new stream without
    a token). The rows already read were delivered; ``rows`` says how many.

    Attributes:
        path: the report's catalog path.
        rows: the rows delivered before the token ran out.
        tracking_id: the gateway's tracking id.
    """

    def __init__(self, message: str, *, path: str, rows: int, tracking_id: str | None) -> None:
        super().__init__(message)
        self.path = path
        self.rows = rows
        self.tracking_id = tracking_id


class RedisUnavailableError(EsploroError):
    """The shared governance store (Redis) could not be reached; nothing was sent.

    Raised by the institution-wide backend when ``fallback="error"`` (the default). Pass
    ``fallback="local"`` to keep going at a conservative local rate instead.
    """


class ResponseFormatError(EsploroError):
    """A success response whose body is not a usable API answer.

    It could not be parsed as JSON or XML, nests deeper than the parser allows, is larger
    than the client's ``max_response_bytes`` (counted after decompression), or is an HTML
    page (a proxy, login or maintenance page answering for the API).
    """

    def __init__(self, message: str, *, method: str, path: str, status_code: int) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status_code = status_code


class IncompletePageError(ResponseFormatError):
    """A page came back with fewer records than its total says are there, every time.

    A stream reads such a page again a few times before it raises this; nothing of the
    page was handed out, and the stream's checkpoint is still exact: resume from it later.

    Attributes:
        path: the endpoint harvested.
        offset: the page's offset.
        expected: the records the total says the page holds.
        received: the records it held the last time.
    """

    def __init__(
        self, message: str, *, path: str, offset: int, expected: int, received: int
    ) -> None:
        super().__init__(message, method="GET", path=path, status_code=200)
        self.offset = offset
        self.expected = expected
        self.received = received


class UnresolvedDriftError(EsploroError):
    """Records kept moving during a harvest, through every round of re-reads.

    Raised after every record the stream could read was handed out: some records that
    existed throughout may still be missing. Harvest again when the data is quieter.

    Attributes:
        path: the endpoint harvested.
        total: the last total reported.
    """

    def __init__(self, message: str, *, path: str, total: int) -> None:
        super().__init__(message)
        self.path = path
        self.total = total


class APIConnectionError(EsploroError):
    """No HTTP response was received.

    Attributes:
        method, path: the request that failed (path without the query string).
        sent: ``False`` when the request provably never reached the gateway.
    """

    sent: bool = True

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class ConnectionFailedError(APIConnectionError):
    """The connection could not be established; the request was not sent."""

    sent = False


class RequestTimeoutError(APIConnectionError):
    """No response arrived in time. The request may have been processed.

    Time spent waiting for a rate permit never counts toward this timeout.
    """


class ConnectionLostError(APIConnectionError):
    """The connection broke during the exchange. The request may have been processed."""


class APIError(EsploroError):
    """The API answered with an error.

    Attributes:
        status_code: the HTTP status (200 when a success status carried ``errorsExist``).
        error_code: the first error's code, e.g. ``"PER_SECOND_THRESHOLD"`` or ``"401861"``.
        message: the first error's message, or a description of the body.
        tracking_id: the first error's tracking id (quote it to Ex Libris support).
        errors: every error listed in the body.
        quota_remaining: ``X-Exl-Api-Remaining`` on that response, if present.
        method, path: the request (path without the query string).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: Sequence[ErrorDetail] = (),
        quota_remaining: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors = tuple(errors)
        first = self.errors[0] if self.errors else None
        self.error_code = first.code if first else None
        self.message = message
        self.tracking_id = first.tracking_id if first else None
        self.quota_remaining = quota_remaining
        self.method = method
        self.path = path


class BadRequestError(APIError):
    """HTTP 400 (other than ``UNAUTHORIZED``), or another 4xx without a class of its own."""


class AuthenticationError(APIError):
    """The key is unknown, lacks permission for this API area, or belongs to another environment.

    The gateway says so with HTTP 400 ``UNAUTHORIZED``, 401, or 403
    (``INVALID_REQUEST``/``FORBIDDEN``, e.g. a call from outside the key's allowed IP range).
    """


class WrongHostError(AuthenticationError):
    """The server answered with an HTML 401 page instead of an API response.

    This is what the institution's own domain (``*.alma.exlibrisgroup.com``, the Esploro
    portal) returns: point ``base_url``/``region`` at the API gateway instead.
    """


class NotFoundError(APIError):
    """No such researcher, asset, set, job, … (or no such path).

    Raised for HTTP 404 and for the error codes the API uses for unknown ids whatever the
    status: the real gateway answers an unknown researcher with HTTP **400** ``401861``
    (see ``esploro_async.session.response.NOT_FOUND_CODES``).
    """


class RateLimitError(APIError):
    """HTTP 429 ``PER_SECOND_THRESHOLD`` persisted through every retry.

    Also raised at once when the 429's ``Retry-After`` exceeds the policy's
    ``retry_after_cap``.

    Another integration of the institution is probably using the shared per-second budget.
    """


class ServerError(APIError):
    """HTTP 5xx."""


class ServiceUnavailableError(ServerError):
    """HTTP 503 or ``ROUTING_ERROR``: the gateway or institution is unavailable (maintenance)."""


#: Old name -> new name, for the deprecated aliases kept until 0.3.
DEPRECATED_NAMES = {
    "DailyQuotaExhausted": "DailyQuotaExhaustedError",
    "RequestTimeout": "RequestTimeoutError",
    "TransportError": "APIConnectionError",
    "ConnectError": "ConnectionFailedError",
    "NetworkError": "ConnectionLostError",
}


def deprecated_alias(name: str) -> type[EsploroError]:
    """The class behind a deprecated exception name, with a ``DeprecationWarning``."""
    new = DEPRECATED_NAMES[name]
    warnings.warn(
        f"esploro_async.{name} is deprecated; use {new} (the old name goes in 0.3)",
        DeprecationWarning,
        stacklevel=3,
    )
    cls: type[EsploroError] = globals()[new]
    return cls


def __getattr__(name: str) -> type[EsploroError]:
    if name in DEPRECATED_NAMES:
        return deprecated_alias(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

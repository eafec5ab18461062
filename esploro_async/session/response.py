"""`EsploroResponse` and the mapping of failed responses to exceptions."""

from __future__ import annotations

import functools
import math
import re
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from esploro_async._clock import parse_http_date
from esploro_async.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    ServiceUnavailableError,
    WrongHostError,
)
from esploro_async.session.bodies import ParsedBody

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = [
    "MALFORMED_ID_CODES",
    "NOT_FOUND_CODES",
    "NOT_FOUND_MESSAGE",
    "EsploroResponse",
    "GatewayHeaders",
    "api_error",
]

_AUTH_CODES = frozenset({"UNAUTHORIZED", "INVALID_REQUEST", "FORBIDDEN"})

NOT_FOUND_CODES: frozenset[str] = frozenset(
    {
        # Ex Libris codes for unknown ids, seen in public clients of the same gateway
        # (bodleian/almapy ``_ERROR_MAPPING``; NationalLibraryOfNorway/bikube
        # ``AlmaErrorCode``), answered with HTTP 400:
        "401861",  # "User with identifier X ... was not found" (researchers are users)
        "402203",  # MMS id (asset id) not found
        "401689",  # barcode not found
        "401823",  # loan not found
        # The simulator's codes for unknown assets and configuration objects (sets, jobs,
        # job instances, code tables, profiles, organizations); see esploro_async.testing.api:
        "402880",
        "402885",
    }
)
"""``errorCode`` values that mean "no such id": `NotFoundError` whatever the HTTP status."""

NOT_FOUND_MESSAGE = re.compile(r"\bnot found\b|^\s*no \w+(?: \w+)? found\b", re.IGNORECASE)
"""An ``errorMessage`` that says "not found" whatever its code: ``User with identifier X
was not found``, ``No items found for barcode 123.``, and the analytics API's unknown
report path, ``INTERNAL_SERVER_ERROR`` "Path not found (/shared/...)" sent as HTTP 500
(scriptotek/php-alma-client ``report_not_found_response.xml``). `NotFoundError`, never
retried."""

MALFORMED_ID_CODES: frozenset[str] = frozenset({"402204"})
"""``errorCode`` values of an id that cannot be one (``402204``: "... is not numeric"):
`BadRequestError`, never `NotFoundError` (the id is wrong in form, not unknown)."""


@attrs.frozen
class EsploroResponse:
    """A successful response, read and checked once.

    Attributes:
        status_code: the HTTP status (2xx).
        headers: the response headers.
        content: the raw body.
        data: the decoded JSON value, the XML root `Element`, or ``None`` (empty body).
        quota_remaining: ``X-Exl-Api-Remaining``, if present.
        attempts: how many attempts it took (1 = no retry).
        method, path: the request (path without the query string).
        elapsed: seconds from sending the last attempt to its response.
    """

    status_code: int
    headers: httpx.Headers
    content: bytes = attrs.field(repr=False)
    data: Any = attrs.field(repr=False)
    quota_remaining: int | None
    attempts: int
    method: str
    path: str
    elapsed: float = 0.0

    def json(self) -> Any:
        """The decoded JSON body (``None`` for an empty body)."""
        if _is_element(self.data):
            raise TypeError("this response is XML; use .xml()")
        return self.data

    def json_object(self) -> dict[str, Any]:
        """The decoded JSON body, which must be an object (`ResponseFormatError` otherwise)."""
        data = self.json()
        if not isinstance(data, dict):
            raise ResponseFormatError(
                f"{self.method} {self.path}: expected a JSON object, got {type(data).__name__}",
                method=self.method,
                path=self.path,
                status_code=self.status_code,
            )
        return data

    def xml(self) -> Element:
        """The XML root element (parsed with defusedxml)."""
        if not _is_element(self.data):
            raise TypeError("this response is not XML; use .json()")
        element: Element = self.data
        return element

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode("utf-8", errors="replace")


def _is_element(value: object) -> bool:
    """Whether ``value`` is an XML element; an element exists only once the XML parser
    was loaded, so a JSON client never loads it for this check."""
    etree = sys.modules.get("xml.etree.ElementTree")
    return etree is not None and isinstance(value, etree.Element)


@attrs.define(slots=True)
class GatewayHeaders:
    """The response headers the session and governance read, found in one pass.

    ``content_encoding`` and ``content_length`` are as `httpx.Headers.get` gives them
    (repeated headers joined by ``", "``); ``None`` when absent.
    """

    content_type: str = ""
    remaining: int | None = None
    date: datetime | None = None
    retry_after: float | None = None
    content_encoding: str | None = None
    content_length: str | None = None

    @classmethod
    def read(cls, headers: httpx.Headers) -> GatewayHeaders:
        """Pick ``Content-Type``, ``X-Exl-Api-Remaining``, ``Date``, ``Retry-After``,
        ``Content-Encoding`` and ``Content-Length``."""
        found: dict[bytes, str] = {}
        for name, raw in headers.raw:
            key = name.lower()
            if key in _WANTED:
                value = raw.decode("latin-1")
                if key in found and key in _JOINED:
                    value = f"{found[key]}, {value}"
                found[key] = value
        get = found.get
        remaining = get(b"x-exl-api-remaining")
        date = get(b"date")
        server_date = _parse_http_date(date) if date else None
        retry_after = get(b"retry-after")
        return cls(
            content_type=get(b"content-type", ""),
            remaining=None if remaining is None else _remaining(remaining),
            date=server_date,
            # an HTTP-date Retry-After is measured from the gateway's Date, not the host's clock
            retry_after=_retry_after(retry_after, server_date) if retry_after else None,
            content_encoding=get(b"content-encoding"),
            content_length=get(b"content-length"),
        )


_JOINED = frozenset({b"content-encoding", b"content-length"})
_WANTED = frozenset({b"content-type", b"x-exl-api-remaining", b"date", b"retry-after", *_JOINED})


# Beyond this an ``X-Exl-Api-Remaining`` is not a quota but a broken header.
_MAX_REMAINING = 10**12


def _remaining(value: str) -> int | None:
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not 0 <= number <= _MAX_REMAINING:  # also false for nan
        return None
    return int(number)


@functools.lru_cache(maxsize=16)  # the header changes once a second
def _parse_http_date(value: str) -> datetime | None:
    return parse_http_date(value)


def _retry_after(value: str, now: datetime | None = None) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        if when is None:
            return None
        return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
    return seconds if 0 <= seconds < math.inf else None


def api_error(
    status_code: int,
    body: ParsedBody,
    *,
    method: str,
    path: str,
    quota_remaining: int | None,
    headers: httpx.Headers | None = None,
) -> APIError:
    """The exception for an error response (``DAILY_THRESHOLD`` is handled by the caller)."""
    first = body.errors[0] if body.errors else None
    code = first.code if first else None
    where = f"{method} {path}"
    kwargs: dict[str, Any] = {
        "headers": headers,
        "status_code": status_code,
        "errors": body.errors,
        "quota_remaining": quota_remaining,
        "method": method,
        "path": path,
    }
    if body.kind == "html" and status_code == 401:
        return WrongHostError(
            f"{where}: HTTP 401 with an HTML page. The base URL points at a web server, not the "
            "Ex Libris API gateway (the institution's own domain answers like this): use "
            "region=... or base_url='https://api-XX.hosted.exlibrisgroup.com'",
            **kwargs,
        )
    cls, advice = _error_class(status_code, code, body)
    return cls(f"{where}: HTTP {status_code}{_describe(body, code)}{advice}", **kwargs)


_RATE_LIMITED = " (the per-second threshold persisted through every retry)"
_CHECK_THE_KEY = (
    ". Check that the key exists, belongs to this environment (sandbox vs production) "
    "and has permission for this API area (read or read/write)"
)
_MALFORMED_ID = ". The id is malformed (this kind of id is numeric): check what was passed"
_UNAVAILABLE = ". The gateway or institution is unavailable (maintenance?); try again later"


def _error_class(
    status_code: int, code: str | None, body: ParsedBody
) -> tuple[type[APIError], str]:
    """The exception class of an error answer, and the advice its message ends with."""
    if status_code == 429:
        return RateLimitError, _RATE_LIMITED
    if code in _AUTH_CODES or status_code in (401, 403):
        return AuthenticationError, _CHECK_THE_KEY
    if code in MALFORMED_ID_CODES:
        return BadRequestError, _MALFORMED_ID
    if _says_not_found(status_code, code, body):
        return NotFoundError, ""
    if status_code == 503 or code == "ROUTING_ERROR":
        return ServiceUnavailableError, _UNAVAILABLE
    if status_code >= 500:
        return ServerError, ""
    if 400 <= status_code < 500:
        return BadRequestError, ""
    return APIError, ""


def _says_not_found(status_code: int, code: str | None, body: ParsedBody) -> bool:
    if status_code == 404 or (code in NOT_FOUND_CODES and status_code < 500):
        return True
    message = body.errors[0].message if body.errors else None
    return bool(message and NOT_FOUND_MESSAGE.search(message))


def _describe(body: ParsedBody, code: str | None) -> str:
    if body.errors:
        first = body.errors[0]
        text = f" {code}: {first.message or '(no message)'}"
        if first.tracking_id:
            text += f" [tracking id {first.tracking_id}]"
        if len(body.errors) > 1:
            text += f" (+{len(body.errors) - 1} more)"
        return text
    if body.kind == "empty":
        return " with an empty body"
    if body.kind == "html":
        return " with an HTML page"
    if not body.valid:
        return f" with an unreadable body ({body.problem})"
    return ""

"""What every API area shares: the client, list options, the ``/test`` call.

`BriefRecordError` and `PatchFormatError` live in `esploro_async.errors` and are re-exported
here for convenience.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict, TypeVar

import attrs
import httpx

from esploro_async.errors import BriefRecordError, PatchFormatError
from esploro_async.models import Record
from esploro_async.pagination import Checkpoint, Drift, OffsetStream

if TYPE_CHECKING:
    from esploro_async.session.base import BaseClient
    from esploro_async.session.response import EsploroResponse

__all__ = [
    "ApiTestResult",
    "BriefRecordError",
    "PatchFormatError",
    "Resource",
    "StreamOptions",
    "Timeout",
]

RecordT = TypeVar("RecordT", bound=Record)

Timeout: TypeAlias = "httpx.Timeout | float | None"
"""A per-call ``timeout``: seconds or an `httpx.Timeout`; ``None`` keeps the client's."""


@attrs.frozen
class ApiTestResult:
    """The answer of an area's ``/test`` endpoint.

    ``GET .../test`` checks that the key may read the area, ``POST .../test`` that it may
    write; a key without the permission raises `AuthenticationError` instead.
    """

    path: str
    """The path called, e.g. ``/esploro/v1/researchers/test``."""
    write: bool
    """Whether the write permission was checked (``POST``)."""
    message: str | None
    """The API's message (e.g. ``"GET request successful"``), when it sent one."""
    quota_remaining: int | None
    """``X-Exl-Api-Remaining`` on the answer: the institution's daily quota left."""


class StreamOptions(TypedDict, total=False):
    """The optional keywords of every list method, passed on to `OffsetStream`.

    Each may be left out; an absent key takes the default given below.

    Attributes:
        page_size: records per request, 1 to 100 (default 100; a resumed stream keeps its
            checkpoint's).
        ordered: hand out records in source order (default ``True``), or pages as they
            complete.
        prefetch: pages in flight or buffered at most (default ``None``: as many in flight
            as the rate and the latency need, and besides them finished pages up to 1 MiB
            of responses, 16 to 64 pages).
        resume_from: a `Checkpoint` of an earlier harvest of the same query (default
            ``None``: from the start).
        on_insufficient_quota: ``"refuse"`` (default) to refuse a harvest that cannot finish
            above the daily reserve, or ``"run"`` until the reserve and stop there.
        reread_on_drift: re-read pages after the total changed (default ``True``), or only
            report it.
        on_drift: called with every `Drift` (default ``None``; they are kept in
            ``stream.drifts`` too).
        overlap: start each page on the last record of the page before (default ``True``),
            so that records deleted or inserted between two reads are noticed.
        speculate: pages after the first to request before any total is known (default
            ``None``: 8; 0 for none); once a response tells the total, the pages before it go
            on while the first page is in flight (`esploro_async.pagination.speculation`).
        remember_ids: ids kept to drop records handed out twice (default ``None``: all;
            N: the last N, in flat memory, for consumers that store by id).
    """

    page_size: int | None
    ordered: bool
    prefetch: int | None
    resume_from: Checkpoint | None
    on_insufficient_quota: Literal["refuse", "run"]
    reread_on_drift: bool
    on_drift: Callable[[Drift], object] | None
    overlap: bool
    speculate: int | None
    remember_ids: int | None


def json_object(response: EsploroResponse) -> dict[str, Any]:
    """The response's JSON body, which must be an object (`EsploroResponse.json_object`)."""
    return response.json_object()


def as_json_object(value: Record | Mapping[str, Any], what: str) -> dict[str, Any]:
    """A request body from a record or a mapping (a fresh copy)."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, Mapping):
        return Record.from_dict(value).to_dict()
    raise TypeError(f"{what} must be a record or a mapping, not {type(value).__name__}")


def flag(value: bool | None) -> str | None:
    """A boolean query parameter as the API spells it (``"true"``/``"false"``)."""
    if value is None:
        return None
    return "true" if value else "false"


class Resource:
    """One API area of a client (``client.researchers``, ``client.assets``, …)."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def _stream(
        self,
        path: str,
        list_key: str,
        wrap: Callable[[dict[str, Any]], RecordT],
        params: Mapping[str, Any],
        options: StreamOptions,
    ) -> OffsetStream[RecordT]:
        return OffsetStream(
            self._client, path, list_key=list_key, params=params, wrap=wrap, **options
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
        **kwargs: Any,
    ) -> EsploroResponse:
        """`BaseClient.request` with a resource method's ``extra_headers`` and ``timeout``."""
        return await self._client.request(
            method, path, headers=extra_headers, timeout=timeout, **kwargs
        )

    async def _get_object(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> dict[str, Any]:
        response = await self._request(
            "GET",
            path,
            params=params,
            format="json",
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return json_object(response)

    async def _area_test(
        self,
        path: str,
        *,
        write: bool,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> ApiTestResult:
        method = "POST" if write else "GET"
        # harmless to replay: the test endpoint changes nothing
        response = await self._request(
            method,
            path,
            format="json",
            idempotent=True,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        data = response.json()
        message = data.get("test") if isinstance(data, dict) else None
        return ApiTestResult(
            path=response.path,
            write=write,
            message=message if isinstance(message, str) else None,
            quota_remaining=response.quota_remaining,
        )

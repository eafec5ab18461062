"""What crosses the wire between a client and the simulated gateway, whatever carries it.

The runners (:class:`~esploro_async.testing.transport.SimTransport`, the loopback
:class:`~esploro_async.testing.server.SimServer`) speak to any :class:`Exchanger`, of which
:class:`~esploro_async.testing.gateway.SimulatedGateway` is the one this package provides.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Protocol

import attrs

__all__ = [
    "THRESHOLD_CODES",
    "ConnectionReset",
    "Exchanger",
    "RequestRecord",
    "ResponseTimeout",
    "SimRequest",
    "SimResponse",
]

THRESHOLD_CODES = frozenset({"PER_SECOND_THRESHOLD", "DAILY_THRESHOLD"})
"""The error codes of a 429: arrivals the gateway refused for a threshold (and still saw)."""


@attrs.frozen
class RequestRecord:
    """One observed request (or, with ``lane="foreign"``, a phantom foreign arrival).

    ``arrival`` is the monotonic arrival time (the send time if the request never
    arrived); ``wall_time`` the simulated wall clock then.  ``status`` is ``None`` when
    the client got no HTTP response (reset, hang, lost).  ``accepted`` means governance
    let the request through (it counted in the per-second window and the quota).
    ``key_fingerprint`` is a SHA-256 prefix of the API key, never the key.
    ``query`` is the query string without any ``apikey`` parameter.
    """

    number: int
    arrival: float
    wall_time: _dt.datetime
    method: str
    path: str
    query: str
    status: int | None
    error_code: str | None
    accepted: bool
    lane: str = "client"
    key_fingerprint: str | None = None
    fault: str | None = None
    arrived: bool = True
    processed: bool = False
    #: When the client sent it (monotonic); ``None`` for foreign arrivals.
    sent: float | None = None


@attrs.frozen
class SimRequest:
    """A transport-neutral HTTP request (``raw_path`` still percent-encoded)."""

    method: str
    raw_path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes = b""
    base_url: str = "http://esploro.localhost"


@attrs.frozen
class SimResponse:
    """A transport-neutral HTTP response.

    With ``stream`` the body is ``body`` followed by the stream's chunks, of a length
    not known in advance (sent without ``Content-Length``; read it once).
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    stream: AsyncIterable[bytes] | None = attrs.field(default=None, eq=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The whole body, chunk by chunk."""
        if self.body:
            yield self.body
        if self.stream is not None:
            async for chunk in self.stream:
                if chunk:
                    yield chunk


class ConnectionReset(Exception):
    """The simulated connection was reset; ``processed`` says if the request was applied."""

    def __init__(self, processed: bool) -> None:
        super().__init__("connection reset by peer")
        self.processed = processed


class ResponseTimeout(Exception):
    """No response before the client's read timeout."""


class Exchanger(Protocol):
    """What a runner needs of a gateway: one request in, one response (or failure) out."""

    async def exchange(self, req: SimRequest, *, read_timeout: float | None = None) -> SimResponse:
        """Answer ``req``, raising `ConnectionReset` or `ResponseTimeout` as the wire would."""
        ...

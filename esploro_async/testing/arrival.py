"""A client request as the simulated gateway reads it, and the log records it makes."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlencode

import attrs

from esploro_async.testing.faults import Fault
from esploro_async.testing.keys import fingerprint, key_of
from esploro_async.testing.wire import RequestRecord, SimRequest

__all__ = ["Arrival", "logged_query", "lost_record"]


def logged_query(query: Iterable[tuple[str, str]]) -> str:
    """The query string as logged: without any ``apikey`` parameter."""
    return urlencode([(k, v) for k, v in query if k != "apikey"])


def _split_path(raw_path: str) -> tuple[str, tuple[str, ...]]:
    """The decoded path and its decoded segments."""
    parts = tuple(unquote(p) for p in raw_path.split("/") if p)
    return unquote(raw_path), parts


@attrs.frozen
class Arrival:
    """A client request as the gateway reads it when it arrives, and how to log it."""

    number: int
    t: float
    sent: float | None
    method: str
    path: str
    segments: tuple[str, ...]
    query: list[tuple[str, str]]
    key: str | None
    fault: Fault | None
    wall_time: _dt.datetime

    @classmethod
    def read(
        cls,
        req: SimRequest,
        fault: Fault | None,
        t: float,
        number: int,
        sent: float | None,
        wall_time: _dt.datetime,
    ) -> Arrival:
        """Read request ``number`` arriving at monotonic ``t`` (``wall_time`` on the wall)."""
        query = parse_qsl(req.query_string, keep_blank_values=True)
        path, segments = _split_path(req.raw_path)
        return cls(
            number=number,
            t=t,
            sent=sent,
            method=req.method.upper(),
            path=path,
            segments=segments,
            query=query,
            key=key_of(req, query),
            fault=fault,
            wall_time=wall_time,
        )

    def record(
        self, status: int | None, code: str | None, accepted: bool, processed: bool = False
    ) -> RequestRecord:
        """The log line of this arrival with its outcome."""
        return RequestRecord(
            number=self.number,
            arrival=self.t,
            wall_time=self.wall_time,
            method=self.method,
            path=self.path,
            query=logged_query(self.query),
            status=status,
            error_code=code,
            accepted=accepted,
            key_fingerprint=fingerprint(self.key),
            fault=None if self.fault is None else self.fault.kind.value,
            processed=processed,
            sent=self.sent,
        )


def lost_record(
    req: SimRequest,
    fault: Fault | None,
    number: int,
    sent: float,
    wall_time: _dt.datetime,
    code: str,
) -> RequestRecord:
    """The record of request ``number``, sent at ``sent``, lost before it arrived."""
    return RequestRecord(
        number=number,
        arrival=sent,
        wall_time=wall_time,
        method=req.method.upper(),
        path=unquote(req.raw_path),
        query=logged_query(parse_qsl(req.query_string)),
        status=None,
        error_code=code,
        accepted=False,
        fault=None if fault is None else fault.kind.value,
        arrived=False,
        sent=sent,
    )

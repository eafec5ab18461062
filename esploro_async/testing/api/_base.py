"""What every area of the simulated API shares: requests, answers, errors and paging."""

from __future__ import annotations

import datetime as _dt
import json
import random
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from esploro_async.testing import _xml
from esploro_async.testing.analytics import AnalyticsSession
from esploro_async.testing.institution import SyntheticInstitution

JSON_CT = "application/json;charset=UTF-8"
XML_CT = "application/xml;charset=UTF-8"


@attrs.frozen
class ApiRequest:
    """A request as the API layer sees it (path already split and percent-decoded)."""

    method: str
    path: str
    segments: tuple[str, ...]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str

    @property
    def wants_xml(self) -> bool:
        """``format=xml``, or an ``Accept`` naming XML but not JSON."""
        fmt = self.query.get("format", "").lower()
        if fmt in ("xml", "json"):
            return fmt == "xml"
        accept = self.headers.get("accept", "").lower()
        return "xml" in accept and "json" not in accept

    @property
    def body_is_xml(self) -> bool:
        """Whether the request body is declared (or sniffed) as XML."""
        ct = self.headers.get("content-type", "").lower()
        if "xml" in ct:
            return True
        if "json" in ct:
            return False
        return self.body.lstrip().startswith(b"<")


@attrs.frozen
class ApiResponse:
    """Status, body, content type and (for errors) the ``errorCode``."""

    status: int
    body: bytes
    content_type: str
    error_code: str | None = None


class ApiError(Exception):
    """A client error the API answers with ``status`` and ``errorCode`` ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_response(data: Any, status: int = 200) -> ApiResponse:
    """``data`` as a JSON answer."""
    return ApiResponse(status, json.dumps(data, ensure_ascii=False).encode(), JSON_CT)


class ApiArea:
    """The state and helpers the handlers of every API area use (see :class:`EsploroApi`)."""

    inst: SyntheticInstitution
    _tracking_id: Callable[[], str]
    _today: Callable[[], _dt.date]
    _clock: Callable[[], float]
    _wall_clock: Callable[[float], _dt.datetime]
    _rng: random.Random
    _sessions: dict[str, AnalyticsSession]
    _date_cache: dict[tuple[int, int], list[str]]

    def error(self, req: ApiRequest, status: int, code: str, message: str) -> ApiResponse:
        """An application error body following the request's ``Accept``."""
        tid = self._tracking_id()
        if req.wants_xml:
            return ApiResponse(status, _xml.error_xml(code, message, tid), XML_CT, code)
        return ApiResponse(status, _xml.error_json(code, message, tid), JSON_CT, code)

    @staticmethod
    def _not_allowed(req: ApiRequest) -> ApiError:
        return ApiError(405, "402894", f"Method {req.method} is not supported for {req.path}")

    @staticmethod
    def _int_param(req: ApiRequest, name: str, default: int, maximum: int) -> int:
        raw = req.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, "40166411", f"Invalid value for parameter {name}: {raw}") from None
        if value < 0 or value > maximum:
            raise ApiError(
                400, "40166411", f"Parameter {name} must be between 0 and {maximum}: {raw}"
            )
        return value

    def _paging(self, req: ApiRequest) -> tuple[int, int]:
        return (
            self._int_param(req, "limit", 10, 100),
            self._int_param(req, "offset", 0, 2**62),
        )

    @staticmethod
    def _page_json(items: list[Any], key: str, total: int, count_key: str) -> ApiResponse:
        data: dict[str, Any] = {}
        if count_key == "totalRecordCount":
            data[count_key] = total
            if items:
                data[key] = items
        else:
            if items:
                data[key] = items
            data[count_key] = total
        return json_response(data)

    @staticmethod
    def _json_body(req: ApiRequest) -> Any:
        try:
            return json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(
                400, "402119", "General error: the request body is not valid JSON"
            ) from None

    def _json_object(self, req: ApiRequest) -> dict[str, Any]:
        body = self._json_body(req)
        if not isinstance(body, dict):
            raise ApiError(400, "402119", "General error: expected a JSON object")
        return body

    def _test(self, req: ApiRequest) -> ApiResponse:
        if req.method not in ("GET", "POST"):
            raise self._not_allowed(req)
        text = f"{req.method} request successful"
        if req.wants_xml:
            return ApiResponse(200, _xml.simple_xml("test", text), XML_CT)
        return json_response({"test": text})

"""What the simulated gateway answers by itself: its error texts, HTML pages and damaged bodies."""

from __future__ import annotations

import json

from esploro_async.testing.faults import REPORT_FAULTS, Fault, FaultKind

__all__ = [
    "DAILY_MESSAGE",
    "HTML_401",
    "HTML_502",
    "PER_SECOND_MESSAGE",
    "PER_SECOND_MESSAGE_JSON",
    "ROUTING_MESSAGE",
    "SERVER_HEADER",
    "UNAUTHORIZED_MESSAGE",
    "damage",
    "report_fault",
]

SERVER_HEADER = "Layer7-API-Gateway"
PER_SECOND_MESSAGE = "HTTP requests are more than allowed per second"
PER_SECOND_MESSAGE_JSON = PER_SECOND_MESSAGE + ". See https://goo.gl/2x1c1M "
DAILY_MESSAGE = "Daily API threshold has been reached. Please try again tomorrow."
UNAUTHORIZED_MESSAGE = "API-key not defined or not configured to allow this API."
ROUTING_MESSAGE = "Routing error: the request could not be routed to the target service."
HTML_401 = (
    '<!doctype html><html lang="en"><head><title>HTTP Status 401 – Unauthorized</title>'
    '<style type="text/css">body {font-family:Tahoma,Arial,sans-serif;}</style></head>'
    '<body><h1>HTTP Status 401 – Unauthorized</h1><hr class="line" /><p><b>Type</b> '
    "Status Report</p><p><b>Description</b> The request has not been applied to the target "
    "resource because it lacks valid authentication credentials for that resource.</p>"
    '<hr class="line" /><h3>Apache Tomcat</h3></body></html>'
)
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center></body></html>"
)


def report_fault(fault: Fault | None) -> FaultKind | None:
    """The kind of ``fault`` if it answers a report as still running, else ``None``."""
    return fault.kind if fault is not None and fault.kind in REPORT_FAULTS else None


def damage(body: bytes, fault: Fault, content_type: str) -> bytes:
    """``body`` as a body fault delivers it: padded, shortened, truncated or malformed."""
    if fault.kind is FaultKind.LEADING_WHITESPACE:
        return b"\r\n   " + body
    if fault.kind in (FaultKind.SHORT_PAGE, FaultKind.NO_LIST):
        return _shorten(body, drop_list=fault.kind is FaultKind.NO_LIST)
    if fault.kind is FaultKind.TRUNCATED:
        return body[: int(len(body) * fault.truncate_at)]
    if b":" in body and "json" in content_type:
        return body.replace(b":", b"=", 1)
    if b"</" in body:
        return body.replace(b"</", b"</!", 1)
    return b"\x00" + body + b"{"


def _shorten(body: bytes, *, drop_list: bool) -> bytes:
    """A JSON list page without the second half of its list (or without the list)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    for key, value in data.items():
        if isinstance(value, list) and value:
            if drop_list:
                del data[key]
            else:
                data[key] = value[: len(value) // 2]
            return json.dumps(data).encode()
    return body

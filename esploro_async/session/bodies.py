"""Reading response bodies: JSON, XML (with defusedxml), and the Ex Libris error envelope.

Error bodies come in several shapes, all handled here:

* JSON ``{"errorsExist": true, "errorList": {"error": [{errorCode, errorMessage, trackingId}]}}``
  (``error`` may be a single object), also wrapped as ``{"web_service_result": {...}}``
  with a single ``error`` object (the JSON rendering of the XML envelope, as parsed by
  bodleian/almapy's ``web_service_result.errorList.error``);
* XML ``<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">`` with the
  same fields, sent by the gateway even to JSON requests;
* an HTML page (the wrong host answers 401 with one), or an empty body.

The content type is trusted first, then the body is sniffed.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

import attrs
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from esploro_async.errors import ErrorDetail

__all__ = ["BodyKind", "ParsedBody", "local_name", "parse_body"]

BodyKind = Literal["json", "xml", "html", "empty", "text"]


@attrs.define(slots=True)
class ParsedBody:
    """A body read once: its kind, the parsed value, and any Ex Libris errors it lists.

    ``data`` is the decoded JSON value, the XML root `Element`, or ``None``.
    ``valid`` is ``False`` when the body claimed to be JSON or XML and was not.
    """

    kind: BodyKind
    data: Any
    errors: tuple[ErrorDetail, ...] = ()
    errors_exist: bool = False
    valid: bool = True
    problem: str | None = None


def local_name(tag: str) -> str:
    """An XML tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


_FIRST_VISIBLE = re.compile(rb"\S")


def parse_body(content: bytes, content_type: str) -> ParsedBody:
    """Parse ``content`` by its content type, falling back to sniffing."""
    start = _FIRST_VISIBLE.search(content)
    if start is None:
        return ParsedBody("empty", None)
    head = content[start.start() : start.start() + 64].lower()
    ctype = content_type.lower()
    if "html" in ctype or head.startswith((b"<!doctype html", b"<html")):
        return ParsedBody("html", None)
    if "json" in ctype or (head[:1] in (b"{", b"[") and "xml" not in ctype):
        return _parse_json(content)
    if "xml" in ctype or head[:1] == b"<":
        return _parse_xml(content)
    return ParsedBody("text", None)


def _parse_json(content: bytes) -> ParsedBody:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        return ParsedBody("json", None, valid=False, problem=f"invalid JSON: {exc}")
    if not isinstance(data, dict):
        return ParsedBody("json", data)
    envelope = data
    wrapped = data.get("web_service_result")
    if "errorList" not in data and isinstance(wrapped, dict):
        envelope = wrapped  # {"web_service_result": {"errorsExist": ..., "errorList": ...}}
    errors = _json_errors(envelope)
    exists = _truthy(envelope.get("errorsExist")) or (
        bool(errors) and ("errorsExist" in envelope or envelope is wrapped)
    )
    return ParsedBody("json", data, errors=errors, errors_exist=exists)


def _json_errors(envelope: dict[str, Any]) -> tuple[ErrorDetail, ...]:
    container = envelope.get("errorList")
    if not isinstance(container, dict):
        return ()
    items = container.get("error")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return ()
    return tuple(
        ErrorDetail(
            code=_text(item.get("errorCode")),
            message=_text(item.get("errorMessage")),
            tracking_id=_text(item.get("trackingId")),
        )
        for item in items
        if isinstance(item, dict)
    )


def _parse_xml(content: bytes) -> ParsedBody:
    try:
        root = SafeET.fromstring(content)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        return ParsedBody("xml", None, valid=False, problem=f"invalid XML: {exc}")
    if local_name(root.tag) != "web_service_result":
        return ParsedBody("xml", root)
    errors: list[ErrorDetail] = []
    exists = False
    for child in root:
        name = local_name(child.tag)
        if name == "errorsExist":
            exists = _truthy(child.text)
        elif name == "errorList":
            errors.extend(_xml_error(error) for error in child if local_name(error.tag) == "error")
    return ParsedBody("xml", root, errors=tuple(errors), errors_exist=exists or bool(errors))


def _xml_error(element: Element) -> ErrorDetail:
    fields = {local_name(child.tag): (child.text or "").strip() or None for child in element}
    return ErrorDetail(
        code=fields.get("errorCode"),
        message=fields.get("errorMessage"),
        tracking_id=fields.get("trackingId"),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True

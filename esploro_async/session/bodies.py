"""Reading response bodies: JSON, XML (with defusedxml), and the Ex Libris error envelope.

Error bodies come in several shapes, all handled here:

* JSON ``{"errorsExist": true, "errorList": {"error": [{errorCode, errorMessage, trackingId}]}}``
  (``error`` may be a single object), also wrapped as ``{"web_service_result": {...}}``
  with a single ``error`` object (the JSON rendering of the XML envelope, as parsed by
  bodleian/almapy's ``web_service_result.errorList.error``);
* XML ``<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">`` with the
  same fields, sent by the gateway even to JSON requests;
* an HTML page (the wrong host answers 401 with one), or an empty body.

The content type is trusted first, then the body is sniffed. Hostile bodies are
bounded: nesting deeper than `MAX_NESTING` is refused before parsing (so nothing
downstream recurses without end), and error texts kept from a body are cut at
`MAX_MESSAGE` characters.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import TYPE_CHECKING, Any, Literal

import attrs
import httpx

from esploro_async.errors import ErrorDetail

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = [
    "MAX_MESSAGE",
    "MAX_NESTING",
    "BodyKind",
    "BodyUnreadable",
    "ParsedBody",
    "local_name",
    "parse_body",
    "read_body",
    "truncate",
]

BodyKind = Literal["json", "xml", "html", "empty", "text"]

MAX_NESTING = 100
"""The deepest JSON or XML nesting accepted (Ex Libris records nest about 8 deep)."""

MAX_MESSAGE = 500
"""Characters of a server-supplied text kept in an exception or a log line."""
_MAX_ERRORS = 20


def truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


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
_JSON_OPENINGS = (b"{", b"[")


def parse_body(content: bytes, content_type: str) -> ParsedBody:
    """Parse ``content`` by its content type, falling back to sniffing."""
    ctype = content_type.lower()
    if content[:1] in _JSON_OPENINGS and "json" in ctype and "html" not in ctype:
        return _parse_json(content)  # the usual answer, decided as below without sniffing
    start = _FIRST_VISIBLE.search(content)
    if start is None:
        return ParsedBody("empty", None)
    head = content[start.start() : start.start() + 64].lower()
    if "html" in ctype or head.startswith((b"<!doctype html", b"<html")):
        return ParsedBody("html", None)
    if "json" in ctype or (head[:1] in (b"{", b"[") and "xml" not in ctype):
        return _parse_json(content)
    if "xml" in ctype or head[:1] == b"<":
        # The gateway may put whitespace before the XML declaration, which XML forbids.
        return _parse_xml(content[start.start() :])
    return ParsedBody("text", None)


def _parse_json(content: bytes) -> ParsedBody:
    if _json_too_deep(content):
        return ParsedBody("json", None, valid=False, problem=_TOO_DEEP)
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        problem = truncate(f"invalid JSON: {type(exc).__name__}: {exc}", 200)
        return ParsedBody("json", None, valid=False, problem=problem)
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
        for item in items[:_MAX_ERRORS]
        if isinstance(item, dict)
    )


def _parse_xml(content: bytes) -> ParsedBody:
    # Loaded on the first XML body: a JSON client never needs the XML parsers.
    from xml.etree.ElementTree import ParseError

    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        root = SafeET.fromstring(content)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        problem = truncate(f"invalid XML: {exc}", 200)
        return ParsedBody("xml", None, valid=False, problem=problem)
    if _xml_too_deep(root):
        return ParsedBody("xml", None, valid=False, problem=_TOO_DEEP)
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
    kept = tuple(errors[:_MAX_ERRORS])
    return ParsedBody("xml", root, errors=kept, errors_exist=exists or bool(errors))


def _xml_error(element: Element) -> ErrorDetail:
    fields = {local_name(child.tag): (child.text or "").strip() or None for child in element}
    return ErrorDetail(
        code=_text(fields.get("errorCode")),
        message=_text(fields.get("errorMessage")),
        tracking_id=_text(fields.get("trackingId")),
    )


_TOO_DEEP = f"nested deeper than {MAX_NESTING} levels"
# Everything but the characters that open, close or quote: deleted before counting depth.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}\\')


def _json_too_deep(content: bytes) -> bool:
    """Whether ``content`` nests deeper than `MAX_NESTING`, read at C speed without parsing.

    Everything but backslashes, quotes and brackets goes first, then escapes, then
    strings (brackets inside strings do not nest); each pass then peels the innermost
    ``[]``/``{}`` pairs.
    """
    if content.count(b"[") + content.count(b"{") <= MAX_NESTING:
        return False  # too few openings to nest that deep
    shape = content.translate(None, _NOT_STRUCTURE)
    if b"\\" in shape:
        shape = shape.replace(b"\\\\", b"").replace(b'\\"', b"").replace(b"\\", b"")
    shape = shape.replace(b'""', b"")
    if b'"' in shape:
        shape = b"".join(shape.split(b'"')[::2])
    for _ in range(MAX_NESTING):
        # Marking first peels one level per pass: ``{[]}`` takes two.
        peeled = shape.replace(b"[]", b"x").replace(b"{}", b"x").replace(b"x", b"")
        if peeled == shape:
            return False  # unbalanced or done: the parser has the last word
        shape = peeled
    return bool(shape)


def _xml_too_deep(root: Element) -> bool:
    level = list(root)
    for _ in range(MAX_NESTING - 1):
        if not level:
            return False
        level = [child for element in level for child in element]
    return bool(level)


def _text(value: object) -> str | None:
    # The gateway pads some messages ("... See https://goo.gl/2x1c1M "): strip them.
    return None if value is None else truncate(str(value).strip()) or None


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


class BodyUnreadable(Exception):
    """A body that was not read whole: too large, or its content encoding is broken."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


async def read_body(
    response: httpx.Response,
    limit: int,
    headers: tuple[str | None, str | None] | None = None,
) -> bytes:
    """Read a streamed ``response`` whole, decoded, keeping at most ``limit`` bytes.

    The limit counts bytes after decompression, and decompression never produces more
    than one byte past it: a small gzip "bomb" costs ``limit`` bytes of memory, not what
    it inflates to. Raises `BodyUnreadable` when the body is larger or cannot be decoded.
    ``headers``: its ``Content-Encoding`` and ``Content-Length`` when read already
    (``None`` for one absent); by default they are read from the response.
    """
    if response.is_stream_consumed:  # read already, e.g. by an event hook of the http_client
        if len(response.content) > limit:
            raise BodyUnreadable(_too_large(limit))
        return response.content
    if headers is None:
        headers = response.headers.get("content-encoding"), response.headers.get("content-length")
    encoding = (headers[0] or "identity").strip().lower()
    if encoding not in ("", "identity", *_DECODERS):
        return await _read_decoded_by_httpx(response, limit)
    declared = headers[1] or ""
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        raise BodyUnreadable(_too_large(limit))
    inflater = _Inflater(encoding) if encoding in _DECODERS else None
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        chunk = raw if inflater is None else inflater.feed(raw, limit - size)
        size += len(chunk)
        if size > limit:
            raise BodyUnreadable(_too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_decoded_by_httpx(response: httpx.Response, limit: int) -> bytes:
    """An encoding this module does not decode (e.g. ``br``): httpx decodes, chunk by chunk."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise BodyUnreadable(_too_large(limit))
            chunks.append(chunk)
    except httpx.DecodingError as exc:
        raise BodyUnreadable(truncate(f"the body could not be decoded: {exc}", 200)) from None
    return b"".join(chunks)


class _Inflater:
    """An incremental gzip/deflate decoder whose output per call is bounded."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._zlib = zlib.decompressobj(_DECODERS[encoding])
        self._first = True

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; more than ``room`` bytes out means the body is too large.

        At most ``room + 1`` bytes are produced: input left over at that point is
        never inflated.
        """
        try:
            out = self._zlib.decompress(data, max(room, 0) + 1)
        except zlib.error as exc:
            if not (self._first and self._encoding == "deflate"):
                raise BodyUnreadable(f"the {self._encoding} body is corrupt: {exc}") from None
            # Some servers send raw deflate without the zlib header (as httpx accepts).
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._first = False
            return self.feed(data, room)
        self._first = False
        return out


def _too_large(limit: int) -> str:
    return f"the body is larger than the client's max_response_bytes ({limit:,} bytes)"

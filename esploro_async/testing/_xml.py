"""XML helpers: error envelopes, asset records <-> XML, safe parsing of request bodies.

Request bodies are parsed with :mod:`defusedxml`; responses are built as strings.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree as SafeET

XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
XMLBEANS_NS = "http://com/exlibris/urm/general/xmlbeans"
REST_ESPLORO_NS = "http://rest_esploro"
ESPLORO_RECORD_NS = "http://esploro_record"

#: JSON list fields of an asset that XML wraps as ``<plural><singular>...</singular></plural>``.
LIST_WRAPPERS: dict[str, str] = {
    "creators": "creator",
    "contributors": "contributor",
    "links": "link",
    "files": "file",
    "relationships": "relationship",
    "fundingreferenceList": "fundingreference",
    "keywords": "keyword",
    "description.abstract": "abstract",
    "rightsList": "rights",
    "relatedidentifiers": "relatedidentifier",
    "linksToExtract": "linkToExtract",
    "nationalAssessmentsProfiles": "nationalAssessmentsProfile",
}
_SINGULAR_TO_PLURAL = {v: k for k, v in LIST_WRAPPERS.items()}
_NAME_RE = re.compile(r"^[A-Za-z_][\w.\-]*$")


ERROR_XML_DECL = '<?xml version="1.0" encoding="utf-8" standalone="yes"?>'
"""Error bodies declare ``utf-8`` in lower case (``error_response.xml`` of
scriptotek/php-alma-client, a real answer), unlike record bodies."""


def error_xml(code: str, message: str, tracking_id: str) -> bytes:
    """A ``web_service_result`` error body (gateway and application errors alike)."""
    return (
        ERROR_XML_DECL
        + f'<web_service_result xmlns="{XMLBEANS_NS}"><errorsExist>true</errorsExist>'
        + f"<errorList><error><errorCode>{escape(code)}</errorCode>"
        + f"<errorMessage>{escape(message)}</errorMessage>"
        + f"<trackingId>{escape(tracking_id)}</trackingId></error></errorList>"
        + "</web_service_result>"
    ).encode()


def error_json(code: str, message: str, tracking_id: str) -> bytes:
    """The JSON application error body (``errorsExist``/``errorList``/``result: null``)."""
    body = {
        "errorsExist": True,
        "errorList": {
            "error": [{"errorCode": code, "errorMessage": message, "trackingId": tracking_id}]
        },
        "result": None,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _dict_element(tag: str, value: dict[str, Any], out: list[str]) -> None:
    if not value:
        out.append(f"<{tag}/>")
        return
    out.append(f"<{tag}>")
    if tag == "additionalIdentifiers":
        for k, v in value.items():
            out.append(f"<entry><key>{escape(str(k))}</key><value>{_scalar(v)}</value></entry>")
    else:
        for k, v in value.items():
            _element(k, v, out)
    out.append(f"</{tag}>")


def _list_element(tag: str, value: list[Any], out: list[str]) -> None:
    child = LIST_WRAPPERS.get(tag)
    if child is None:  # a bare repeated element
        for item in value:
            _element(tag, item, out)
        return
    if not value:
        out.append(f"<{tag}/>")
        return
    out.append(f"<{tag}>")
    for item in value:
        _element(child, item, out)
    out.append(f"</{tag}>")


def _element(tag: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if not _NAME_RE.match(tag):
        out.append(f"<entry key={quoteattr(tag)}>")
        _element("value", value, out)
        out.append("</entry>")
    elif isinstance(value, dict):
        _dict_element(tag, value, out)
    elif isinstance(value, list):
        _list_element(tag, value, out)
    else:
        out.append(f"<{tag}>{_scalar(value)}</{tag}>")


def record_to_xml(record: dict[str, Any]) -> str:
    """One asset record as a ``<record>`` element (``None`` values are omitted)."""
    out: list[str] = ["<record>"]
    for k, v in record.items():
        _element(k, v, out)
    out.append("</record>")
    return "".join(out)


def records_to_xml(records: list[dict[str, Any]], total: int) -> bytes:
    """The ``<ns3:records>`` envelope used by the assets API in XML."""
    head = (
        f'<ns3:records total_record_count="{total}" xmlns:ns2="{ESPLORO_RECORD_NS}" '
        f'xmlns:ns3="{REST_ESPLORO_NS}">'
    )
    return (
        XML_DECL + head + "".join(record_to_xml(r) for r in records) + "</ns3:records>"
    ).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def element_to_value(el: Element) -> Any:
    """Convert a parsed element to JSON-like data (leaf text as ``str``)."""
    children = list(el)
    tag = _local(el.tag)
    if not children:
        if tag in LIST_WRAPPERS:
            return []
        return el.text or ""
    if tag in LIST_WRAPPERS:
        return [element_to_value(c) for c in children]
    if tag == "additionalIdentifiers":
        return _key_values(children)
    return _children_map(children)


def _key_values(entries: list[Element]) -> dict[str, Any]:
    """``<entry><key>k</key><value>v</value></entry>...`` as ``{k: v}``."""
    out_map: dict[str, Any] = {}
    for entry in entries:
        k = entry.find("key")
        v = entry.find("value")
        if k is not None:
            out_map[k.text or ""] = "" if v is None else (v.text or "")
    return out_map


def _children_map(children: list[Element]) -> dict[str, Any]:
    """Child elements by name; a name that repeats collects its values in a list."""
    out: dict[str, Any] = {}
    for c in children:
        name = _local(c.tag)
        val = element_to_value(c)
        if name in out:
            prev = out[name]
            if isinstance(prev, list) and name not in LIST_WRAPPERS:
                prev.append(val)
            else:
                out[name] = [prev, val]
        else:
            out[name] = val
    return out


def parse_records_xml(body: bytes) -> list[dict[str, Any]]:
    """Parse an ``<ns3:records>`` (or bare ``<record>``) body into record dicts.

    Raises ``ValueError`` on malformed or unexpected XML.
    """
    try:
        root = SafeET.fromstring(body)
    except Exception as exc:  # defusedxml raises several exception types
        raise ValueError(f"malformed XML: {exc}") from exc
    if _local(root.tag) == "record":
        records = [root]
    elif _local(root.tag) == "records":
        records = [c for c in root if _local(c.tag) == "record"]
    else:
        raise ValueError(f"unexpected root element {_local(root.tag)!r}")
    out = []
    for r in records:
        val = element_to_value(r)
        out.append(val if isinstance(val, dict) else {})
    return out


def simple_xml(tag: str, text: str) -> bytes:
    """``<tag>text</tag>`` with an XML declaration."""
    return (XML_DECL + f"<{tag}>{escape(text)}</{tag}>").encode()

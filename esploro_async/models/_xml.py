"""XML helpers: safe parsing (defusedxml) and two element <-> JSON conventions.

*Generic, invertible* (used for assets): :func:`element_to_json` / :func:`json_to_element`.

- A leaf element without attributes becomes its text (``""`` when empty).
- An element with children becomes an object whose keys are the child tags in document
  order; a tag that occurs more than once becomes a list. If repeats are not adjacent
  (``<a/><b/><a/>``) the object is ``{"#seq": [{"a": ...}, {"b": ...}, {"a": ...}]}`` so that
  order survives.
- Attributes become ``"@name"`` keys; text next to attributes or children is ``"#text"``.
- Whitespace-only text between children (indentation) and tail text are dropped.

Back to XML, scalars are written as text (``True`` -> ``true``, ``None`` -> empty element),
objects as child elements, lists as repeated elements.

*Alma convention* (one way, used for job instances): :func:`element_to_alma_json` (see its
docstring).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "ESPLORO_RECORD_NS",
    "REST_ESPLORO_NS",
    "XML_DECLARATION",
    "element_to_alma_json",
    "element_to_json",
    "json_to_element",
    "local_name",
    "parse_xml",
    "records_envelope",
]

REST_ESPLORO_NS = "http://rest_esploro"
"""Namespace of the ``<ns3:records>`` envelope."""
ESPLORO_RECORD_NS = "http://esploro_record"
"""Namespace declared as ``ns2`` on the envelope."""
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
"""The declaration Esploro writes (and :func:`records_envelope` reproduces)."""


def parse_xml(text: str | bytes) -> ET.Element:
    """Parse untrusted XML with defusedxml (no entities, no DTD tricks); return the root."""
    root: ET.Element = SafeET.fromstring(text, forbid_dtd=True)
    return root


def local_name(tag: str) -> str:
    """``{ns}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]


def _has_text(text: str | None) -> bool:
    return text is not None and text.strip() != ""


def element_to_json(elem: ET.Element) -> Any:
    """Convert an element's content with the generic, invertible convention (module doc)."""
    children = list(elem)
    if not children and not elem.attrib:
        return elem.text or ""
    out: dict[str, Any] = {f"@{k}": v for k, v in elem.attrib.items()}
    if not children:
        if elem.text:
            out["#text"] = elem.text
        return out
    if _has_text(elem.text):
        out["#text"] = elem.text
    tags = [c.tag for c in children]
    if _needs_sequence(tags):
        out["#seq"] = [{c.tag: element_to_json(c)} for c in children]
    else:
        _add_children(out, children, tags)
    return out


def _needs_sequence(tags: list[str]) -> bool:
    """Whether children with these tags keep their order only as a ``#seq`` list: a tag
    that comes back after another, or one that reads as an attribute or text key."""
    contiguous = all(tags[i] == tags[i - 1] or tags[i] not in tags[:i] for i in range(1, len(tags)))
    return not contiguous or any(t.startswith(("@", "#")) for t in tags)


def _add_children(out: dict[str, Any], children: list[ET.Element], tags: list[str]) -> None:
    """Each child under its tag: a list for a repeated tag, the value for a single one."""
    counts = Counter(tags)
    for child in children:
        value = element_to_json(child)
        if counts[child.tag] > 1:
            out.setdefault(child.tag, []).append(value)
        else:
            out[child.tag] = value


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(elem: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key.startswith("@"):
                elem.set(key[1:], _scalar_text(item) or "")
            elif key == "#text":
                elem.text = _scalar_text(item)
            elif key == "#seq":
                for entry in item if isinstance(item, list) else [item]:
                    for sub_key, sub_value in entry.items():
                        _append(elem, sub_key, sub_value)
            else:
                _append(elem, key, item)
    else:
        elem.text = _scalar_text(value) or None


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        _fill(ET.SubElement(parent, tag), item)


def json_to_element(tag: str, value: Any) -> ET.Element:
    """Inverse of :func:`element_to_json`: build element ``tag`` holding ``value``.

    A list at the top level is not allowed (an element holds one value); nested lists become
    repeated elements. Raises ``ValueError`` for tags that are not valid XML names.
    """
    elem = ET.Element(tag)
    _fill(elem, value)
    for node in elem.iter():
        _check_name(node.tag)
        for attr in node.attrib:
            _check_name(attr)
    return elem


def _check_name(name: str) -> None:
    local = local_name(name)
    ok = bool(local) and (local[0].isalpha() or local[0] == "_")
    ok = ok and all(ch.isalnum() or ch in "._-" for ch in local)
    if not ok:
        raise ValueError(f"{name!r} is not a valid XML element or attribute name")


def records_envelope(records: Iterable[ET.Element]) -> str:
    """Serialise ``<record>`` elements inside Esploro's ``<ns3:records>`` envelope.

    Output (with the XML declaration):

    ```text
    <ns3:records total_record_count="N" xmlns:ns2="http://esploro_record"
        xmlns:ns3="http://rest_esploro"><record>...</record></ns3:records>
    ```
    """
    parts = [ET.tostring(r, encoding="unicode", short_empty_elements=True) for r in records]
    return (
        f"{XML_DECLARATION}\n"
        f'<ns3:records total_record_count="{len(parts)}" xmlns:ns2="{ESPLORO_RECORD_NS}" '
        f'xmlns:ns3="{REST_ESPLORO_NS}">' + "".join(parts) + "</ns3:records>"
    )


def _is_wrapper(elem: ET.Element) -> str | None:
    """If ``elem`` wraps only ``<x>`` children and is named ``xs``/``xes``, return ``x``."""
    children = list(elem)
    if not children or elem.attrib or _has_text(elem.text):
        return None
    tag = children[0].tag
    if any(c.tag != tag for c in children):
        return None
    name = local_name(elem.tag)
    child_name = local_name(tag)
    return tag if name in (child_name + "s", child_name + "es") else None


def element_to_alma_json(elem: ET.Element) -> Any:
    """Convert with Alma's XML-to-JSON conventions (one way; for job instances).

    - Element text becomes a string (``""`` when empty); text is never converted to numbers.
    - A leaf with attributes becomes ``{"value": text, <attr>: ...}``, e.g.
      ``<status desc="Completed">COMPLETED_SUCCESS</status>`` ->
      ``{"value": "COMPLETED_SUCCESS", "desc": "Completed"}``.
    - An element with children becomes an object (child tags in document order, then its
      attributes such as ``link``); repeated children become lists.
    - A plural wrapper holding only same-named children (``<counters><counter/>...``) is
      dropped and its children appear as a list under the child name (``"counter": [...]``),
      as in Alma's JSON, even when there is a single child.
    - Namespaces are stripped from tag names.
    """
    children = list(elem)
    if not children:
        text = elem.text or ""
        if not elem.attrib:
            return text
        return {"value": text, **dict(elem.attrib)}
    out: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for child in children:
        counts[child.tag] = counts.get(child.tag, 0) + 1
    for child in children:
        wrapped = _is_wrapper(child)
        if wrapped is not None:
            key = local_name(wrapped)
            items = [element_to_alma_json(c) for c in child]
            existing = out.get(key)
            out[key] = (existing if isinstance(existing, list) else []) + items
            continue
        key = local_name(child.tag)
        value = element_to_alma_json(child)
        if counts[child.tag] > 1:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    if _has_text(elem.text):
        out["value"] = elem.text
    for attr, attr_value in elem.attrib.items():
        out.setdefault(local_name(attr), attr_value)
    return out

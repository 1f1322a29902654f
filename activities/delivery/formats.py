"""JSON and XML bodies: a plain conversion with xmltodict, both ways (not SOAP).

A JSON body becomes one ``<webhook>`` element. Objects become child elements
in order; a key that is not a valid XML name becomes ``<field name="key">``.
Strings are text; other values carry a ``type`` attribute so that the trip
back gives the same JSON: ``integer``, ``number``, ``boolean``, ``null``,
``array`` (its items are ``<item>`` elements) and ``object`` (an empty one).
A response without ``type`` attributes reads as strings, objects and, for
repeated elements, arrays. Characters XML 1.0 cannot carry are sent as U+FFFD;
text is read with surrounding whitespace stripped.
"""

from __future__ import annotations

import json
import re
from typing import Any

import xmltodict

XML_ROOT = "webhook"
MEDIA_TYPES = {"json": "application/json", "xml": "application/xml"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Characters XML 1.0 cannot carry; they are sent as U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def encode(body: dict[str, Any], fmt: str) -> bytes:
    if fmt == "xml":
        text: str = xmltodict.unparse({XML_ROOT: _to_xml(body)}, full_document=True)
        return text.encode()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes, fmt: str) -> Any:
    """The body as data; None when it is empty or does not parse."""
    if not data.strip():
        return None
    try:
        if fmt == "xml":
            parsed = xmltodict.parse(data, disable_entities=True)
            if isinstance(parsed, dict) and len(parsed) == 1:
                return _from_xml(next(iter(parsed.values())))
            return _from_xml(parsed)
        return json.loads(data)
    except Exception:  # a malformed body is judged by its status code alone
        return None


def _to_xml(value: Any) -> Any:
    if isinstance(value, dict):
        if not value:
            return {"@type": "object"}
        node: dict[str, Any] = {}
        fields: list[Any] = []
        for key, item in value.items():
            if _NAME.match(key) and not key.lower().startswith("xml") and key not in ("field",):
                node[key] = _to_xml(item)
            else:
                child = _to_xml(item)
                child = child if isinstance(child, dict) else {"#text": child}
                fields.append({"@name": _NOT_XML.sub("\ufffd", key), **child})
        if fields:
            node["field"] = fields
        return node
    if isinstance(value, list):
        return (
            {"@type": "array", "item": [_to_xml(item) for item in value]}
            if value
            else {"@type": "array"}
        )
    if isinstance(value, bool):
        return {"@type": "boolean", "#text": "true" if value else "false"}
    if isinstance(value, int):
        return {"@type": "integer", "#text": str(value)}
    if isinstance(value, float):
        return {"@type": "number", "#text": repr(value)}
    if value is None:
        return {"@type": "null"}
    return _NOT_XML.sub("\ufffd", str(value))


def _from_xml(node: Any) -> Any:
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return [_from_xml(item) for item in node]
    kind = node.get("@type")
    text = node.get("#text", "")
    if kind == "array":
        items = node.get("item", [])
        return [_from_xml(item) for item in (items if isinstance(items, list) else [items])]
    if kind == "object":
        return {}
    if kind == "null":
        return None
    if kind == "boolean":
        return text == "true"
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    result: dict[str, Any] = {}
    for key, child in node.items():
        if key.startswith("@") or key == "#text":
            continue
        if key == "field":
            for entry in child if isinstance(child, list) else [child]:
                result[entry["@name"]] = _from_xml(
                    {k: v for k, v in entry.items() if k != "@name"} or None
                )
            continue
        result[key] = _from_xml(child)
    if not result and "#text" in node:
        return text
    return result

"""A file of a deploy zip as the Metadata API reads it: the XML of one component (or a manifest) under its root
element in the metadata namespace, as the raw component the handlers take."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

from .metadata_base import MetadataError
from .metadata_xml import MD_NS, Raw

__all__ = ["xml_raw"]


def xml_raw(data: bytes, root_name: str, file_name: str) -> Raw:
    try:
        root = fromstring(data)
    except Exception as exc:  # defusedxml / expat errors
        raise MetadataError("INVALID_XML", f"Error parsing file: {exc}") from None
    if root.tag != f"{{{MD_NS}}}{root_name}":
        raise MetadataError(
            "INVALID_XML",
            f"Error parsing file: the root element must be {root_name} in the namespace {MD_NS} ({file_name})",
        )
    return _children(root)


def _children(node: Element) -> Raw:
    raw: Raw = {}
    for child in node:
        name = child.tag.rpartition("}")[2]
        raw.setdefault(name, []).append(_children(child) if len(child) else (child.text or ""))
    return raw

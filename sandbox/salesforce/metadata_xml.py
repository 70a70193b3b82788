"""Metadata API wire format: parsing the SOAP requests zeep sends (simple-salesforce ``sf.mdapi``),
validating components against the Metadata WSDL (v63, the one simple-salesforce bundles), and writing
responses and SOAP faults zeep parses.

A component is kept as a "raw" dict: element name -> list of values, each value a string, ``None`` (nil)
or a nested raw dict. Keys starting with ``_`` are the emulator's own (ids, secrets) and never written out.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import io
import pathlib
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml.ElementTree import iterparse

__all__ = [
    "MD_NS",
    "Fault",
    "Raw",
    "SoapRequest",
    "envelope",
    "fault_xml",
    "parse_request",
    "raw_to_xml",
    "validate",
    "wsdl",
]

MD_NS = "http://soap.sforce.com/2006/04/metadata"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

Raw = dict[str, list[Any]]


class Fault(Exception):
    """A SOAP fault: HTTP 500 with faultcode/faultstring (zeep raises ``zeep.exceptions.Fault``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclasses.dataclass
class SoapRequest:
    operation: str
    session_id: str | None
    body: Raw  # the operation element's children; components under "metadata" keep their xsi:type
    types: list[str | None]  # xsi:type of each "metadata" child, resolved to a local type name


def _local(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return None, tag


def parse_request(data: bytes) -> SoapRequest:
    namespaces: dict[str, str] = {}
    try:
        root: Element | None = None
        for event, item in iterparse(io.BytesIO(data), events=("start-ns", "start")):
            if event == "start-ns":
                prefix, uri = item
                namespaces[prefix] = uri
            elif root is None:
                root = item
        assert root is not None
    except Exception as exc:  # defusedxml / expat errors, empty bodies
        raise Fault("soapenv:Client", f"Could not parse the request: {exc}") from None
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise Fault("soapenv:VersionMismatch", "Expected a SOAP 1.1 Envelope")
    header = root.find(f"{{{SOAP_NS}}}Header")
    session = header.find(f"{{{MD_NS}}}SessionHeader/{{{MD_NS}}}sessionId") if header is not None else None
    body = root.find(f"{{{SOAP_NS}}}Body")
    if body is None or len(body) != 1:
        raise Fault("soapenv:Client", "The SOAP Body must hold exactly one operation")
    operation = body[0]
    ns, name = _local(operation.tag)
    if ns != MD_NS:
        raise Fault("soapenv:Client", f"No operation available for request {operation.tag}")
    types: list[str | None] = []
    for child in operation:
        if _local(child.tag)[1] == "metadata":
            types.append(_resolve_type(child.get(f"{{{XSI_NS}}}type"), namespaces))
    return SoapRequest(name, (session.text or "").strip() if session is not None else None, _to_raw(operation), types)


def _resolve_type(qname: str | None, namespaces: dict[str, str]) -> str | None:
    """``ns0:ServicePresenceStatus`` -> ``ServicePresenceStatus`` when ns0 is the Metadata namespace."""
    if not qname:
        return None
    prefix, _, name = qname.rpartition(":")
    uri = namespaces.get(prefix, MD_NS if prefix == "" else None)
    if uri != MD_NS:
        raise Fault("soapenv:Client", f"Unknown type {qname}: the prefix is not bound to {MD_NS}")
    return name


def _to_raw(element: Element) -> Raw:
    raw: Raw = {}
    for child in element:
        _, name = _local(child.tag)
        raw.setdefault(name, []).append(_value(child))
    return raw


def _value(element: Element) -> Any:
    if element.get(f"{{{XSI_NS}}}nil") == "true":
        return None
    if len(element):
        return _to_raw(element)
    return element.text or ""


# -- WSDL-driven validation -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ElementInfo:
    name: str
    type: str  # local name; "xsd:*" primitives keep their prefix
    required: bool
    many: bool


class Wsdl:
    def __init__(self, path: pathlib.Path) -> None:
        self.complex: dict[str, tuple[str | None, list[ElementInfo]]] = {}
        self.enums: dict[str, set[str]] = {}
        tree = _parse_wsdl(path)
        for node in tree.iter(f"{{{XSD_NS}}}complexType"):
            name = node.get("name")
            if not name:
                continue
            extension = node.find(f"{{{XSD_NS}}}complexContent/{{{XSD_NS}}}extension")
            base = extension.get("base", "").partition(":")[2] if extension is not None else None
            sequence = (extension if extension is not None else node).find(f"{{{XSD_NS}}}sequence")
            elements = []
            for el in sequence if sequence is not None else []:
                type_ = el.get("type", "xsd:string")
                elements.append(
                    ElementInfo(
                        el.get("name", ""),
                        type_ if type_.startswith("xsd:") else type_.partition(":")[2],
                        el.get("minOccurs") != "0",
                        el.get("maxOccurs") == "unbounded",
                    )
                )
            self.complex[name] = (base, elements)
        for node in tree.iter(f"{{{XSD_NS}}}simpleType"):
            values = {e.get("value", "") for e in node.iter(f"{{{XSD_NS}}}enumeration")}
            if node.get("name") and values:
                self.enums[node.get("name", "")] = values

    def elements(self, type_name: str) -> list[ElementInfo]:
        base, own = self.complex.get(type_name, (None, []))
        return [*(self.elements(base) if base else []), *own]

    def is_metadata_type(self, type_name: str) -> bool:
        base = self.complex.get(type_name, (None, []))[0]
        while base:
            if base == "Metadata":
                return True
            base = self.complex.get(base, (None, []))[0]
        return False


def _parse_wsdl(path: pathlib.Path) -> Element:
    from xml.etree import ElementTree  # our own trusted file: the stdlib parser is fine here

    return ElementTree.parse(path).getroot()


@functools.cache
def wsdl() -> Wsdl:
    spec = importlib.util.find_spec("simple_salesforce")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("simple-salesforce (for its metadata.wsdl) is not installed")
    return Wsdl(pathlib.Path(next(iter(spec.submodule_search_locations))) / "metadata.wsdl")


def validate(raw: Raw, type_name: str) -> None:
    """Check element names, cardinality, booleans, numbers and enumerations like the SOAP deserializer."""
    known = {e.name: e for e in wsdl().elements(type_name)}
    for name, values in raw.items():
        if name.startswith("_"):
            continue
        info = known.get(name)
        if info is None or (len(values) > 1 and not info.many):
            raise Fault("soapenv:Client", f"Element {{{MD_NS}}}{name} invalid at this location in type {type_name}")
        for value in values:
            if value is None:
                continue
            if info.type in wsdl().complex:
                if isinstance(value, str):
                    if value.strip():
                        raise Fault("soapenv:Client", f"Unexpected text in element {name} of type {info.type}")
                    continue
                validate(value, info.type)
            elif isinstance(value, dict):
                raise Fault("soapenv:Client", f"Unexpected element in simple type {info.type} ({name})")
            elif info.type == "xsd:boolean" and value not in ("true", "false", "1", "0"):
                raise Fault("soapenv:Client", f"'{value}' is not a valid value for the type xsd:boolean")
            elif info.type in ("xsd:int", "xsd:double", "xsd:long") and not _is_number(value):
                raise Fault("soapenv:Client", f"'{value}' is not a valid value for the type {info.type}")
            elif info.type in wsdl().enums and value not in wsdl().enums[info.type]:
                raise Fault("soapenv:Client", f"'{value}' is not a valid value for the enum '{info.type}'")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def missing_required(raw: Raw, type_name: str) -> list[str]:
    return [e.name for e in wsdl().elements(type_name) if e.required and not raw.get(e.name)]


# -- writing ----------------------------------------------------------------------------------------------------


def raw_to_xml(raw: Raw, type_name: str | None) -> str:
    """Serialize a raw component in WSDL element order (unknown order: as stored); ``_`` keys are skipped."""
    order = [e.name for e in wsdl().elements(type_name)] if type_name else []
    names = [n for n in order if n in raw] + [n for n in raw if n not in order and not n.startswith("_")]
    element_types = {e.name: e.type for e in wsdl().elements(type_name)} if type_name else {}
    out = []
    for name in names:
        for value in raw[name]:
            if value is None:
                out.append(f'<{name} xsi:nil="true"/>')
            elif isinstance(value, dict):
                out.append(f"<{name}>{raw_to_xml(value, element_types.get(name))}</{name}>")
            else:
                out.append(f"<{name}>{escape(str(value))}</{name}>")
    return "".join(out)


def element(name: str, value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{MD_NS}" xmlns:xsi="{XSI_NS}">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def fault_xml(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:sf="{MD_NS}">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )

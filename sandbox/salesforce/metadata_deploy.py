"""Metadata API file-based deploy: ``deploy`` (a base64 zip + DeployOptions -> AsyncResult) and
``checkDeployStatus`` (-> DeployResult with componentSuccesses / componentFailures), as simple-salesforce's
``sf.deploy()`` / ``sf.checkDeployStatus()`` send them (hand-written envelopes POSTed to
``{metadata_url}deployRequest[/{id}]``).

The zip is a single package: ``package.xml`` at its root naming ``<types><members/><name/></types>``. Supported
types: ``CustomObject`` (``objects/X.object``; ``__e`` ones become platform events exactly as createMetadata
makes them), ``ApexClass`` (``classes/X.cls`` + ``-meta.xml``), ``AuraDefinitionBundle`` (``aura/X/``) and
``LightningComponentBundle`` (``lwc/X/``), the last three stored so that listMetadata/readMetadata see them.
The deploy runs at once (the AsyncResult says ``Queued``; the first checkDeployStatus says done). Every component
is checked before any is written: with ``rollbackOnError`` (simple-salesforce forces it unless ``sandbox=True``)
one failure deploys nothing; without it the rest are deployed (``SucceededPartial``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import zipfile
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

from .metadata_base import Listing, MetadataError, StoredHandler, one
from .metadata_objects import CustomObjectHandler
from .metadata_xml import MD_NS, Fault, Raw, element, validate
from .org import Org

__all__ = ["DEPLOY_TYPE", "BundleHandler", "check_deploy_status", "deploy"]

DEPLOY_TYPE = "_DeployRequest"  # where deploy results are kept (not a Metadata type: never listed)
MAX_ZIP_BYTES = 39 * 1024 * 1024  # the documented limits: ~39 MB zipped, 400 MB unzipped
MAX_UNZIPPED_BYTES = 400 * 1024 * 1024


class BundleHandler(StoredHandler):
    """A file-based type that only ``deploy`` writes (the CRUD calls can read, list and delete it)."""

    file_suffix = ""

    def __init__(self, type_name: str, directory: str, suffix: str, key_prefix: str, file_suffix: str) -> None:
        self.type_name = type_name
        self.directory = directory
        self.suffix = suffix
        self.key_prefix = key_prefix
        self.file_suffix = file_suffix

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        raise MetadataError("INVALID_OPERATION", f"The sandbox writes {self.type_name} only by deploy(): "
                            "send it in a zip with package.xml")

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        self.create(org, raw, user_id)

    def listing(self, org: Org) -> list[Listing]:
        return [Listing(s["fullName"][0], s["_id"], s["_created"], s["_createdBy"], s["_modified"], s["_modifiedBy"])
                for s in org.store.metadata_all(self.type_name)]


APEX_CLASS = BundleHandler("ApexClass", "classes", "cls", "01p", ".cls")
AURA_BUNDLE = BundleHandler("AuraDefinitionBundle", "aura", "", "0Ab", "")
LWC_BUNDLE = BundleHandler("LightningComponentBundle", "lwc", "", "0Rb", "")
BUNDLE_HANDLERS = (APEX_CLASS, AURA_BUNDLE, LWC_BUNDLE)
_CUSTOM_OBJECT = CustomObjectHandler()
DEPLOYABLE = ("ApexClass", "AuraDefinitionBundle", "CustomObject", "LightningComponentBundle")


@dataclasses.dataclass
class _Component:
    type_name: str
    full_name: str
    file_name: str
    raw: Raw | None = None  # what to store (validated), None after a failure
    problem: str | None = None
    created: bool = False


# -- the zip ------------------------------------------------------------------------------------------------

def _xml_raw(data: bytes, root_name: str, file_name: str) -> Raw:
    try:
        root = fromstring(data)
    except Exception as exc:  # defusedxml / expat errors
        raise MetadataError("INVALID_XML", f"Error parsing file: {exc}") from None
    if root.tag != f"{{{MD_NS}}}{root_name}":
        raise MetadataError("INVALID_XML", f"Error parsing file: the root element must be {root_name} "
                            f"in the namespace {MD_NS} ({file_name})")
    return _children(root)


def _children(node: Element) -> Raw:
    raw: Raw = {}
    for child in node:
        name = child.tag.rpartition("}")[2]
        raw.setdefault(name, []).append(_children(child) if len(child) else (child.text or ""))
    return raw


def _package(files: dict[str, bytes]) -> list[tuple[str, str]]:
    """(type, member) pairs from package.xml, in its order; a Fault-free MetadataError when unusable."""
    if "package.xml" not in files:
        raise MetadataError("INVALID_PACKAGE", "No package.xml found")
    package = _xml_raw(files["package.xml"], "Package", "package.xml")
    pairs = []
    for block in package.get("types") or []:
        if not isinstance(block, dict):
            continue
        type_name = str(one(block, "name", ""))
        for member in block.get("members") or []:
            pairs.append((type_name, str(member)))
    return pairs


def _file_name(type_name: str, member: str) -> str:
    if type_name == "CustomObject":
        return f"objects/{member}.object"
    if type_name == "ApexClass":
        return f"classes/{member}.cls"
    directory = "aura" if type_name == "AuraDefinitionBundle" else "lwc"
    return f"{directory}/{member}"


def _not_in_zip(type_name: str, member: str) -> MetadataError:
    return MetadataError("INVALID_PACKAGE", f"An object '{member}' of type {type_name} was named in package.xml, "
                         "but was not found in zipped directory")


def _bundle_raw(handler: BundleHandler, member: str, files: dict[str, bytes], meta_name: str,
                main_file: str) -> Raw:
    folder = f"{handler.directory}/{member}/" if handler is not APEX_CLASS else ""
    if main_file not in files:
        raise _not_in_zip(handler.type_name, member)
    if meta_name not in files:
        raise MetadataError("INVALID_PACKAGE", f"Could not find the metadata file {meta_name} for "
                            f"{handler.type_name} {member}")
    raw = _xml_raw(files[meta_name], handler.type_name, meta_name)
    _validate(raw, handler.type_name)
    if handler is APEX_CLASS:
        body = files[main_file].decode("utf-8", "replace")
        if f"class {member.lower()}" not in " ".join(body.lower().split()):
            raise MetadataError("INVALID_PACKAGE", f"Invalid class name: the file declares no class {member}")
        raw["content"] = [base64.b64encode(files[main_file]).decode()]
    else:
        raw["_files"] = [{path[len(folder):]: base64.b64encode(data).decode()
                          for path, data in sorted(files.items()) if path.startswith(folder)}]
    return {"fullName": [member], **raw}


def _validate(raw: Raw, type_name: str) -> None:
    try:
        validate(raw, type_name)
    except Fault as fault:
        raise MetadataError("INVALID_PACKAGE", fault.message) from None


def _prepare(org: Org, type_name: str, member: str, files: dict[str, bytes]) -> tuple[Raw, bool]:
    """Read and check one component; (what to store, whether it is new). MetadataError when it fails."""
    if type_name == "CustomObject":
        file_name = _file_name(type_name, member)
        if file_name not in files:
            raise _not_in_zip(type_name, member)
        raw = {"fullName": [member], **_xml_raw(files[file_name], "CustomObject", file_name)}
        _validate(raw, "CustomObject")
        existing = org.store.metadata("CustomObject", member)
        if existing is None and not member.endswith(("__e", "__c")):
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION",
                                f"CustomObject fullName '{member}' must end with __c or __e")
        _CUSTOM_OBJECT.prepare(org, raw, existing)
        return raw, existing is None
    handler = next(h for h in BUNDLE_HANDLERS if h.type_name == type_name)
    if handler is APEX_CLASS:
        main, meta = f"classes/{member}.cls", f"classes/{member}.cls-meta.xml"
    elif handler is AURA_BUNDLE:
        main = next((f"aura/{member}/{member}.{ext}" for ext in ("cmp", "app", "evt", "intf", "tokens")
                     if f"aura/{member}/{member}.{ext}" in files), f"aura/{member}/{member}.cmp")
        meta = f"{main}-meta.xml"
    else:
        main, meta = f"lwc/{member}/{member}.js", f"lwc/{member}/{member}.js-meta.xml"
    raw = _bundle_raw(handler, member, files, meta, main)
    return raw, org.store.metadata(type_name, member) is None


def _write(org: Org, type_name: str, raw: Raw, user_id: str) -> None:
    if type_name == "CustomObject":
        if org.store.metadata("CustomObject", str(one(raw, "fullName"))) is None:
            _CUSTOM_OBJECT.create(org, raw, user_id)
        else:
            _CUSTOM_OBJECT.update(org, raw, user_id)
        return
    handler = next(h for h in BUNDLE_HANDLERS if h.type_name == type_name)
    full_name = str(one(raw, "fullName"))
    existing = org.store.metadata(type_name, full_name)
    now = org.now()
    stored: dict[str, Any] = dict(raw)
    if existing is None:
        stored.update(_id=org.store.new_id(handler.key_prefix), _created=now, _createdBy=user_id)
    else:
        stored.update({k: v for k, v in existing.items() if k in ("_id", "_created", "_createdBy")})
    stored.update(_modified=now, _modifiedBy=user_id)
    org.store.put_metadata(type_name, full_name, stored)


# -- the calls ----------------------------------------------------------------------------------------------

def _flag(options: Raw, name: str, default: bool = False) -> bool:
    value = one(options, name)
    return default if value is None else str(value).strip().lower() in ("true", "1")


def deploy(org: Org, body: Raw, user_id: str) -> str:
    """Run the deploy now; keep its DeployResult; answer the AsyncResult (Queued)."""
    encoded = str(one(body, "ZipFile", "") or "")
    options = one(body, "DeployOptions")
    options = options if isinstance(options, dict) else {}
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Fault("soapenv:Client", "ZipFile: not valid base64Binary") from None
    if not data:
        raise Fault("sf:INVALID_OPERATION", "INVALID_OPERATION: ZipFile is required")
    if len(data) > MAX_ZIP_BYTES:
        raise Fault("sf:EXCEEDED_MAX_SIZE_REQUEST", "EXCEEDED_MAX_SIZE_REQUEST: the zip file exceeds the limit")
    check_only = _flag(options, "checkOnly")
    rollback = _flag(options, "rollbackOnError", True)
    deploy_id = org.store.new_id("0Af")
    started = org.now()
    components, error = _run(org, data, user_id, check_only=check_only, rollback=rollback)
    org.store.put_metadata(DEPLOY_TYPE, deploy_id, {
        "id": deploy_id, "createdBy": user_id, "createdDate": started, "completedDate": org.now(),
        "checkOnly": check_only, "rollbackOnError": rollback, "ignoreWarnings": _flag(options, "ignoreWarnings"),
        "error": error, "components": [dataclasses.asdict(c) | {"raw": None} for c in components]})
    return (f"<result>{element('done', False)}{element('id', deploy_id)}"
            f"{element('state', 'Queued')}</result>")


def _run(org: Org, data: bytes, user_id: str, *, check_only: bool,
         rollback: bool) -> tuple[list[_Component], str | None]:
    """Check every component, then write the good ones (none if one failed and rollback is on)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                return [], "The zip file exceeds the maximum size of 400 MB unzipped"
            files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, ValueError) as exc:
        return [], f"Error reading the zip file: {exc}"
    try:
        pairs = _package(files)
    except MetadataError as exc:
        return [_Component("", "package.xml", "package.xml", problem=exc.message)], None
    components = []
    for type_name, member in pairs:
        component = _Component(type_name, member, _file_name(type_name, member))
        if type_name not in DEPLOYABLE:
            component.file_name = "package.xml"
            component.problem = f"Unknown type name '{type_name}' specified in package.xml"
        else:
            try:
                component.raw, component.created = _prepare(org, type_name, member, files)
            except MetadataError as exc:
                component.problem = exc.message
        components.append(component)
    failed = any(c.problem for c in components)
    if check_only or (failed and rollback):
        return components, None
    with org.store.batch():
        for component in components:
            if component.raw is None:
                continue
            try:
                _write(org, component.type_name, component.raw, user_id)
            except MetadataError as exc:
                component.problem = exc.message
    return components, None


def check_deploy_status(org: Org, body: Raw, user_id: str) -> str:
    deploy_id = str(one(body, "asyncProcessId", "") or "")
    result = org.store.metadata(DEPLOY_TYPE, deploy_id)
    if result is None:
        raise Fault("sf:INVALID_ID_FIELD", f"INVALID_ID_FIELD: invalid deploy id {deploy_id}")
    include_details = _flag(body, "includeDetails")
    components = result["components"]
    failures = [c for c in components if c["problem"]]
    applied = not result["checkOnly"] and not (failures and result["rollbackOnError"])
    deployed = len(components) - len(failures) if applied or result["checkOnly"] else 0
    error = result["error"]
    if error or (failures and (result["rollbackOnError"] or deployed == 0)):
        status, success = "Failed", False
    elif failures:
        status, success = "SucceededPartial", True
    else:
        status, success = "Succeeded", True
    users = {r["Id"]: r.get("Name", "") for r in org.live("User")}
    details = ""
    if include_details:
        messages = []
        for c in components:
            tag = "componentFailures" if c["problem"] else "componentSuccesses"
            ok = not c["problem"] and (applied or result["checkOnly"])
            body_xml = (element("changed", ok and not c["created"]) + element("componentType", c["type_name"])
                        + element("created", ok and c["created"]) + element("createdDate", _dt(result["createdDate"]))
                        + element("deleted", False) + element("fileName", c["file_name"])
                        + element("fullName", c["full_name"]))
            if c["problem"]:
                body_xml += element("problem", c["problem"]) + element("problemType", "Error")
            body_xml += element("success", not c["problem"])
            messages.append((tag, f"<{tag}>{body_xml}</{tag}>"))
        details = ("<details>" + "".join(x for t, x in messages if t == "componentFailures")
                   + "".join(x for t, x in messages if t == "componentSuccesses") + "</details>")
    else:
        details = "<details/>"
    return ("<result>" + element("checkOnly", result["checkOnly"])
            + element("completedDate", _dt(result["completedDate"])) + element("createdBy", result["createdBy"])
            + element("createdByName", users.get(result["createdBy"], "")) + element("createdDate",
                                                                                     _dt(result["createdDate"]))
            + details + element("done", True)
            + (element("errorMessage", error) + element("errorStatusCode", "UNKNOWN_EXCEPTION") if error else "")
            + element("id", result["id"]) + element("ignoreWarnings", result["ignoreWarnings"])
            + element("lastModifiedDate", _dt(result["completedDate"]))
            + element("numberComponentErrors", len(failures)) + element("numberComponentsDeployed", deployed)
            + element("numberComponentsTotal", len(components)) + element("numberTestErrors", 0)
            + element("numberTestsCompleted", 0) + element("numberTestsTotal", 0)
            + element("rollbackOnError", result["rollbackOnError"]) + element("runTestsEnabled", False)
            + element("startDate", _dt(result["createdDate"])) + element("status", status)
            + element("success", success) + "</result>")


def _dt(value: str) -> str:
    return value[:-5] + "Z" if value.endswith("+0000") else value

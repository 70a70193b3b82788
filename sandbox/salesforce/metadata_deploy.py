"""Metadata API file-based deploy: ``deploy`` (a base64 zip + DeployOptions -> AsyncResult) and
``checkDeployStatus`` (-> DeployResult with componentSuccesses / componentFailures), as simple-salesforce's
``sf.deploy()`` / ``sf.checkDeployStatus()`` send them (hand-written envelopes POSTed to
``{metadata_url}deployRequest[/{id}]``).

The zip is a single package: ``package.xml`` at its root naming ``<types><members/><name/></types>``. Supported
types: ``CustomObject`` (``objects/X.object``; ``__e`` ones become platform events exactly as createMetadata makes
them), ``ApexClass`` (``classes/X.cls`` + ``-meta.xml``), ``AuraDefinitionBundle`` (``aura/X/``),
``LightningComponentBundle`` (``lwc/X/``), stored so that listMetadata/readMetadata see them, and
``PlatformEventChannel``/``PlatformEventChannelMember`` (``metadata_channels``). The deploy runs at once (the
AsyncResult says ``Queued``; the first checkDeployStatus says done). Every component is checked before any is
written: with ``rollbackOnError`` (simple-salesforce forces it unless ``sandbox=True``) one failure deploys nothing;
without it the rest are deployed (``SucceededPartial``).

Deletions: ``destructiveChanges.xml`` / ``destructiveChangesPre.xml`` (deleted before the package's components are
written) and ``destructiveChangesPost.xml`` (after), same format as package.xml. A deleted platform event stops
being publishable. A component to delete that is not there is a Warning ("No ApexClass named: X found"), as in
Salesforce: it fails the deploy unless ``ignoreWarnings``, and with it is reported and skipped.

Tests: the emulator runs no Apex, but it checks what Salesforce would refuse before running any. ``testLevel``
must be one of the TestLevel values; ``RunSpecifiedTests`` without ``runTests`` is the deploy call's own fault
(INVALID_OPERATION); a class in ``runTests`` that is neither in the zip nor in the org after the deletions, or
that is not ``@IsTest``, is a test failure in ``runTestResult`` and fails the whole deploy (nothing is written,
whatever rollbackOnError says). Tests that would run report as run, with no failures and no coverage.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import zipfile
from typing import Any

from .metadata_base import MetadataError, one
from .metadata_bundles import APEX_CLASS, AURA_BUNDLE, BUNDLE_HANDLERS, BundleHandler
from .metadata_channels import CHANNEL_HANDLERS
from .metadata_objects import CustomObjectHandler
from .metadata_xml import Fault, Raw, element, validate
from .metadata_zip import xml_raw
from .org import Org

__all__ = ["DEPLOY_TYPE", "deploy", "is_failure", "option_flag"]

DEPLOY_TYPE = "_DeployRequest"  # where deploy results are kept (not a Metadata type: never listed)
MAX_ZIP_BYTES = 39 * 1024 * 1024  # the documented limits: ~39 MB zipped, 400 MB unzipped
MAX_UNZIPPED_BYTES = 400 * 1024 * 1024


_CUSTOM_OBJECT = CustomObjectHandler()
DEPLOYABLE = ("ApexClass", "AuraDefinitionBundle", "CustomObject", "LightningComponentBundle", *CHANNEL_HANDLERS)
TEST_LEVELS = ("NoTestRun", "RunSpecifiedTests", "RunLocalTests", "RunAllTestsInOrg")
DESTRUCTIVE_PRE = ("destructiveChanges.xml", "destructiveChangesPre.xml")
DESTRUCTIVE_POST = ("destructiveChangesPost.xml",)


@dataclasses.dataclass
class _Component:
    type_name: str
    full_name: str
    file_name: str
    raw: Raw | None = None  # what to store (validated), None after a failure
    problem: str | None = None
    problem_type: str = "Error"  # or "Warning": fails the deploy only without ignoreWarnings
    created: bool = False
    delete: str | None = None  # "pre" or "post": a deletion (from a destructiveChanges manifest), not a write


# -- the zip ------------------------------------------------------------------------------------------------


def _package(files: dict[str, bytes], name: str = "package.xml") -> list[tuple[str, str]]:
    """(type, member) pairs from a manifest (package.xml or a destructiveChanges*.xml), in its order; a Fault-free
    MetadataError when unusable."""
    if name not in files:
        raise MetadataError("INVALID_PACKAGE", f"No {name} found")
    package = xml_raw(files[name], "Package", name)
    pairs = []
    for block in package.get("types") or []:
        if not isinstance(block, dict):
            continue
        type_name = str(one(block, "name", ""))
        for member in block.get("members") or []:
            pairs.append((type_name, str(member)))
    return pairs


def _file_name(type_name: str, member: str) -> str:
    if type_name in CHANNEL_HANDLERS:
        return CHANNEL_HANDLERS[type_name].file_name(member)
    if type_name == "CustomObject":
        return f"objects/{member}.object"
    if type_name == "ApexClass":
        return f"classes/{member}.cls"
    directory = "aura" if type_name == "AuraDefinitionBundle" else "lwc"
    return f"{directory}/{member}"


def _not_in_zip(type_name: str, member: str) -> MetadataError:
    return MetadataError(
        "INVALID_PACKAGE",
        f"An object '{member}' of type {type_name} was named in package.xml, but was not found in zipped directory",
    )


def _bundle_raw(handler: BundleHandler, member: str, files: dict[str, bytes], meta_name: str, main_file: str) -> Raw:
    folder = f"{handler.directory}/{member}/" if handler is not APEX_CLASS else ""
    if main_file not in files:
        raise _not_in_zip(handler.type_name, member)
    if meta_name not in files:
        raise MetadataError(
            "INVALID_PACKAGE", f"Could not find the metadata file {meta_name} for {handler.type_name} {member}"
        )
    raw = xml_raw(files[meta_name], handler.type_name, meta_name)
    _validate(raw, handler.type_name)
    if handler is APEX_CLASS:
        body = files[main_file].decode("utf-8", "replace")
        if f"class {member.lower()}" not in " ".join(body.lower().split()):
            raise MetadataError("INVALID_PACKAGE", f"Invalid class name: the file declares no class {member}")
        raw["content"] = [base64.b64encode(files[main_file]).decode()]
    else:
        raw["_files"] = [
            {
                path[len(folder) :]: base64.b64encode(data).decode()
                for path, data in sorted(files.items())
                if path.startswith(folder)
            }
        ]
    return {"fullName": [member], **raw}


def _validate(raw: Raw, type_name: str) -> None:
    try:
        validate(raw, type_name)
    except Fault as fault:
        raise MetadataError("INVALID_PACKAGE", fault.message) from None


def _prepare(org: Org, type_name: str, member: str, files: dict[str, bytes]) -> tuple[Raw, bool]:
    """Read and check one component; (what to store, whether it is new). MetadataError when it fails."""
    if type_name == "CustomObject" or type_name in CHANNEL_HANDLERS:  # one file of the type's XML
        file_name = _file_name(type_name, member)
        if file_name not in files:
            raise _not_in_zip(type_name, member)
        raw = {"fullName": [member], **xml_raw(files[file_name], type_name, file_name)}
        _validate(raw, type_name)
        if type_name in CHANNEL_HANDLERS:
            CHANNEL_HANDLERS[type_name].check(org, raw, files)
            return raw, org.store.metadata(type_name, member) is None
        existing = org.store.metadata("CustomObject", member)
        if existing is None and not member.endswith(("__e", "__c")):
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION", f"CustomObject fullName '{member}' must end with __c or __e"
            )
        _CUSTOM_OBJECT.prepare(org, raw, existing)
        return raw, existing is None
    handler = next(h for h in BUNDLE_HANDLERS if h.type_name == type_name)
    if handler is APEX_CLASS:
        main, meta = f"classes/{member}.cls", f"classes/{member}.cls-meta.xml"
    elif handler is AURA_BUNDLE:
        main = next(
            (
                f"aura/{member}/{member}.{ext}"
                for ext in ("cmp", "app", "evt", "intf", "tokens")
                if f"aura/{member}/{member}.{ext}" in files
            ),
            f"aura/{member}/{member}.cmp",
        )
        meta = f"{main}-meta.xml"
    else:
        main, meta = f"lwc/{member}/{member}.js", f"lwc/{member}/{member}.js-meta.xml"
    raw = _bundle_raw(handler, member, files, meta, main)
    return raw, org.store.metadata(type_name, member) is None


def _write(org: Org, type_name: str, raw: Raw, user_id: str) -> None:
    if type_name in CHANNEL_HANDLERS:
        return CHANNEL_HANDLERS[type_name].deploy_write(org, raw, user_id)
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


def option_flag(options: Raw, name: str, default: bool = False) -> bool:
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
    check_only = option_flag(options, "checkOnly")
    rollback = option_flag(options, "rollbackOnError", True)
    ignore_warnings = option_flag(options, "ignoreWarnings")
    test_level, run_tests = _test_options(options)
    deploy_id = org.store.new_id("0Af")
    started = org.now()
    components, error, test_failures = _run(
        org,
        data,
        user_id,
        check_only=check_only,
        rollback=rollback,
        ignore_warnings=ignore_warnings,
        run_tests=run_tests,
    )
    org.store.put_metadata(
        DEPLOY_TYPE,
        deploy_id,
        {
            "id": deploy_id,
            "createdBy": user_id,
            "createdDate": started,
            "completedDate": org.now(),
            "checkOnly": check_only,
            "rollbackOnError": rollback,
            "ignoreWarnings": ignore_warnings,
            "testLevel": test_level,
            "runTests": run_tests,
            "testFailures": test_failures,
            "error": error,
            "components": [dataclasses.asdict(c) | {"raw": None} for c in components],
        },
    )
    return f"<result>{element('done', False)}{element('id', deploy_id)}{element('state', 'Queued')}</result>"


def _test_options(options: Raw) -> tuple[str | None, list[str]]:
    """(testLevel, runTests) from DeployOptions; the faults Salesforce answers the deploy call itself with."""
    test_level = str(one(options, "testLevel", "") or "").strip() or None
    run_tests = [str(name).strip() for name in options.get("runTests") or [] if str(name or "").strip()]
    if test_level is not None and test_level not in TEST_LEVELS:
        raise Fault("soapenv:Client", f"'{test_level}' is not a valid value for the enum 'TestLevel'")
    if test_level == "RunSpecifiedTests" and not run_tests:
        raise Fault(
            "sf:INVALID_OPERATION",
            "INVALID_OPERATION: runTests must not be empty when a testLevel of RunSpecifiedTests is used",
        )
    return test_level, run_tests if test_level == "RunSpecifiedTests" else []


def is_failure(component: _Component | dict[str, Any], ignore_warnings: bool) -> bool:
    problem, kind = (
        (component.problem, component.problem_type)
        if isinstance(component, _Component)
        else (component["problem"], component.get("problem_type", "Error"))
    )
    return bool(problem) and (kind != "Warning" or not ignore_warnings)


def _deletions(org: Org, files: dict[str, bytes], names: tuple[str, ...], when: str) -> list[_Component]:
    """The components a destructiveChanges manifest names, each checked: unknown type, or not there (a Warning)."""
    deletions = []
    for manifest in names:
        if manifest not in files:
            continue
        try:
            pairs = _package(files, manifest)
        except MetadataError as exc:
            deletions.append(_Component("", manifest, manifest, problem=exc.message))
            continue
        for type_name, member in pairs:
            component = _Component(
                type_name, member, _file_name(type_name, member) if type_name in DEPLOYABLE else manifest, delete=when
            )
            if type_name not in DEPLOYABLE:
                component.problem = f"Unknown type name '{type_name}' specified in {manifest}"
            elif org.store.metadata(type_name, member) is None:
                component.problem, component.problem_type = f"No {type_name} named: {member} found", "Warning"
            deletions.append(component)
    return deletions


def _delete(org: Org, component: _Component, user_id: str) -> None:
    if component.type_name in CHANNEL_HANDLERS:  # a channel's members go with it
        CHANNEL_HANDLERS[component.type_name].deploy_delete(org, component.full_name, user_id)
    elif component.type_name == "CustomObject":
        _CUSTOM_OBJECT.delete(org, component.full_name, user_id)  # reloads the events: no longer publishable
    else:
        next(h for h in BUNDLE_HANDLERS if h.type_name == component.type_name).delete(org, component.full_name, user_id)


def _test_failures(org: Org, run_tests: list[str], components: list[_Component]) -> list[dict[str, str]]:
    """Each runTests class that could not run: not in the zip nor left in the org, or not a test class."""
    deploying = {
        c.full_name: c.raw for c in components if c.type_name == "ApexClass" and c.raw is not None and not c.delete
    }
    deleting = {c.full_name for c in components if c.type_name == "ApexClass" and c.delete and not c.problem}
    failures = []
    for name in run_tests:
        raw = deploying.get(name)
        if raw is None and name not in deleting:
            raw = org.store.metadata("ApexClass", name)
        body = base64.b64decode(str(one(raw, "content", "") or "")).decode("utf-8", "replace") if raw else ""
        if "@istest" not in body.lower():
            failures.append(
                {
                    "name": name,
                    "message": f"This class name's value is invalid: {name}. Provide the "
                    "name of an Apex class that has test methods.",
                }
            )
    return failures


def _run(
    org: Org,
    data: bytes,
    user_id: str,
    *,
    check_only: bool,
    rollback: bool,
    ignore_warnings: bool = False,
    run_tests: list[str] | None = None,
) -> tuple[list[_Component], str | None, list[dict[str, str]]]:
    """Check every component and the tests to run, then write the good ones and make the deletions (none if one
    failed and rollback is on, or a test could not run)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                return [], "The zip file exceeds the maximum size of 400 MB unzipped", []
            files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, ValueError) as exc:
        return [], f"Error reading the zip file: {exc}", []
    try:
        pairs = _package(files)
    except MetadataError as exc:
        return [_Component("", "package.xml", "package.xml", problem=exc.message)], None, []
    components = _deletions(org, files, DESTRUCTIVE_PRE, "pre")
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
    components += _deletions(org, files, DESTRUCTIVE_POST, "post")
    test_failures = _test_failures(org, run_tests or [], components)
    failed = any(is_failure(c, ignore_warnings) for c in components)
    if check_only or (failed and rollback) or test_failures:
        return components, None, test_failures
    with org.store.batch():
        for when in ("pre", None, "post"):  # pre-deletions, then the package's components, then post-deletions
            for component in (c for c in components if c.delete == when and not c.problem):
                try:
                    if when is None:
                        assert component.raw is not None
                        _write(org, component.type_name, component.raw, user_id)
                    else:
                        _delete(org, component, user_id)
                except MetadataError as exc:
                    component.problem = exc.message
    return components, None, test_failures

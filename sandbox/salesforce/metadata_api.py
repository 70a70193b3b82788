"""``POST /services/Soap/m/{version}/``: the CRUD-based Metadata API calls (create/read/update/upsert/
delete/listMetadata, describeMetadata), and the file-based ``deploy``/``checkDeployStatus`` (see metadata_deploy;
simple-salesforce posts those to ``.../deployRequest[/{id}]``). Session from ``<SessionHeader><sessionId>``;
an invalid session is a SOAP fault ``sf:INVALID_SESSION_ID`` with HTTP 500, as the real API answers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .metadata_deploy import deploy
from .metadata_deploy_status import check_deploy_status
from .metadata_types import HANDLERS, MetadataError, one
from .metadata_xml import Fault, Raw, element, envelope, fault_xml, parse_request, raw_to_xml, validate, wsdl
from .oauth import authenticate
from .org import Org

__all__ = ["MetadataApi"]

MAX_COMPONENTS = 10
WRITES = frozenset({"deploy", "createMetadata", "updateMetadata", "upsertMetadata", "deleteMetadata", "renameMetadata"})


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/xml;charset=UTF-8")


def _errors(error: MetadataError) -> str:
    fields = "".join(element("fields", f) for f in error.fields)
    return f"<errors>{fields}{element('message', error.message)}{element('statusCode', error.status_code)}</errors>"


class MetadataApi:
    def __init__(self, org: Org) -> None:
        self.org = org

    async def __call__(self, request: Request) -> Response:
        if request.method != "POST":
            return _xml(fault_xml("soapenv:Client", "Only POST is supported"), 405)
        log: dict[str, Any] = request.scope.setdefault("sandbox.log", {})
        try:
            call = parse_request(await request.body())
            log.update(operation=call.operation, write=call.operation in WRITES)
            try:
                user_id = authenticate(self.org, call.session_id)
            except ApiError:
                raise Fault(
                    "sf:INVALID_SESSION_ID",
                    "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
                ) from None
            used, limit = self.org.count_api_call()
            if used > limit:
                raise Fault("sf:REQUEST_LIMIT_EXCEEDED", "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.")
            handler = getattr(self, f"_op_{call.operation}", None)
            if handler is None:
                raise Fault(
                    "sf:INVALID_OPERATION", f"INVALID_OPERATION: {call.operation} is not supported by the sandbox"
                )
            body = handler(call.body, call.types, user_id)
        except Fault as fault:
            return _xml(fault_xml(fault.code, fault.message), 500)
        return _xml(envelope(f"<{call.operation}Response>{body}</{call.operation}Response>"))

    # -- helpers -----------------------------------------------------------------------------------------
    def _handler(self, type_name: str | None) -> Any:
        if not type_name:
            raise Fault(
                "sf:INVALID_TYPE",
                "INVALID_TYPE: Must specify a {http://www.w3.org/2001/XMLSchema-instance}"
                "type attribute value for the {http://soap.sforce.com/2006/04/metadata}metadata element",
            )
        if not wsdl().is_metadata_type(type_name):
            raise Fault("sf:INVALID_TYPE", f"INVALID_TYPE: Unknown type name '{type_name}' specified")
        handler = HANDLERS.get(type_name)
        if handler is None:
            raise Fault("sf:INVALID_TYPE", f"INVALID_TYPE: The sandbox does not emulate metadata type '{type_name}'")
        return handler

    def _components(self, body: Raw, types: list[str | None]) -> list[tuple[Any, Raw]]:
        items = body.get("metadata") or []
        if len(items) > MAX_COMPONENTS:
            raise Fault("sf:LIMIT_EXCEEDED", f"LIMIT_EXCEEDED: Too many components: at most {MAX_COMPONENTS} per call")
        if len({t for t in types}) > 1:
            raise Fault("sf:INVALID_TYPE", "INVALID_TYPE: all components in one call must have the same type")
        out = []
        for raw, type_name in zip(items, types, strict=True):
            handler = self._handler(type_name)
            component = raw if isinstance(raw, dict) else {}
            validate(component, handler.type_name)
            out.append((handler, component))
        return out

    def _names(self, body: Raw) -> tuple[Any, list[str]]:
        handler = self._handler(one(body, "type"))
        names = [str(n) for n in body.get("fullNames") or [] if n]
        if len(names) > MAX_COMPONENTS:
            raise Fault("sf:LIMIT_EXCEEDED", f"LIMIT_EXCEEDED: Too many components: at most {MAX_COMPONENTS} per call")
        return handler, names

    @staticmethod
    def _result(full_name: str, error: MetadataError | None, extra: str = "") -> str:
        if error is None:
            return f"<result>{extra}{element('fullName', full_name)}{element('success', True)}</result>"
        return f"<result>{extra}{_errors(error)}{element('fullName', full_name)}{element('success', False)}</result>"

    def _save(self, body: Raw, types: list[str | None], user_id: str, action: str) -> str:
        results = []
        for handler, raw in self._components(body, types):
            full_name = str(one(raw, "fullName", ""))
            error = None
            try:
                getattr(handler, action)(self.org, raw, user_id)
            except MetadataError as exc:
                error = exc
            results.append(self._result(full_name, error))
        return "".join(results)

    # -- operations ----------------------------------------------------------------------------------------
    def _op_createMetadata(self, body: Raw, types: list[str | None], user_id: str) -> str:
        return self._save(body, types, user_id, "create")

    def _op_updateMetadata(self, body: Raw, types: list[str | None], user_id: str) -> str:
        return self._save(body, types, user_id, "update")

    def _op_upsertMetadata(self, body: Raw, types: list[str | None], user_id: str) -> str:
        results = []
        for handler, raw in self._components(body, types):
            full_name = str(one(raw, "fullName", ""))
            created = not (full_name and handler.exists(self.org, full_name))
            error = None
            try:
                (handler.create if created else handler.update)(self.org, raw, user_id)
            except MetadataError as exc:
                error = exc
            created_xml = element("created", created and error is None)
            if error is None:
                results.append(
                    f"<result>{created_xml}{element('fullName', full_name)}{element('success', True)}</result>"
                )
            else:
                results.append(
                    f"<result>{created_xml}{_errors(error)}{element('fullName', full_name)}"
                    f"{element('success', False)}</result>"
                )
        return "".join(results)

    def _op_deleteMetadata(self, body: Raw, types: list[str | None], user_id: str) -> str:
        handler, names = self._names(body)
        results = []
        for name in names:
            error = None
            try:
                handler.delete(self.org, name, user_id)
            except MetadataError as exc:
                error = exc
            results.append(self._result(name, error))
        return "".join(results)

    def _op_readMetadata(self, body: Raw, types: list[str | None], user_id: str) -> str:
        handler, names = self._names(body)
        records = []
        for name in names:
            raw = handler.read(self.org, name)
            if raw is None:
                records.append('<records xsi:nil="true"/>')
            else:
                records.append(
                    f'<records xsi:type="{handler.type_name}">{raw_to_xml(raw, handler.type_name)}</records>'
                )
        return f"<result>{''.join(records)}</result>"

    def _op_listMetadata(self, body: Raw, types: list[str | None], user_id: str) -> str:
        queries = [q for q in body.get("queries") or [] if isinstance(q, dict)]
        if len(queries) > 3:
            raise Fault("sf:INVALID_OPERATION", "INVALID_OPERATION: at most 3 queries per listMetadata call")
        out = []
        names = {r["Id"]: r.get("Name", "") for r in self.org.live("User")}
        for query in queries:
            handler = self._handler(one(query, "type"))
            for item in handler.listing(self.org):
                out.append(
                    "<result>"
                    + element("createdById", item.created_by)
                    + element("createdByName", names.get(item.created_by, ""))
                    + element("createdDate", _soap_datetime(item.created))
                    + element(
                        "fileName",
                        f"{handler.directory}/{item.full_name}" + (f".{handler.suffix}" if handler.suffix else ""),
                    )
                    + element("fullName", item.full_name)
                    + element("id", item.id)
                    + element("lastModifiedById", item.modified_by)
                    + element("lastModifiedByName", names.get(item.modified_by, ""))
                    + element("lastModifiedDate", _soap_datetime(item.modified))
                    + element("manageableState", "unmanaged")
                    + element("type", handler.type_name)
                    + "</result>"
                )
        return "".join(out)

    def _op_deploy(self, body: Raw, types: list[str | None], user_id: str) -> str:
        return deploy(self.org, body, user_id)

    def _op_checkDeployStatus(self, body: Raw, types: list[str | None], user_id: str) -> str:
        return check_deploy_status(self.org, body, user_id)

    def _op_describeMetadata(self, body: Raw, types: list[str | None], user_id: str) -> str:
        objects = "".join(
            "<metadataObjects>"
            + element("directoryName", h.directory)
            + element("inFolder", False)
            + element("metaFile", False)
            + element("suffix", h.suffix)
            + element("xmlName", h.type_name)
            + "</metadataObjects>"
            for h in HANDLERS.values()
        )
        return (
            f"<result>{objects}<organizationNamespace></organizationNamespace>"
            f"{element('partialSaveAllowed', True)}{element('testRequired', False)}</result>"
        )


def _soap_datetime(value: str) -> str:
    """``2024-05-01T12:00:00.000+0000`` -> ``2024-05-01T12:00:00.000Z`` (xsd:dateTime)."""
    return value[:-5] + "Z" if value.endswith("+0000") else value

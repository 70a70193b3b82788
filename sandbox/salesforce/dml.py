"""sObject writes through the REST API: body validation in the real API's order and error shapes, then the
per-object rules (unique developer names, SetupEntityAccess grants, references) and audit fields."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from .errors import ApiError, not_found
from .ids import is_id, make_id
from .org import Org, format_datetime
from .schema import STRING_TYPES, FieldDef, ObjectDef

__all__ = ["DEVELOPER_NAME_RE", "create", "delete", "parse_body", "stamp", "update"]

DEVELOPER_NAME_RE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<!_)$")
VERBS = {"create": "inserted", "update": "updated", "delete": "deleted"}


def parse_body(raw: bytes) -> dict[str, Any]:
    """Parse a JSON request body into an object, or raise JSON_PARSER_ERROR like the real API."""
    if not raw.strip():
        raise ApiError(400, "JSON_PARSER_ERROR", "No content to map due to end-of-input at [line:1, column:0]")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f"at [line:{exc.lineno}, column:{exc.colno}]" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.args[0]} {where}".strip()) from None
    if not isinstance(body, dict):
        kind = "START_ARRAY" if isinstance(body, list) else "VALUE_STRING"
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of SObject from {kind} value at [line:1, column:1]"
        )
    body.pop("attributes", None)
    return body


def require_call(obj: ObjectDef, call: str) -> None:
    if call not in obj.calls:
        raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {VERBS[call]}: {obj.label}")


def stamp(obj: ObjectDef, record: dict[str, Any], user_id: str, now: str, *, created: bool) -> None:
    stamps: dict[str, Any] = {"LastModifiedDate": now, "LastModifiedById": user_id, "SystemModstamp": now}
    if created:
        stamps.update({"CreatedDate": now, "CreatedById": user_id, "IsDeleted": False})
    for name, value in stamps.items():
        if obj.field(name) is not None:
            record[name] = value


def _coerce(org: Org, obj: ObjectDef, f: FieldDef, value: Any) -> Any:
    def parser_error(kind: str) -> ApiError:
        shown = json.dumps(value) if not isinstance(value, str) else value
        return ApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {kind} from "
            f"{_json_kind(value)} value {shown} or request may be missing a required field",
        )

    if value is None:
        if not f.nillable and not f.defaulted:
            raise ApiError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name])
        return None
    if isinstance(value, dict | list):
        raise parser_error(f.type)
    if f.type in STRING_TYPES:
        return _text(f, value)
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise parser_error("boolean")
    if f.type in ("int", "double"):
        if isinstance(value, bool):
            raise parser_error(f.type)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise parser_error(f.type) from None
        return int(number) if f.type == "int" else number
    if f.type == "datetime":
        try:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise parser_error("Date") from None
        return format_datetime(parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC))
    if f.type in ("reference", "id"):
        return _reference(org, f, value)
    return value  # pragma: no cover


def _text(f: FieldDef, value: Any) -> str:
    """A string-like field: within its length, one of its values when a restricted picklist."""
    text = value if isinstance(value, str) else json.dumps(value)
    if f.length and len(text) > f.length:
        raise ApiError(
            400,
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {text[:40]} (max length={f.length})",
            [f.name],
        )
    if f.picklist and text not in f.picklist:
        raise ApiError(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.label}: bad value for restricted picklist field: {text}",
            [f.name],
        )
    return text


def _reference(org: Org, f: FieldDef, value: Any) -> str:
    """An id field: well formed, of a live record, of an object the field may point at."""
    if not isinstance(value, str) or not is_id(value):
        raise ApiError(400, "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
    found = org.store.find(value)
    if found is None or found[1].get("IsDeleted"):
        raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
    sobject, record = found
    if f.reference_to and sobject not in f.reference_to:
        raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name])
    return record["Id"]


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int | float):
        return "VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING"


def _validate(org: Org, obj: ObjectDef, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    unknown = [name for name in body if obj.field(name) is None]
    if unknown:
        raise ApiError(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {obj.name}")
    fields = {name: obj.field(name) for name in body}
    allowed = "createable" if creating else "updateable"
    locked = [f.name for f in fields.values() if f is not None and not getattr(f, allowed)]
    if locked:
        raise ApiError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(locked)}. Please check the security settings "
            "of this field and verify that it is read/write for your profile or permission set.",
            locked,
        )
    values: dict[str, Any] = {}
    for name, value in body.items():
        f = fields[name]
        assert f is not None
        values[f.name] = _coerce(org, obj, f, value)
    if creating:
        missing = [f.name for f in obj.fields if f.required_on_create and values.get(f.name) is None]
        if missing:
            raise ApiError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
    return values


def _unique(org: Org, obj: ObjectDef, record: dict[str, Any], names: tuple[str, ...]) -> None:
    if len(names) == 1:  # indexed lookup: developer names, related entities
        value = record.get(names[0])
        others = org.store.lookup(obj.name, names[0], value) - {record.get("Id")} if isinstance(value, str) else set()
        if others:
            raise ApiError(
                400,
                "DUPLICATE_VALUE",
                f"duplicate value found: {names[0]} duplicates value on record with id: {min(others)}",
                list(names),
            )
        return
    for other in org.live(obj.name):
        if other["Id"] != record.get("Id") and all(other.get(n) == record.get(n) for n in names):
            raise ApiError(
                400,
                "DUPLICATE_VALUE",
                "duplicate value found: <unknown> duplicates value on record with id: <unknown>",
                [],
            )


def _developer_name(record: dict[str, Any]) -> None:
    name = record.get("DeveloperName")
    if name is not None and not DEVELOPER_NAME_RE.match(name):
        raise ApiError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "The Developer Name can only contain underscores and alphanumeric characters. It must be "
            "unique, begin with a letter, not include spaces, not end with an underscore, and not "
            "contain two consecutive underscores.",
            ["DeveloperName"],
        )


def _check_setup_entity_access(org: Org, record: dict[str, Any]) -> None:
    found = org.store.find(record["SetupEntityId"])
    assert found is not None  # _coerce checked the reference
    record["SetupEntityType"] = found[0] if found[0] != "ConnectedApp" else "ConnectedApplication"
    _unique(org, org.require_object("SetupEntityAccess"), record, ("ParentId", "SetupEntityId"))


def _check_status(org: Org, record: dict[str, Any]) -> None:
    _developer_name(record)
    _unique(org, org.require_object("ServicePresenceStatus"), record, ("DeveloperName",))


def _check_channel(org: Org, record: dict[str, Any]) -> None:
    _developer_name(record)
    _unique(org, org.require_object("ServiceChannel"), record, ("DeveloperName",))
    _unique(org, org.require_object("ServiceChannel"), record, ("RelatedEntity",))


def _check_channel_status(org: Org, record: dict[str, Any]) -> None:
    _unique(org, org.require_object("ServiceChannelStatus"), record, ("ServicePresenceStatusId", "ServiceChannelId"))


RULES: dict[str, Callable[[Org, dict[str, Any]], None]] = {
    "ServicePresenceStatus": _check_status,
    "ServiceChannel": _check_channel,
    "ServiceChannelStatus": _check_channel_status,
    "SetupEntityAccess": _check_setup_entity_access,
}


def create(org: Org, obj: ObjectDef, body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Insert a record (or publish a platform event); returns the REST create response body."""
    require_call(obj, "create")
    values = _validate(org, obj, body, creating=True)
    if obj.is_event:
        return _publish(org, obj, values, user_id)
    for f in obj.fields:
        if f.defaulted and f.name == "Language" and values.get("Language") is None:
            values["Language"] = "en_US"
    record = {"Id": None, **{f.name: None for f in obj.fields if f.name != "Id"}, **values}
    rule = RULES.get(obj.name)
    if rule:
        rule(org, record)
    record["Id"] = org.store.new_id(obj.key_prefix)
    stamp(obj, record, user_id, org.now(), created=True)
    org.store.save(obj.name, record)
    return {"id": record["Id"], "success": True, "errors": []}


def _publish(org: Org, obj: ObjectDef, values: dict[str, Any], user_id: str) -> dict[str, Any]:
    org.published_events += 1
    event_uuid = str(uuid.uuid4())
    event = {**values, "CreatedDate": org.now(), "CreatedById": user_id, "EventUuid": event_uuid}
    replay_id = org.store.append_event(obj.name, event)
    event["ReplayId"] = str(replay_id)
    for listener in org.event_listeners:
        listener(obj.name, event, user_id)
    return {
        "id": make_id("e00", org.published_events),
        "success": True,
        "errors": [{"statusCode": "OPERATION_ENQUEUED", "message": event_uuid, "fields": []}],
    }


def live_record(org: Org, obj: ObjectDef, record_id: str, *, deleting: bool = False) -> dict[str, Any]:
    record = org.store.get(obj.name, record_id) if is_id(record_id) else None
    if record is None:
        raise not_found()
    if record.get("IsDeleted"):
        if deleting:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        raise not_found()
    return record


def update(org: Org, obj: ObjectDef, record_id: str, body: dict[str, Any], user_id: str) -> None:
    require_call(obj, "update")
    record = live_record(org, obj, record_id)
    values = _validate(org, obj, body, creating=False)
    changed = {**record, **values}
    rule = RULES.get(obj.name)
    if rule:
        rule(org, changed)
    stamp(obj, changed, user_id, org.now(), created=False)
    org.store.save(obj.name, changed)


def delete(org: Org, obj: ObjectDef, record_id: str, user_id: str) -> None:
    require_call(obj, "delete")
    record = live_record(org, obj, record_id, deleting=True)
    if obj.field("IsDeleted") is None:  # objects without a recycle bin (SetupEntityAccess) go for good
        org.store.purge(obj.name, record["Id"])
        return
    deleted = {**record, "IsDeleted": True}
    stamp(obj, deleted, user_id, org.now(), created=False)
    org.store.save(obj.name, deleted)

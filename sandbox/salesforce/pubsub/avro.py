"""Avro schemas and payloads of the events the Pub/Sub API delivers, built from the org's object definitions.

* A change event topic ``/data/<Entity>ChangeEvent`` has a record ``<Entity>ChangeEvent`` (namespace
  ``com.sforce.eventbus``) whose first field is ``ChangeEventHeader`` and whose other fields are the entity's
  (``Id``, ``IsDeleted`` and ``SystemModstamp`` left out: the header's ``recordIds`` names the record). Every
  field is in every event; fields the change did not touch are null. Date-times are epoch milliseconds.
* ``changedFields``/``nulledFields``/``diffFields`` are bitmaps over the schema's field order: a list whose
  first element is ``0x`` + hexadecimal, bit *i* (least significant first) set when the field at position *i*
  is named. (Compound fields' ``<parent>-0x..`` elements are not produced: this org has no compound fields.)
* A platform event topic ``/event/<Name>__e`` has a record ``<Name>__e`` with the event's fields.

A schema's id is a fingerprint of its parsing canonical form (modelled: the real ids are opaque hashes too).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime
from typing import Any

import fastavro

from ..schema import FieldDef, ObjectDef

__all__ = ["CHANGE_TYPES", "EventSchema", "bitmap", "change_event_schema", "platform_event_schema"]

NAMESPACE = "com.sforce.eventbus"
LEFT_OUT_OF_CHANGE_EVENTS = frozenset({"Id", "IsDeleted", "SystemModstamp"})
CHANGE_TYPES = (
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
    "SNAPSHOT",
)
_AVRO_TYPES = {"boolean": "boolean", "int": "int", "double": "double", "datetime": "long"}


def _optional(field: FieldDef) -> dict[str, Any]:
    return {"name": field.name, "type": ["null", _AVRO_TYPES.get(field.type, "string")], "default": None}


def _header() -> dict[str, Any]:
    strings = {"type": "array", "items": "string"}
    return {
        "name": "ChangeEventHeader",
        "type": {
            "type": "record",
            "name": "ChangeEventHeader",
            "fields": [
                {"name": "entityName", "type": "string"},
                {"name": "recordIds", "type": strings},
                {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "symbols": list(CHANGE_TYPES)}},
                {"name": "changeOrigin", "type": "string"},
                {"name": "transactionKey", "type": "string"},
                {"name": "sequenceNumber", "type": "int"},
                {"name": "commitTimestamp", "type": "long"},
                {"name": "commitNumber", "type": "long"},
                {"name": "commitUser", "type": "string"},
                {"name": "nulledFields", "type": strings},
                {"name": "diffFields", "type": strings},
                {"name": "changedFields", "type": strings},
            ],
        },
    }


def bitmap(names: list[str], order: list[str]) -> list[str]:
    """Field names -> Salesforce's bitmap list (empty when no field is named)."""
    bits = 0
    for name in names:
        if name in order:
            bits |= 1 << order.index(name)
    return [f"0x{bits:X}"] if bits else []


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
        return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000)
    return value


class EventSchema:
    """One topic's schema: its JSON, id, field order, and how a stored event becomes Avro bytes."""

    def __init__(self, schema: dict[str, Any], datetime_fields: set[str], *, change_event: bool) -> None:
        self.json = json.dumps(schema, separators=(",", ":"))
        self.parsed = fastavro.parse_schema(schema)
        canonical = fastavro.schema.to_parsing_canonical_form(self.parsed)
        digest = hashlib.md5(canonical.encode(), usedforsecurity=False).digest()
        self.id = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        self.field_names = [f["name"] for f in schema["fields"]]
        self._datetimes = datetime_fields
        self._change_event = change_event

    def encode(self, stored: dict[str, Any]) -> bytes:
        record = {name: stored.get(name) for name in self.field_names}
        for name in self._datetimes:
            record[name] = _epoch_ms(record.get(name))
        if self._change_event:
            header = dict(stored["ChangeEventHeader"])
            for key in ("changedFields", "nulledFields", "diffFields"):
                header[key] = bitmap(list(header.get(key) or []), self.field_names)
            header["commitUser"] = header.get("commitUser") or ""
            record["ChangeEventHeader"] = header
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self.parsed, record)
        return buffer.getvalue()


def change_event_schema(obj: ObjectDef) -> EventSchema:
    fields = [f for f in obj.fields if f.name not in LEFT_OUT_OF_CHANGE_EVENTS]
    schema = {
        "type": "record",
        "name": f"{obj.name}ChangeEvent",
        "namespace": NAMESPACE,
        "fields": [_header(), *(_optional(f) for f in fields)],
    }
    return EventSchema(schema, {f.name for f in fields if f.type == "datetime"}, change_event=True)


def platform_event_schema(obj: ObjectDef) -> EventSchema:
    fields = [f for f in obj.fields if f.name not in ("Id", "ReplayId")]
    schema = {"type": "record", "name": obj.name, "namespace": NAMESPACE, "fields": [_optional(f) for f in fields]}
    return EventSchema(schema, {f.name for f in fields if f.type == "datetime"}, change_event=False)

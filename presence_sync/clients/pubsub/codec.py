"""Avro payloads of the Pub/Sub API -> typed change events.

Each ``ConsumerEvent`` carries a ``schema_id``; the schema (Avro, JSON) comes from ``GetSchema`` once per id
and is cached for the life of the process (an id names one schema for good). Change data capture headers
carry ``changedFields``/``nulledFields``/``diffFields`` as bitmaps over the schema's field order: the first
element is ``0x`` + hex, bit *i* counted from the least significant set when the schema's *i*-th field is
named; further ``<parent position>-0x<hex>`` elements name the fields of a compound field. Date-times are epoch
milliseconds. (Salesforce, "Event Deserialization Considerations"; docs/apis.md.)
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import fastavro

from presence_sync.clients.salesforce_models import PresenceChangeEvent

__all__ = ["SchemaCache", "bitmap_fields", "presence_change", "replay_number"]


def _record_fields(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(schema.get("fields") or [])


def _nested_record(field_type: Any) -> Mapping[str, Any] | None:
    """The record inside an optional compound field's type (``["null", {record}]``)."""
    for candidate in field_type if isinstance(field_type, list) else [field_type]:
        if isinstance(candidate, Mapping) and candidate.get("type") == "record":
            return candidate
    return None


def _set_bits(hex_text: str) -> list[int]:
    value = int(hex_text[2:] if hex_text.lower().startswith("0x") else hex_text, 16)
    return [i for i in range(value.bit_length()) if value >> i & 1]


def bitmap_fields(schema: Mapping[str, Any], bitmaps: list[str]) -> list[str]:
    """The field names a CDC bitmap list stands for (``Parent.Child`` for a compound field's parts)."""
    fields = _record_fields(schema)
    names: list[str] = []
    for entry in bitmaps:
        if entry.lower().startswith("0x"):
            names += [str(fields[i]["name"]) for i in _set_bits(entry) if i < len(fields)]
        elif "-" in entry:
            parent_position, child_bits = entry.split("-", 1)
            parent = fields[int(parent_position)]
            nested = _nested_record(parent.get("type"))
            if nested is not None:
                children = _record_fields(nested)
                names += [f"{parent['name']}.{children[i]['name']}" for i in _set_bits(child_bits) if i < len(children)]
    return names


class SchemaCache:
    """Schema JSON by id, fetched with ``fetch(schema_id)`` the first time an id is seen."""

    def __init__(self, fetch: Callable[[str], str]) -> None:
        self._fetch = fetch
        self._schemas: dict[str, tuple[dict[str, Any], Any]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._schemas)

    def get(self, schema_id: str) -> tuple[dict[str, Any], Any]:
        with self._lock:
            cached = self._schemas.get(schema_id)
        if cached is None:
            raw = json.loads(self._fetch(schema_id))
            cached = (raw, fastavro.parse_schema(raw))
            with self._lock:
                self._schemas[schema_id] = cached
        return cached

    def decode(self, schema_id: str, payload: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the schema JSON, the decoded record)."""
        raw, parsed = self.get(schema_id)
        record = fastavro.schemaless_reader(io.BytesIO(payload), parsed)
        assert isinstance(record, dict)
        return raw, record


def replay_number(replay_id: bytes) -> int:
    """A replay id as a number, for logs and ordering in tests only: the id itself is opaque."""
    return int.from_bytes(replay_id, "big")


def _time(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if isinstance(ms, int | float) else None


def presence_change(replay_id: bytes, schema: Mapping[str, Any], record: Mapping[str, Any]) -> PresenceChangeEvent:
    """A decoded ``UserServicePresenceChangeEvent``: header fields, changed fields by name, the row's values."""
    header: Mapping[str, Any] = record.get("ChangeEventHeader") or {}
    record_ids = list(header.get("recordIds") or [])
    fields = {k: v for k, v in record.items() if k != "ChangeEventHeader" and v is not None}
    return PresenceChangeEvent(
        replay_id=replay_number(replay_id),
        change_type=str(header.get("changeType") or "UPDATE"),
        record_id=record_ids[0] if record_ids else None,
        user_id=record.get("UserId"),
        status_id=record.get("ServicePresenceStatusId"),
        is_away=record.get("IsAway"),
        is_current=record.get("IsCurrentState"),
        commit_timestamp=_time(header.get("commitTimestamp")),
        commit_user=header.get("commitUser") or None,
        changed_fields=bitmap_fields(schema, list(header.get("changedFields") or [])),
        fields=fields,
    )

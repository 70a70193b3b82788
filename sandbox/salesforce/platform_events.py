"""Platform events (``X__e``) as sObjects: what a deployed CustomObject of an event becomes once the Metadata
API has created it -- its custom fields plus the standard event fields, publishable (create) only."""

from __future__ import annotations

from typing import Any

from .schema import CREATED_FIELDS, FieldDef, ObjectDef

__all__ = ["EVENT_FIELD_TYPES", "platform_event_object"]

# Platform event field types (CustomField.type in the Metadata API) -> our field types.
EVENT_FIELD_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Checkbox": "boolean",
    "Number": "double",
    "DateTime": "datetime",
    "Date": "datetime",
}


def platform_event_object(
    name: str, label: str, plural: str, fields: list[dict[str, Any]], key_prefix: str
) -> ObjectDef:
    """The sObject view of a deployed platform event: its custom fields plus the standard event fields."""
    defs = [
        FieldDef("ReplayId", "string", "Replay ID", length=255),
        *CREATED_FIELDS,
        FieldDef("EventUuid", "string", "Event UUID", length=36),
    ]
    for f in fields:
        defs.append(
            FieldDef(
                f["fullName"],
                EVENT_FIELD_TYPES.get(f.get("type", "Text"), "string"),
                f.get("label") or f["fullName"],
                createable=True,
                updateable=False,
                nillable=not f.get("required", False),
                length=int(f.get("length") or 0),
            )
        )
    return ObjectDef(name, key_prefix, label, plural, tuple(defs), frozenset({"create"}), is_event=True)

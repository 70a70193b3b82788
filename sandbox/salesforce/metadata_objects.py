"""Metadata API: CustomObject. Platform events (``__e``) become publishable sObjects; custom objects
(``__c``) are only stored."""

from __future__ import annotations

from typing import Any

from .dml import DEVELOPER_NAME_RE
from .metadata_base import MetadataError, StoredHandler, check_name, one, require
from .metadata_xml import Raw
from .org import Org
from .platform_events import EVENT_FIELD_TYPES

__all__ = ["CustomObjectHandler"]


class CustomObjectHandler(StoredHandler):
    """Platform events (``__e``) become publishable sObjects; custom objects (``__c``) are only stored."""

    type_name = "CustomObject"
    directory = "objects"
    suffix = "object"
    key_prefix = "01I"

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        name = str(one(raw, "fullName", ""))
        if not name.endswith(("__e", "__c")):
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION", f"CustomObject fullName '{name}' must end with __c or __e", ["fullName"]
            )
        check_name(self.type_name, name[:-3])
        self._create(org, raw, user_id)

    def _create(self, org: Org, raw: Raw, user_id: str) -> None:
        name = str(one(raw, "fullName"))
        if org.store.metadata(self.type_name, name) is not None:
            raise MetadataError(
                "DUPLICATE_DEVELOPER_NAME", f"There's already a CustomObject named {name}.", ["fullName"]
            )
        stored = self.prepare(org, raw, None)
        now = org.now()
        stored.update(
            _id=org.store.new_id(self.key_prefix), _created=now, _createdBy=user_id, _modified=now, _modifiedBy=user_id
        )
        if name.endswith("__e"):
            count = sum(1 for c in org.store.metadata_all(self.type_name) if "_keyPrefix" in c)
            stored["_keyPrefix"] = f"e{count + 1:02d}"
        org.store.put_metadata(self.type_name, name, stored)
        self.after_write(org)

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        require(raw, self.type_name, "label", "pluralLabel")
        is_event = str(one(raw, "fullName", "")).endswith("__e")
        seen = set()
        for field in raw.get("fields") or []:
            if not isinstance(field, dict):
                continue
            name = str(one(field, "fullName", ""))
            if not name.endswith("__c") or not DEVELOPER_NAME_RE.match(name[:-3]):
                raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"Invalid custom field name: {name}", ["fields"])
            if name.lower() in seen:
                raise MetadataError("DUPLICATE_DEVELOPER_NAME", f"Duplicate field: {name}", ["fields"])
            seen.add(name.lower())
            require(field, "CustomField", "label", "type")
            kind = one(field, "type")
            if is_event and kind not in EVENT_FIELD_TYPES:
                raise MetadataError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"Field type {kind} isn't supported on platform events ({name})",
                    ["type"],
                )
            if kind in ("Text", "LongTextArea") and not one(field, "length"):
                raise MetadataError("REQUIRED_FIELD_MISSING", f"Required field is missing: length ({name})", ["length"])
        stored = dict(raw)
        if existing and "_keyPrefix" in existing:
            stored["_keyPrefix"] = existing["_keyPrefix"]
        return stored

    def after_write(self, org: Org) -> None:
        org.reload_events()

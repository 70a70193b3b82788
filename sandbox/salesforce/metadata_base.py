"""Shared pieces of the Metadata API component handlers: the per-component error, raw-component accessors,
name checks, and the two handler bases (``Handler``; ``StoredHandler`` for components kept as documents)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .dml import DEVELOPER_NAME_RE
from .metadata_xml import Raw, missing_required
from .org import Org

__all__ = ["Handler", "Listing", "MetadataError", "StoredHandler", "check_name", "flag", "not_found", "one", "require"]


class MetadataError(Exception):
    """A per-component failure: SaveResult/DeleteResult ``success=false`` with one Error."""

    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields = fields or []


def one(raw: Raw, name: str, default: Any = None) -> Any:
    values = raw.get(name) or []
    return values[0] if values and values[0] is not None else default


def flag(raw: Raw, name: str) -> bool:
    return str(one(raw, name, "false")).lower() in ("true", "1")


def check_name(type_name: str, full_name: str | None, *, suffix: str = "") -> str:
    if not full_name:
        raise MetadataError("REQUIRED_FIELD_MISSING", "Required field is missing: fullName", ["fullName"])
    base = full_name[: -len(suffix)] if suffix and full_name.endswith(suffix) else full_name
    if (suffix and not full_name.endswith(suffix)) or not DEVELOPER_NAME_RE.match(base) or len(full_name) > 80:
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{type_name} fullName '{full_name}' is not a valid developer name: use letters, digits "
            "and single underscores, start with a letter, don't end with an underscore",
            ["fullName"],
        )
    return full_name


def require(raw: Raw, type_name: str, *names: str) -> None:
    missing = [n for n in (*missing_required(raw, type_name), *names) if not one(raw, n)]
    if missing:
        raise MetadataError("REQUIRED_FIELD_MISSING", f"Required field is missing: {missing[0]}", [missing[0]])


def not_found(type_name: str, full_name: str) -> MetadataError:
    return MetadataError("INVALID_CROSS_REFERENCE_KEY", f"In field: fullName - no {type_name} named {full_name} found")


@dataclasses.dataclass
class Listing:
    full_name: str
    id: str
    created: str
    created_by: str
    modified: str
    modified_by: str


class Handler:
    type_name = ""
    directory = ""
    suffix = ""

    def read(self, org: Org, full_name: str) -> Raw | None:
        raise NotImplementedError

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        raise NotImplementedError

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        raise NotImplementedError

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        raise NotImplementedError

    def listing(self, org: Org) -> list[Listing]:
        raise NotImplementedError

    def exists(self, org: Org, full_name: str) -> bool:
        return self.read(org, full_name) is not None


class StoredHandler(Handler):
    key_prefix = ""
    name_suffix = ""

    def read(self, org: Org, full_name: str) -> Raw | None:
        stored = org.store.metadata(self.type_name, full_name)
        return self.public(stored) if stored is not None else None

    @staticmethod
    def public(stored: dict[str, Any]) -> Raw:
        return {k: v for k, v in stored.items() if not k.startswith("_")}

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        """Validate and complete a component; returns what to store (may add ``_`` keys)."""
        return dict(raw)

    def after_write(self, org: Org) -> None:
        pass

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name = check_name(self.type_name, one(raw, "fullName"), suffix=self.name_suffix)
        if org.store.metadata(self.type_name, full_name) is not None:
            raise MetadataError(
                "DUPLICATE_DEVELOPER_NAME", f"There's already a {self.type_name} named {full_name}.", ["fullName"]
            )
        stored = self.prepare(org, raw, None)
        now = org.now()
        stored.update(
            _id=org.store.new_id(self.key_prefix), _created=now, _createdBy=user_id, _modified=now, _modifiedBy=user_id
        )
        org.store.put_metadata(self.type_name, full_name, stored)
        self.after_write(org)

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name = str(one(raw, "fullName", ""))
        existing = org.store.metadata(self.type_name, full_name)
        if existing is None:
            raise not_found(self.type_name, full_name)
        stored = self.prepare(org, raw, existing)
        stored.update({k: v for k, v in existing.items() if k.startswith("_") and k not in stored})
        stored.update(_modified=org.now(), _modifiedBy=user_id)
        org.store.put_metadata(self.type_name, full_name, stored)
        self.after_write(org)

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        if org.store.metadata(self.type_name, full_name) is None:
            raise not_found(self.type_name, full_name)
        org.store.delete_metadata(self.type_name, full_name)
        self.after_write(org)

    def listing(self, org: Org) -> list[Listing]:
        return [
            Listing(s["fullName"][0], s["_id"], s["_created"], s["_createdBy"], s["_modified"], s["_modifiedBy"])
            for s in org.store.metadata_all(self.type_name)
        ]

"""Metadata API: ServicePresenceStatus, a view over the sObjects (ServicePresenceStatus + ServiceChannelStatus
rows), and ServiceChannel, a view over its sObject row, so that SOQL and the Metadata API always agree."""

from __future__ import annotations

import re
from typing import Any

from .dml import stamp
from .metadata_base import Handler, Listing, MetadataError, check_name, not_found, one, require
from .metadata_xml import Raw
from .org import Org

__all__ = ["PresenceStatusHandler", "ServiceChannelHandler"]


class PresenceStatusHandler(Handler):
    type_name = "ServicePresenceStatus"
    directory = "servicePresenceStatuses"
    suffix = "servicePresenceStatus"

    def _record(self, org: Org, full_name: str) -> dict[str, Any] | None:
        return org.find_live("ServicePresenceStatus", DeveloperName=full_name)

    def read(self, org: Org, full_name: str) -> Raw | None:
        record = self._record(org, full_name)
        if record is None:
            return None
        channels = []
        for row in org.live("ServiceChannelStatus"):
            if row["ServicePresenceStatusId"] == record["Id"]:
                channel = org.store.get("ServiceChannel", row["ServiceChannelId"])
                if channel is not None:
                    channels.append(channel["DeveloperName"])
        raw: Raw = {"fullName": [record["DeveloperName"]]}
        if channels:
            raw["channels"] = [{"channel": channels}]
        raw["label"] = [record["MasterLabel"]]
        return raw

    def _channels(self, org: Org, raw: Raw) -> list[dict[str, Any]]:
        found = []
        for block in raw.get("channels") or []:
            for name in (block or {}).get("channel", []) if isinstance(block, dict) else []:
                channel = org.find_live("ServiceChannel", DeveloperName=name)
                if channel is None:
                    raise MetadataError(
                        "INVALID_CROSS_REFERENCE_KEY",
                        f"In field: channel - no ServiceChannel named {name} found",
                        ["channel"],
                    )
                if channel not in found:
                    found.append(channel)
        return found

    def _validate(self, org: Org, raw: Raw) -> tuple[str, str, list[dict[str, Any]]]:
        full_name = check_name(self.type_name, one(raw, "fullName"))
        require(raw, self.type_name, "label")
        label = str(one(raw, "label"))
        if len(label) > 80:
            raise MetadataError("STRING_TOO_LONG", "label: data value too large (max length=80)", ["label"])
        return full_name, label, self._channels(org, raw)

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name, label, channels = self._validate(org, raw)
        if self._record(org, full_name) is not None:
            raise MetadataError(
                "DUPLICATE_DEVELOPER_NAME", f"There's already a {self.type_name} named {full_name}.", ["fullName"]
            )
        obj = org.require_object("ServicePresenceStatus")
        record: dict[str, Any] = {f.name: None for f in obj.fields}
        record.update(Id=org.store.new_id(obj.key_prefix), DeveloperName=full_name, MasterLabel=label, Language="en_US")
        stamp(obj, record, user_id, org.now(), created=True)
        with org.store.batch():
            org.store.save(obj.name, record)
            self._write_channels(org, record["Id"], channels, user_id)

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name, label, channels = self._validate(org, raw)
        record = self._record(org, full_name)
        if record is None:
            raise not_found(self.type_name, full_name)
        obj = org.require_object("ServicePresenceStatus")
        changed = {**record, "MasterLabel": label}
        stamp(obj, changed, user_id, org.now(), created=False)
        with org.store.batch():
            org.store.save(obj.name, changed)
            self._write_channels(org, record["Id"], channels, user_id)

    def _write_channels(self, org: Org, status_id: str, channels: list[dict[str, Any]], user_id: str) -> None:
        """Make the status's ServiceChannelStatus rows match ``channels`` (keeping rows that stay)."""
        obj = org.require_object("ServiceChannelStatus")
        wanted = {c["Id"] for c in channels}
        for existing in [r for r in org.live(obj.name) if r["ServicePresenceStatusId"] == status_id]:
            if existing["ServiceChannelId"] in wanted:
                wanted.discard(existing["ServiceChannelId"])
            else:
                org.store.purge(obj.name, existing["Id"])
        for channel in channels:
            if channel["Id"] not in wanted:
                continue
            row: dict[str, Any] = {f.name: None for f in obj.fields}
            row.update(
                Id=org.store.new_id(obj.key_prefix), ServiceChannelId=channel["Id"], ServicePresenceStatusId=status_id
            )
            stamp(obj, row, user_id, org.now(), created=True)
            org.store.save(obj.name, row)

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        record = self._record(org, full_name)
        if record is None:
            raise not_found(self.type_name, full_name)
        with org.store.batch():
            for row in org.live("ServiceChannelStatus"):
                if row["ServicePresenceStatusId"] == record["Id"]:
                    org.store.purge("ServiceChannelStatus", row["Id"])
            for grant in list(org.store.table("SetupEntityAccess").values()):
                if grant["SetupEntityId"] == record["Id"]:
                    org.store.purge("SetupEntityAccess", grant["Id"])
            org.store.purge("ServicePresenceStatus", record["Id"])

    def listing(self, org: Org) -> list[Listing]:
        return _listing(org, "ServicePresenceStatus")


class ServiceChannelHandler(Handler):
    """ServiceChannel as a view over its sObject row (DeveloperName, MasterLabel, RelatedEntity), as SOQL sees
    it. Salesforce keeps one channel per object (RelatedEntity); the object's API name is not checked against
    the org's schema here (a model: any name of an sObject's shape is accepted). A channel a presence status
    still uses is not deleted (a model of Setup's refusal): remove it from the statuses first."""

    type_name = "ServiceChannel"
    directory = "serviceChannels"
    suffix = "serviceChannel"

    def read(self, org: Org, full_name: str) -> Raw | None:
        record = org.find_live("ServiceChannel", DeveloperName=full_name)
        if record is None:
            return None
        return {
            "fullName": [record["DeveloperName"]],
            "label": [record["MasterLabel"]],
            "relatedEntityType": [record["RelatedEntity"]],
        }

    def _validate(self, org: Org, raw: Raw, record_id: str | None) -> tuple[str, str, str]:
        full_name = check_name(self.type_name, one(raw, "fullName"))
        require(raw, self.type_name, "label", "relatedEntityType")
        label, entity = str(one(raw, "label")), str(one(raw, "relatedEntityType"))
        if len(label) > 80:
            raise MetadataError("STRING_TOO_LONG", "label: data value too large (max length=80)", ["label"])
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", entity):
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION", f"relatedEntityType: {entity!r} is not an object", ["relatedEntityType"]
            )
        taken = org.find_live("ServiceChannel", RelatedEntity=entity)
        if taken is not None and taken["Id"] != record_id:
            raise MetadataError(
                "DUPLICATE_VALUE",
                f"duplicate value found: RelatedEntity duplicates value on record with id: {taken['Id']}",
                ["relatedEntityType"],
            )
        return full_name, label, entity

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name = check_name(self.type_name, one(raw, "fullName"))
        if org.find_live("ServiceChannel", DeveloperName=full_name) is not None:
            raise MetadataError(
                "DUPLICATE_DEVELOPER_NAME", f"There's already a {self.type_name} named {full_name}.", ["fullName"]
            )
        _, label, entity = self._validate(org, raw, None)
        obj = org.require_object("ServiceChannel")
        record: dict[str, Any] = {f.name: None for f in obj.fields}
        record.update(
            Id=org.store.new_id(obj.key_prefix),
            DeveloperName=full_name,
            MasterLabel=label,
            RelatedEntity=entity,
            Language="en_US",
        )
        stamp(obj, record, user_id, org.now(), created=True)
        org.store.save(obj.name, record)

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name = check_name(self.type_name, one(raw, "fullName"))
        record = org.find_live("ServiceChannel", DeveloperName=full_name)
        if record is None:
            raise not_found(self.type_name, full_name)
        _, label, entity = self._validate(org, raw, record["Id"])
        obj = org.require_object("ServiceChannel")
        changed = {**record, "MasterLabel": label, "RelatedEntity": entity}
        stamp(obj, changed, user_id, org.now(), created=False)
        org.store.save(obj.name, changed)

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        record = org.find_live("ServiceChannel", DeveloperName=full_name)
        if record is None:
            raise not_found(self.type_name, full_name)
        users = [
            status["DeveloperName"]
            for row in org.live("ServiceChannelStatus")
            if row["ServiceChannelId"] == record["Id"]
            and (status := org.store.get("ServicePresenceStatus", row["ServicePresenceStatusId"])) is not None
        ]
        if users:
            raise MetadataError(
                "DELETE_FAILED",
                f"Cannot delete ServiceChannel {full_name}: presence status(es) {', '.join(sorted(users))} use it",
            )
        org.store.purge("ServiceChannel", record["Id"])

    def listing(self, org: Org) -> list[Listing]:
        return _listing(org, "ServiceChannel")


def _listing(org: Org, sobject: str) -> list[Listing]:
    """listMetadata's answer for a type that is a view over an sObject's live rows."""
    return [
        Listing(
            r["DeveloperName"],
            r["Id"],
            r["CreatedDate"],
            r["CreatedById"],
            r["LastModifiedDate"],
            r["LastModifiedById"],
        )
        for r in org.live(sobject)
    ]


def _modified(record: dict[str, Any]) -> tuple[str, str]:
    return record["LastModifiedDate"], record["LastModifiedById"]

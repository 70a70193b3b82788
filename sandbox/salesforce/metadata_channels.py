"""Metadata API: PlatformEventChannel (a custom channel ``<Name>__chn``) and PlatformEventChannelMember (an entity's
change events selected on a channel), as the Pub/Sub API's ``/data/<Name>__chn`` topics need them.

Salesforce documents that neither type supports ``createMetadata()`` nor ``deleteMetadata()``: they are written by a
file-based ``deploy`` (``platformEventChannels/<Name>__chn.platformEventChannel``,
``platformEventChannelMembers/<member>.platformEventChannelMember``) and removed by a ``destructiveChanges.xml``,
so the CRUD calls answer a per-component error here (its status code and wording are a GUESS: not published).
``readMetadata``, ``listMetadata`` and ``updateMetadata`` work. A channel's ``channelType`` cannot change once
created, a member's ``eventChannel`` and ``selectedEntity`` neither; deleting a channel deletes its members.
Only ``data`` (Change Data Capture) channels are served on the event bus; a member must select a change event
of an object the org has (``<Entity>ChangeEvent``) on a channel that exists or is deployed with it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from .metadata_base import MetadataError, StoredHandler, check_name, one, require
from .metadata_xml import Raw
from .org import Org

__all__ = ["CHANNEL_HANDLERS", "ChannelHandler", "ChannelMemberHandler", "channel_members"]

_CHANNEL = "PlatformEventChannel"
_MEMBER = "PlatformEventChannelMember"
_CHANGE_EVENT = re.compile(r"^([A-Za-z][A-Za-z0-9_]*?)(?:__)?ChangeEvent$")


def _not_supported(call: str, type_name: str) -> MetadataError:
    return MetadataError(
        "INVALID_OPERATION", f"{call}() isn't supported for the {type_name} metadata type: deploy it in a zip"
    )


class _DeployOnly(StoredHandler):
    """Written by deploy (``deploy_write``/``deploy_delete``); the CRUD create and delete are refused."""

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        raise _not_supported("createMetadata", self.type_name)

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        raise _not_supported("deleteMetadata", self.type_name)

    def check(self, org: Org, raw: Raw, in_package: Collection[str]) -> None:
        """What a deploy checks before writing anything; ``in_package`` are the zip's file names."""
        raise NotImplementedError

    def file_name(self, member: str) -> str:
        return f"{self.directory}/{member}.{self.suffix}"

    def deploy_write(self, org: Org, raw: Raw, user_id: str) -> None:
        if org.store.metadata(self.type_name, str(one(raw, "fullName"))) is None:
            super().create(org, raw, user_id)
        else:
            super().update(org, raw, user_id)

    def deploy_delete(self, org: Org, full_name: str, user_id: str) -> None:
        super().delete(org, full_name, user_id)


class ChannelHandler(_DeployOnly):
    type_name = _CHANNEL
    directory = "platformEventChannels"
    suffix = "platformEventChannel"
    key_prefix = "0YL"
    name_suffix = "__chn"

    def check(self, org: Org, raw: Raw, in_package: Collection[str] = ()) -> None:
        check_name(self.type_name, one(raw, "fullName"), suffix=self.name_suffix)
        self.prepare(org, raw, org.store.metadata(self.type_name, str(one(raw, "fullName"))))

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        require(raw, self.type_name, "channelType", "label")
        if len(str(one(raw, "label"))) > 80:
            raise MetadataError("STRING_TOO_LONG", "label: data value too large (max length=80)", ["label"])
        for field in ("channelType", "eventType"):
            if existing is not None and one(existing, field) != one(raw, field):
                raise MetadataError(
                    "FIELD_INTEGRITY_EXCEPTION", f"{field}: you can't change a channel's {field}", [field]
                )
        return dict(raw)

    def deploy_delete(self, org: Org, full_name: str, user_id: str) -> None:
        with org.store.batch():
            for member in channel_members(org, full_name):
                org.store.delete_metadata(_MEMBER, str(one(member, "fullName")))
            super().deploy_delete(org, full_name, user_id)


class ChannelMemberHandler(_DeployOnly):
    type_name = _MEMBER
    directory = "platformEventChannelMembers"
    suffix = "platformEventChannelMember"
    key_prefix = "0v8"

    def check(self, org: Org, raw: Raw, in_package: Collection[str] = ()) -> None:
        check_name(self.type_name, one(raw, "fullName"))
        require(raw, self.type_name, "eventChannel", "selectedEntity")
        channel = str(one(raw, "eventChannel"))
        if org.store.metadata(_CHANNEL, channel) is None and _CHANNELS.file_name(channel) not in in_package:
            raise MetadataError(
                "INVALID_CROSS_REFERENCE_KEY", f"In field: eventChannel - no {_CHANNEL} named {channel} found"
            )
        self.prepare(org, raw, org.store.metadata(self.type_name, str(one(raw, "fullName"))))

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        entity = str(one(raw, "selectedEntity", ""))
        match = _CHANGE_EVENT.match(entity)
        obj = org.object_def(match.group(1) + ("__c" if "__ChangeEvent" in entity else "")) if match else None
        if obj is None or obj.is_event:
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"selectedEntity: {entity!r} is not the change event of an object in this org",
                ["selectedEntity"],
            )
        for field in ("eventChannel", "selectedEntity"):
            if existing is not None and one(existing, field) != one(raw, field):
                raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"{field}: a channel member's {field} can't change")
        return dict(raw)


def channel_members(org: Org, channel: str) -> list[dict[str, Any]]:
    """The members of a channel, by full name."""
    members = [m for m in org.store.metadata_all(_MEMBER) if one(m, "eventChannel") == channel]
    return sorted(members, key=lambda m: str(one(m, "fullName")))


_CHANNELS = ChannelHandler()
CHANNEL_HANDLERS: dict[str, _DeployOnly] = {h.type_name: h for h in (_CHANNELS, ChannelMemberHandler())}

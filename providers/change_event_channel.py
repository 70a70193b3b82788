"""A custom change event channel for the runtime's stream, when ``runtime.salesforceChanges.topic`` names one
(``/data/<Name>__chn``): a ``PlatformEventChannel`` of type ``data`` and its ``PlatformEventChannelMember``
selecting ``UserServicePresenceChangeEvent``, deployed and removed through the Metadata API's file-based deploy
(``presence_sync/clients/change_event_channel.py``: Salesforce refuses createMetadata/deleteMetadata for them).

The channel's name is its identity (a new name is another channel: replace). The label is updated in place, and
a member missing from the channel is put back by an update (it is what the runtime needs). A channel of that
name made by hand is adopted with ``adoptChannel``, unless it is not a Change Data Capture channel: its type
cannot change, so `check` says so before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from presence_sync.clients.change_event_channel import ChangeEventChannelProxy, ChangeEventChannelRecord
from providers import context
from providers.base import CheckContext, ProviderInputs, SpecProvider, Written


class ChangeEventChannelInputs(ProviderInputs):
    channel_name: str
    label: str
    selected_entity: str


def channel_outputs(record: ChangeEventChannelRecord) -> dict[str, Any]:
    return {
        "channelName": record.name,
        "label": record.label,
        "channelType": record.channel_type,
        "selectedEntity": record.selected_entity,
        "member": record.member,
        "topic": f"/data/{record.name}",
    }


class ChangeEventChannelProvider(SpecProvider[ChangeEventChannelInputs, ChangeEventChannelProxy]):
    kind = "Salesforce change event channel"
    vendor = "org"
    version = "1"
    inputs_model = ChangeEventChannelInputs
    replace_on = ("channelName",)
    identity_inputs = ("channelName",)

    def make_proxy(self) -> ChangeEventChannelProxy:
        return ChangeEventChannelProxy(context.salesforce())

    def describe(self, inputs: ChangeEventChannelInputs) -> str:
        return f"{self.kind} {inputs.channel_name}"

    def plan_checks(self, inputs: ChangeEventChannelInputs, found: CheckContext) -> list[CheckFailure]:
        if not inputs.adopt:
            return []  # an existing channel is refused by the base (adopt or rename)
        existing = self.proxy.get(inputs.channel_name)
        if existing is None or existing.channel_type == "data":
            return []
        return [
            CheckFailure(
                "",
                f"{self.describe(inputs)}: the org's channel of that name has channelType {existing.channel_type!r}, "
                "not 'data' (Change Data Capture), and a channel's type cannot change; hint: name another channel "
                "in runtime.salesforceChanges.topic",
            )
        ]

    def find_existing(self, inputs: ChangeEventChannelInputs) -> tuple[str, dict[str, Any]] | None:
        record = self.proxy.get(inputs.channel_name)
        return None if record is None else (record.name, channel_outputs(record))

    def create_object(self, inputs: ChangeEventChannelInputs) -> Written:
        return Written(self.proxy.save(inputs.channel_name, inputs.label, inputs.selected_entity).name)

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: ChangeEventChannelInputs) -> Written:
        return Written(self.proxy.save(inputs.channel_name, inputs.label, inputs.selected_entity).name)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        entity = str(props.get("selectedEntity") or "UserServicePresenceChangeEvent")
        record = self.proxy.get_with_member(id_, entity)
        return None if record is None else channel_outputs(record)

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        self.proxy.delete(id_)

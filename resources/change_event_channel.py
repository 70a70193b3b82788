"""`salesforce:ChangeEventChannel`: the custom change event channel ``runtime.salesforceChanges.topic`` names."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.change_event_channel import ChangeEventChannel as ChangeEventChannelSpec
from providers.change_event_channel import ChangeEventChannelProvider


class ChangeEventChannel(Resource, module="salesforce", name="ChangeEventChannel"):
    topic: pulumi.Output[str]  # /data/<Name>__chn, once the org has the channel

    def __init__(
        self,
        channel: ChangeEventChannelSpec,
        opts: pulumi.ResourceOptions | None = None,
        *,
        location: str | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "channelName": channel.name,
            "label": channel.label,
            "selectedEntity": channel.selected_entity,
            "adopt": channel.adopt,
            "providerVersion": ChangeEventChannelProvider.version,
            "specLocation": location,  # for messages only (never compared)
            "topic": None,  # outputs
            "member": None,
            "channelType": None,
        }
        super().__init__(ChangeEventChannelProvider(), f"change-event-channel-{channel.name}", props, opts)


def declare_change_event_channel(
    channel: ChangeEventChannelSpec | None, opts: pulumi.ResourceOptions, where: Any
) -> ChangeEventChannel | None:
    """The channel the runtime's topic names, if it is a custom one: the runtime depends on it (it subscribes to
    the channel), so `up` creates it first and `destroy` removes it after the runtime has stopped."""
    if channel is None:
        return None
    return ChangeEventChannel(channel, opts, location=where(("runtime", "salesforceChanges", "topic")))

"""`salesforce:ServiceChannel`: one Omni-Channel service channel the spec manages."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.service_channel import ServiceChannel as ServiceChannelSpec
from providers.service_channel import ServiceChannelProvider


class ServiceChannel(Resource, module="salesforce", name="ServiceChannel"):
    @property
    def channel_id(self) -> pulumi.Output[str]:
        return self.channelId  # type: ignore[attr-defined]

    def name_once_created(self, developer_name: str) -> pulumi.Output[str]:
        """The developer name, known only once the org has the channel: a status naming it waits for it, and
        its check skips the channel in a preview that would create it."""
        return self.channel_id.apply(lambda _id: developer_name)

    def __init__(
        self, channel: ServiceChannelSpec, opts: pulumi.ResourceOptions | None = None, *, location: str | None = None
    ) -> None:
        props: dict[str, Any] = {
            "developerName": channel.developer_name,
            "label": channel.label,
            "relatedEntity": channel.related_entity,
            "adopt": channel.adopt,
            "providerVersion": ServiceChannelProvider.version,
            "specLocation": location,  # for messages only (never compared)
            "channelId": None,  # output: the record Id
        }
        super().__init__(ServiceChannelProvider(), f"channel-{channel.developer_name}", props, opts)


def declare_channels(channels: tuple[ServiceChannelSpec, ...], where: Any) -> dict[str, ServiceChannel]:
    """The spec's channels, first in the stack: statuses name them (their developer names flow on as outputs,
    so a status waits for its channel and is deleted before it)."""
    return {
        channel.developer_name: ServiceChannel(channel, location=where(("salesforce", "serviceChannels", index)))
        for index, channel in enumerate(channels)
    }

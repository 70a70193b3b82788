"""Salesforce Omni-Channel service channel, when the spec manages one (``salesforce.serviceChannels``): written
through the Metadata API, read through SOQL (both in ``presence_sync/clients/service_channel.py``).

The developer name is the Metadata API's fullName and the object (``relatedEntity``) is what the channel
routes: a change of either is another channel, so it replaces this one. Salesforce keeps one channel per
object, so `check` names the channel that already routes the object, if another one does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from presence_sync.clients.salesforce_models import ServiceChannelRecord
from presence_sync.clients.service_channel import ServiceChannelProxy
from providers import context
from providers.base import CheckContext, ProviderInputs, SpecProvider, Written


class ServiceChannelInputs(ProviderInputs):
    developer_name: str
    label: str
    related_entity: str


def channel_outputs(record: ServiceChannelRecord) -> dict[str, Any]:
    return {
        "channelId": record.id,
        "developerName": record.developer_name,
        "label": record.label,
        "relatedEntity": record.related_entity,
    }


class ServiceChannelProvider(SpecProvider[ServiceChannelInputs, ServiceChannelProxy]):
    kind = "Salesforce service channel"
    vendor = "org"
    version = "1"
    inputs_model = ServiceChannelInputs
    replace_on = ("developerName", "relatedEntity")
    identity_inputs = ("developerName",)
    delete_before_replace = True  # one channel per object: the old one must go before a new one routes it

    def make_proxy(self) -> ServiceChannelProxy:
        return ServiceChannelProxy(context.salesforce())

    def describe(self, inputs: ServiceChannelInputs) -> str:
        return f"{self.kind} {inputs.developer_name}"

    def plan_checks(self, inputs: ServiceChannelInputs, found: CheckContext) -> list[CheckFailure]:
        if "relatedEntity" in found.unknown:
            return []
        taken = [
            c
            for c in self.proxy.cached_all()
            if (c.related_entity or "").casefold() == inputs.related_entity.casefold()
            and c.developer_name != inputs.developer_name
            and c.developer_name != found.olds.get("developerName")
        ]
        if not taken:
            return []
        return [
            CheckFailure(
                "",
                f"{self.describe(inputs)}: relatedEntity: service channel {taken[0].developer_name} already routes "
                f"{inputs.related_entity} (Salesforce keeps one channel per object); hint: use that channel in the "
                "statuses, or adopt it under this developer name",
            )
        ]

    def find_existing(self, inputs: ServiceChannelInputs) -> tuple[str, dict[str, Any]] | None:
        record = self.proxy.cached_get(inputs.developer_name)
        return None if record is None else (record.id, channel_outputs(record))

    def create_object(self, inputs: ServiceChannelInputs) -> Written:
        return Written(self.proxy.create(inputs.developer_name, inputs.label, inputs.related_entity).id)

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: ServiceChannelInputs) -> Written:
        return Written(self.proxy.update(inputs.developer_name, inputs.label, inputs.related_entity).id)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        record = next((c for c in self.proxy.cached_all() if c.id == id_), None)
        return None if record is None else channel_outputs(record)

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        self.proxy.delete(str(props["developerName"]))

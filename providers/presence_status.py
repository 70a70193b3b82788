"""Salesforce Omni-Channel presence status: written through the Metadata API, read through SOQL (both in
``presence_sync/clients/presence_status.py``, this kind's proxy).

A status is Online when it has service channels and Busy (Away) when it has none. The developer name is the
Metadata API's fullName: Salesforce cannot rename it in place, so a change replaces the status; a status whose
spec says ``replaces: <old name>`` takes over the old one's grants when it is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pydantic import field_validator

from presence_sync.clients.presence_status import PresenceStatusProxy
from presence_sync.clients.profile_presence_access import ProfileAccessProxy
from presence_sync.clients.salesforce_models import PresenceStatusRecord
from providers import context
from providers.base import CheckContext, ProviderInputs, SpecProvider, Written


class PresenceStatusInputs(ProviderInputs):
    developer_name: str
    label: str
    channels: list[str] = []
    replaces: str | None = None

    @field_validator("channels")
    @classmethod
    def _sorted(cls, channels: list[str]) -> list[str]:
        return sorted(channels)  # the org keeps no order; compare as sets


def status_outputs(record: PresenceStatusRecord) -> dict[str, Any]:
    return {
        "statusId": record.id,
        "developerName": record.developer_name,
        "label": record.label,
        "channels": sorted(record.channels),
    }


class PresenceStatusProvider(SpecProvider[PresenceStatusInputs, PresenceStatusProxy]):
    kind = "Salesforce presence status"
    vendor = "org"
    version = "1"
    inputs_model = PresenceStatusInputs
    replace_on = ("developerName",)
    identity_inputs = ("developerName",)  # a new developer name is a new status: check it is not taken
    # A channel the stack manages reaches the status as that channel's output: unknown in a preview that updates
    # the channel, yet it changes only when the channel is replaced, which the same preview shows.
    derived_inputs = ("channels",)

    def make_proxy(self) -> PresenceStatusProxy:
        return PresenceStatusProxy(context.salesforce())

    def describe(self, inputs: PresenceStatusInputs) -> str:
        return f"{self.kind} {inputs.developer_name}"

    def plan_checks(self, inputs: PresenceStatusInputs, found: CheckContext) -> list[CheckFailure]:
        if "channels" in found.unknown or not inputs.channels:
            return []
        channels = self.proxy.channel_names()
        missing = [name for name in inputs.channels if name not in channels]
        if not missing:
            return []
        return [
            CheckFailure(
                "",
                f"{self.describe(inputs)}: channels: service channel(s) {', '.join(missing)} do not "
                f"exist in the org; hint: channels there: {', '.join(sorted(channels)) or 'none'}",
            )
        ]

    def already_exists(self, inputs: PresenceStatusInputs, existing_id: str) -> str:
        return (
            f"{self.describe(inputs)} already exists in the org (id {existing_id}) and this stack does not manage "
            "it; hint: to take it over (its label and channels become the spec's), set `adopt: true` on it; to "
            "leave it alone, pick another label or developerName"
        )

    def find_existing(self, inputs: PresenceStatusInputs) -> tuple[str, dict[str, Any]] | None:
        record = self.proxy.cached_get(inputs.developer_name)
        return None if record is None else (record.id, status_outputs(record))

    def managed_fields(self) -> list[str]:
        # `replaces` says what a create takes over; it is not a property of the status.
        return [name for name in super().managed_fields() if name != "replaces"]

    def create_object(self, inputs: PresenceStatusInputs) -> Written:
        record = self.proxy.create(inputs.developer_name, inputs.label, inputs.channels)
        if inputs.replaces:
            self.take_over_grants(inputs.replaces, record.id)
        return Written(record.id)

    def take_over_grants(self, old_name: str, new_id: str) -> None:
        """A rename: every profile granted the old status gets the new one, before the old one is deleted
        (which the engine does after the creates), so no agent's profile loses a status it had."""
        old = self.proxy.cached_get(old_name)
        if old is None:
            return
        access = ProfileAccessProxy(context.salesforce())
        for grant in access.list_status_grants():
            if grant.status_id == old.id:
                access.grant_status(grant.permission_set_id, new_id)

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: PresenceStatusInputs) -> Written:
        record = self.proxy.update(inputs.developer_name, inputs.label, inputs.channels)
        return Written(record.id)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        # One list read serves every status in this run (the proxy caches it until a write).
        for record in self.proxy.cached_all():
            if record.id == id_:
                return status_outputs(record)
        return None

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        self.proxy.delete(str(props["developerName"]))

"""Salesforce Omni-Channel presence status: written through the Metadata API, read through SOQL.

A status is Online when it has service channels and Busy (Away) when it has none. The developer name is the
Metadata API's fullName: Salesforce cannot rename it in place, so a change replaces the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import field_validator

from presence_sync.clients.salesforce_models import PresenceStatusRecord
from providers import context
from providers.base import ProviderInputs, SpecProvider, Written


class PresenceStatusInputs(ProviderInputs):
    developer_name: str
    label: str
    channels: list[str] = []

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


class PresenceStatusProvider(SpecProvider[PresenceStatusInputs]):
    kind = "Salesforce presence status"
    inputs_model = PresenceStatusInputs
    replace_on = ("developerName",)

    def describe(self, inputs: PresenceStatusInputs) -> str:
        return f"{self.kind} {inputs.developer_name}"

    def find_existing(self, inputs: PresenceStatusInputs) -> tuple[str, dict[str, Any]] | None:
        record = context.salesforce().cached_get_presence_status(inputs.developer_name)
        return None if record is None else (record.id, status_outputs(record))

    def create_object(self, inputs: PresenceStatusInputs) -> Written:
        record = context.salesforce().create_presence_status(inputs.developer_name, inputs.label, inputs.channels)
        return Written(record.id)

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: PresenceStatusInputs) -> Written:
        record = context.salesforce().update_presence_status(inputs.developer_name, inputs.label, inputs.channels)
        return Written(record.id)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        # One list read serves every status in this run (the client caches it until a write).
        for record in context.salesforce().cached_list_presence_statuses():
            if record.id == id_:
                return status_outputs(record)
        return None

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        context.salesforce().delete_presence_status(str(props["developerName"]))

"""The service channel provider on a fake proxy: one channel per object checked at plan time, a new developer
name or object as a replace (the old channel deleted first), adopt, drift and deletion."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.clients.salesforce_models import ServiceChannelRecord
from providers.base import ProviderError
from providers.service_channel import ServiceChannelProvider
from tests.providers.fakes import FakeVendor, outs


class FakeChannels(FakeVendor):
    """ServiceChannelProxy's contract over a dict of developer name -> record (the org's own channels seeded)."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, ServiceChannelRecord] = {}
        self.put("Case", "Cases", "Case")
        self.put("sfdc_phone", "Phone", "VoiceCall")

    def put(self, name: str, label: str, entity: str) -> ServiceChannelRecord:
        old = self.live.get(name)
        record = ServiceChannelRecord(
            id=old.id if old else self.new_id("0N1000000000{:03d}AAA"),
            developer_name=name,
            label=label,
            related_entity=entity,
        )
        self.live[name] = record
        return record

    def cached_all(self) -> list[ServiceChannelRecord]:
        return list(self.live.values())

    def cached_get(self, developer_name: str) -> ServiceChannelRecord | None:
        return self.live.get(developer_name)

    def create(self, developer_name: str, label: str, related_entity: str) -> ServiceChannelRecord:
        self.write(f"create {developer_name}")
        return self.put(developer_name, label, related_entity)

    def update(self, developer_name: str, label: str, related_entity: str) -> ServiceChannelRecord:
        self.write(f"update {developer_name}")
        return self.put(developer_name, label, related_entity)

    def delete(self, developer_name: str) -> None:
        self.write(f"delete {developer_name}")
        self.live.pop(developer_name, None)


def inputs(**changes: Any) -> dict[str, Any]:
    base = {
        "developerName": "Leads",
        "label": "Leads",
        "relatedEntity": "Lead",
        "adopt": False,
        "providerVersion": ServiceChannelProvider.version,
        "specLocation": "stacks/dev.yaml:14:7: salesforce.serviceChannels[0]",
    }
    return {**base, **changes}


@pytest.fixture
def org() -> FakeChannels:
    return FakeChannels()


@pytest.fixture
def provider(org: FakeChannels) -> ServiceChannelProvider:
    return ServiceChannelProvider(org)  # type: ignore[arg-type]


def test_check_passes_a_new_channel_for_an_object_without_one(provider: ServiceChannelProvider) -> None:
    assert provider.check({}, inputs()).failures == []


def test_check_names_the_channel_that_already_routes_the_object(provider: ServiceChannelProvider) -> None:
    [failure] = provider.check({}, inputs(relatedEntity="Case")).failures
    assert failure.reason.startswith("stacks/dev.yaml:14:7: salesforce.serviceChannels[0]: ")
    assert "service channel Case already routes Case" in failure.reason


def test_check_refuses_an_unmanaged_channel_of_that_name_unless_adopted(
    provider: ServiceChannelProvider, org: FakeChannels
) -> None:
    org.put("Leads", "Leads (by hand)", "Lead")
    [failure] = provider.check({}, inputs()).failures
    assert "already exists in the org" in failure.reason
    assert provider.check({}, inputs(adopt=True)).failures == []


def test_create_update_and_the_read_back(provider: ServiceChannelProvider, org: FakeChannels) -> None:
    created = provider.create(inputs())
    assert outs(created)["channelId"] == org.live["Leads"].id == created.id
    updated = provider.update(created.id, outs(created), inputs(label="Sales leads"))
    assert outs(updated)["label"] == "Sales leads" and org.calls == ["create Leads", "update Leads"]


def test_adopting_brings_an_existing_channel_to_the_spec(provider: ServiceChannelProvider, org: FakeChannels) -> None:
    existing = org.put("Leads", "By hand", "Lead")
    with pytest.raises(ProviderError, match="adopt: true"):
        provider.create(inputs())
    adopted = provider.create(inputs(adopt=True))
    assert adopted.id == existing.id and org.live["Leads"].label == "Leads"


def test_a_new_name_or_object_replaces_the_channel_deleting_the_old_first(provider: ServiceChannelProvider) -> None:
    old = provider.check({}, inputs()).inputs
    moved = provider.diff("id", old, inputs(relatedEntity="Opportunity"))
    assert moved.replaces == ["relatedEntity"] and moved.delete_before_replace is True
    assert provider.diff("id", old, inputs(developerName="Sales_Leads")).replaces == ["developerName"]
    assert provider.diff("id", old, inputs(label="L")).replaces == []


def test_read_shows_drift_and_a_deleted_channel_is_gone(provider: ServiceChannelProvider, org: FakeChannels) -> None:
    created = provider.create(inputs())
    org.put("Leads", "Relabelled by hand", "Lead")
    read = provider.read(created.id, outs(created))
    assert read.inputs is not None and read.inputs["label"] == "Relabelled by hand"
    provider.delete(created.id, outs(created))
    provider.delete(created.id, outs(created))
    assert provider.read(created.id, outs(created)).id == ""

"""The change event channel provider on a fake proxy: a new channel, one of that name refused unless adopted (and
an event channel refused even then), the label updated in place and a new name replacing the channel, a missing
member put back by an update, drift and deletion."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.clients.change_event_channel import ChangeEventChannelRecord, member_name
from providers.base import ProviderError
from providers.change_event_channel import ChangeEventChannelProvider
from tests.providers.fakes import FakeVendor, outs

ENTITY = "UserServicePresenceChangeEvent"


class FakeChannels(FakeVendor):
    """ChangeEventChannelProxy's contract over a dict of channel name -> record (member and all)."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, ChangeEventChannelRecord] = {}

    def put(self, name: str, label: str, entity: str | None = ENTITY, channel_type: str = "data") -> None:
        member = member_name(name, entity) if entity else None
        self.live[name] = ChangeEventChannelRecord(
            name=name, label=label, channel_type=channel_type, member=member, selected_entity=entity
        )

    def get(self, name: str) -> ChangeEventChannelRecord | None:
        return self.live.get(name)

    def get_with_member(self, name: str, entity: str) -> ChangeEventChannelRecord | None:
        return self.live.get(name)

    def save(self, name: str, label: str, entity: str) -> ChangeEventChannelRecord:
        self.write(f"deploy {name}")
        self.put(name, label, entity)
        return self.live[name]

    def delete(self, name: str) -> None:
        self.write(f"remove {name}")
        self.live.pop(name, None)


def inputs(**changes: Any) -> dict[str, Any]:
    base = {
        "channelName": "PresenceSync__chn",
        "label": "PresenceSync",
        "selectedEntity": ENTITY,
        "adopt": False,
        "providerVersion": ChangeEventChannelProvider.version,
        "specLocation": "stacks/dev.yaml:40:12: runtime.salesforceChanges.topic",
    }
    return {**base, **changes}


@pytest.fixture
def org() -> FakeChannels:
    return FakeChannels()


@pytest.fixture
def provider(org: FakeChannels) -> ChangeEventChannelProvider:
    return ChangeEventChannelProvider(org)  # type: ignore[arg-type]


def test_check_passes_a_new_channel(provider: ChangeEventChannelProvider) -> None:
    assert provider.check({}, inputs()).failures == []


def test_check_refuses_a_channel_the_org_has_unless_adopted(
    provider: ChangeEventChannelProvider, org: FakeChannels
) -> None:
    org.put("PresenceSync__chn", "Made by hand")
    [failure] = provider.check({}, inputs()).failures
    assert failure.reason.startswith("stacks/dev.yaml:40:12: runtime.salesforceChanges.topic: ")
    assert "already exists in the org" in failure.reason and "adopt: true" in failure.reason
    assert provider.check({}, inputs(adopt=True)).failures == []


def test_check_refuses_to_adopt_an_event_channel_whose_type_cannot_change(
    provider: ChangeEventChannelProvider, org: FakeChannels
) -> None:
    org.put("PresenceSync__chn", "Orders", entity=None, channel_type="event")
    [failure] = provider.check({}, inputs(adopt=True)).failures
    assert "channelType 'event', not 'data'" in failure.reason
    assert "name another channel in runtime.salesforceChanges.topic" in failure.reason


def test_create_deploys_the_channel_and_its_member_and_reads_them_back(
    provider: ChangeEventChannelProvider, org: FakeChannels
) -> None:
    created = provider.create(inputs())
    assert created.id == "PresenceSync__chn" and org.calls == ["deploy PresenceSync__chn"]
    assert outs(created)["topic"] == "/data/PresenceSync__chn"
    assert outs(created)["member"] == f"PresenceSync_chn_{ENTITY}" and outs(created)["channelType"] == "data"


def test_adopting_brings_a_hand_made_channel_to_the_spec(
    provider: ChangeEventChannelProvider, org: FakeChannels
) -> None:
    org.put("PresenceSync__chn", "Made by hand", entity=None)
    with pytest.raises(ProviderError, match="adopt: true"):
        provider.create(inputs())
    adopted = provider.create(inputs(adopt=True))
    assert adopted.id == "PresenceSync__chn" and org.live["PresenceSync__chn"].selected_entity == ENTITY
    assert org.live["PresenceSync__chn"].label == "PresenceSync"


def test_a_label_is_updated_in_place_and_a_new_name_is_another_channel(provider: ChangeEventChannelProvider) -> None:
    old = provider.check({}, inputs()).inputs
    assert provider.diff("id", old, inputs(label="Presence")).replaces == []
    assert provider.diff("id", old, inputs(channelName="Other__chn")).replaces == ["channelName"]
    assert provider.diff("id", old, inputs(providerVersion="0")).changes is True


def test_read_shows_a_missing_member_as_drift_that_an_update_puts_back(
    provider: ChangeEventChannelProvider, org: FakeChannels
) -> None:
    created = provider.create(inputs())
    org.put("PresenceSync__chn", "PresenceSync", entity=None)  # the member removed by hand
    read = provider.read(created.id, outs(created))
    assert read.inputs is not None and read.inputs["selectedEntity"] is None
    assert provider.diff(created.id, dict(read.inputs), inputs()).changes is True
    provider.update(created.id, dict(read.outs or {}), inputs())
    assert org.live["PresenceSync__chn"].selected_entity == ENTITY


def test_delete_removes_the_channel_and_a_channel_already_gone_is_fine(
    provider: ChangeEventChannelProvider, org: FakeChannels
) -> None:
    created = provider.create(inputs())
    provider.delete(created.id, outs(created))
    provider.delete(created.id, outs(created))
    assert "PresenceSync__chn" not in org.live and provider.read(created.id, outs(created)).id == ""

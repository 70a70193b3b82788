"""The presence status provider on a fake proxy: check, diff, create (new, taken, adopted), update, read
(drift, gone) and delete -- every path the engine drives, without an engine or an org."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from presence_sync.clients.salesforce_models import PresenceStatusRecord
from providers.base import ProviderError
from providers.presence_status import PresenceStatusProvider
from tests.providers.fakes import FakeVendor, outs, unavailable


class FakeStatuses(FakeVendor):
    """PresenceStatusProxy's contract over a dict of developer name -> record."""

    def __init__(self, *channels: str) -> None:
        super().__init__()
        self.live: dict[str, PresenceStatusRecord] = {}
        self.channels = set(channels)

    def put(self, name: str, label: str, channels: Iterable[str] = ()) -> PresenceStatusRecord:
        old = self.live.get(name)
        record = PresenceStatusRecord(
            id=old.id if old else self.new_id(), developer_name=name, label=label, channels=sorted(channels)
        )
        self.live[name] = record
        return record

    def channel_names(self) -> set[str]:
        return self.channels

    def cached_all(self) -> list[PresenceStatusRecord]:
        return list(self.live.values())

    def cached_get(self, developer_name: str) -> PresenceStatusRecord | None:
        return self.live.get(developer_name)

    def create(self, developer_name: str, label: str, channels: Iterable[str] = ()) -> PresenceStatusRecord:
        self.write(f"create {developer_name}")
        return self.put(developer_name, label, channels)

    def update(self, developer_name: str, label: str, channels: Iterable[str] = ()) -> PresenceStatusRecord:
        self.write(f"update {developer_name}")
        return self.put(developer_name, label, channels)

    def delete(self, developer_name: str) -> None:
        self.write(f"delete {developer_name}")
        self.live.pop(developer_name, None)


def inputs(**changes: Any) -> dict[str, Any]:
    base = {
        "developerName": "Available_Chat",
        "label": "Available - Chat",
        "channels": ["sfdc_livemessage", "Case"],
        "adopt": False,
        "providerVersion": PresenceStatusProvider.version,
        "specLocation": "stacks/dev.yaml:7:7: salesforce.statuses[0]",
    }
    return {**base, **changes}


@pytest.fixture
def org() -> FakeStatuses:
    return FakeStatuses("Case", "sfdc_livemessage", "sfdc_phone")


@pytest.fixture
def provider(org: FakeStatuses) -> PresenceStatusProvider:
    return PresenceStatusProvider(org)  # type: ignore[arg-type]


def test_check_returns_the_inputs_normalised_once(provider: PresenceStatusProvider) -> None:
    result = provider.check({}, inputs())
    assert result.failures == []
    assert result.inputs["channels"] == ["Case", "sfdc_livemessage"]  # sorted here, nowhere else


def test_check_names_the_channels_the_org_lacks_and_lists_those_it_has(provider: PresenceStatusProvider) -> None:
    result = provider.check({}, inputs(channels=["sfdc_livemessage", "sfdc_video"]))
    [failure] = result.failures
    assert failure.reason.startswith("stacks/dev.yaml:7:7: salesforce.statuses[0]: ")
    assert "service channel(s) sfdc_video do not exist" in failure.reason
    assert "Case, sfdc_livemessage, sfdc_phone" in failure.reason


def test_check_refuses_an_unmanaged_status_of_that_name_unless_adopted(
    provider: PresenceStatusProvider, org: FakeStatuses
) -> None:
    org.put("Available_Chat", "Chat (by hand)")
    [failure] = provider.check({}, inputs()).failures
    assert "already exists in the org" in failure.reason and "adopt: true" in failure.reason
    assert provider.check({}, inputs(adopt=True)).failures == []
    # Already in the stack (the same developer name in the state): no collision to report.
    assert provider.check(inputs(), inputs()).failures == []


def test_check_reports_an_unreachable_org_as_a_failure(provider: PresenceStatusProvider, org: FakeStatuses) -> None:
    def down() -> set[str]:
        raise unavailable("list_service_channels")

    org.channel_names = down  # type: ignore[method-assign]
    [failure] = provider.check({}, inputs()).failures
    assert "could not check against the vendor" in failure.reason


def test_diff_updates_a_label_and_replaces_a_renamed_status(provider: PresenceStatusProvider) -> None:
    old = provider.check({}, inputs()).inputs
    assert provider.diff("id", old, provider.check(old, inputs()).inputs).changes is False
    relabelled = provider.diff("id", old, inputs(label="Chat", channels=["Case", "sfdc_livemessage"]))
    assert relabelled.changes and relabelled.replaces == []
    renamed = provider.diff("id", old, inputs(developerName="Chat_Only", channels=["Case", "sfdc_livemessage"]))
    assert renamed.replaces == ["developerName"]


def test_a_new_provider_version_is_an_update_of_this_kind_only(provider: PresenceStatusProvider) -> None:
    old = provider.check({}, inputs()).inputs
    bumped = {**old, "providerVersion": "2"}
    assert provider.diff("id", old, bumped).changes is True


def test_create_writes_and_returns_what_the_org_read_back(provider: PresenceStatusProvider, org: FakeStatuses) -> None:
    created = provider.create(provider.check({}, inputs()).inputs)
    assert created.id == org.live["Available_Chat"].id
    assert outs(created)["statusId"] == created.id
    assert outs(created)["channels"] == ["Case", "sfdc_livemessage"]
    assert org.calls == ["create Available_Chat"]


def test_create_of_a_taken_name_fails_and_adopt_takes_it_over(
    provider: PresenceStatusProvider, org: FakeStatuses
) -> None:
    existing = org.put("Available_Chat", "By hand", ["sfdc_phone"])
    with pytest.raises(ProviderError, match="already exists in the org"):
        provider.create(inputs())
    adopted = provider.create(inputs(adopt=True))
    assert adopted.id == existing.id and org.calls == ["update Available_Chat"]
    assert org.live["Available_Chat"].label == "Available - Chat"


def test_a_refused_write_is_one_line_naming_the_status(provider: PresenceStatusProvider, org: FakeStatuses) -> None:
    org.fail_next = unavailable("create_presence_status")
    with pytest.raises(ProviderError) as raised:
        provider.create(inputs())
    assert str(raised.value).startswith(
        "stacks/dev.yaml:7:7: salesforce.statuses[0]: Salesforce presence status Available_Chat: creating:"
    )


def test_update_brings_the_status_to_the_inputs(provider: PresenceStatusProvider, org: FakeStatuses) -> None:
    record = org.put("Available_Chat", "Old", ["Case"])
    updated = provider.update(record.id, inputs(label="Old"), inputs(label="New", channels=["sfdc_phone"]))
    assert outs(updated)["label"] == "New" and outs(updated)["channels"] == ["sfdc_phone"]


def test_read_turns_drift_into_inputs_and_a_gone_status_into_no_id(
    provider: PresenceStatusProvider, org: FakeStatuses
) -> None:
    record = org.put("Available_Chat", "Changed by hand", ["Case"])
    read = provider.read(record.id, inputs(statusId=record.id))
    assert read.inputs is not None
    assert (read.inputs["label"], read.inputs["channels"]) == ("Changed by hand", ["Case"])
    assert read.inputs["providerVersion"] == PresenceStatusProvider.version
    org.live.clear()
    assert provider.read(record.id, inputs()).id == ""


def test_delete_removes_the_status_and_a_gone_one_is_fine(provider: PresenceStatusProvider, org: FakeStatuses) -> None:
    record = org.put("Available_Chat", "x")
    provider.delete(record.id, inputs())
    provider.delete(record.id, inputs())
    assert org.live == {} and org.calls == ["delete Available_Chat", "delete Available_Chat"]


def test_the_pickled_provider_carries_no_proxy(provider: PresenceStatusProvider) -> None:
    assert provider.__getstate__()["_proxy"] is None

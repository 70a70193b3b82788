"""The profile presence access provider on a fake proxy: grants and revokes of the difference (the rows have
no update), grants of statuses it does not list left alone, the profile checked at plan time, drift and
deletion."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.clients.salesforce_models import Grant, Profile
from providers.base import ProviderError
from providers.profile_presence_access import ProfilePresenceAccessProvider
from tests.providers.fakes import FakeVendor, outs

PS = "0PS000000000001AAA"
STATUS_IDS = {"Available_Chat": "0N5000000000001AAA", "Busy": "0N5000000000002AAA", "Lunch": "0N5000000000003AAA"}


class FakeAccess(FakeVendor):
    """ProfileAccessProxy's contract over a list of grants on two profiles."""

    def __init__(self) -> None:
        super().__init__()
        self.profiles = [
            Profile(id="00e000000000001AAA", name="Custom: Support Agent", permission_set_id=PS),
            Profile(id="00e000000000002AAA", name="System Administrator", permission_set_id="0PS000000000002AAA"),
        ]
        self.grants: list[Grant] = []

    def cached_profiles(self) -> list[Profile]:
        return self.profiles

    def cached_grants(self) -> list[Grant]:
        return list(self.grants)

    def cached_status_ids(self) -> dict[str, str]:
        return STATUS_IDS

    def grant_status(self, permission_set_id: str, status_id: str) -> Grant:
        self.write(f"grant {status_id}")
        grant = Grant(id=self.new_id("0J0000000000{:03d}AAA"), permission_set_id=permission_set_id, status_id=status_id)
        self.grants.append(grant)
        return grant

    def revoke_grant(self, grant_id: str) -> None:
        self.write(f"revoke {grant_id}")
        self.grants = [g for g in self.grants if g.id != grant_id]

    def granted_names(self) -> set[str]:
        names = {status_id: name for name, status_id in STATUS_IDS.items()}
        return {names[g.status_id] for g in self.grants if g.permission_set_id == PS}


def inputs(**changes: Any) -> dict[str, Any]:
    base = {
        "profile": "Custom: Support Agent",
        "statuses": ["Busy", "Available_Chat"],
        "providerVersion": ProfilePresenceAccessProvider.version,
        "specLocation": "stacks/dev.yaml:20:7: salesforce.profileAccess[0]",
    }
    return {**base, **changes}


@pytest.fixture
def org() -> FakeAccess:
    return FakeAccess()


@pytest.fixture
def provider(org: FakeAccess) -> ProfilePresenceAccessProvider:
    return ProfilePresenceAccessProvider(org)  # type: ignore[arg-type]


def test_check_sorts_the_statuses_and_names_a_missing_profile(provider: ProfilePresenceAccessProvider) -> None:
    assert provider.check({}, inputs(statuses=["Busy", "Available_Chat", "Busy"])).inputs["statuses"] == [
        "Available_Chat",
        "Busy",
    ]
    [failure] = provider.check({}, inputs(profile="Custom: Sales")).failures
    assert "profile: Salesforce profile 'Custom: Sales' does not exist" in failure.reason
    assert "Custom: Support Agent, System Administrator" in failure.reason


def test_create_grants_what_is_missing_and_keeps_what_is_there(
    provider: ProfilePresenceAccessProvider, org: FakeAccess
) -> None:
    org.grant_status(PS, STATUS_IDS["Busy"])  # granted by hand before
    created = provider.create(inputs())
    assert created.id == PS and org.granted_names() == {"Available_Chat", "Busy"}
    assert org.calls == [f"grant {STATUS_IDS['Busy']}", f"grant {STATUS_IDS['Available_Chat']}"]
    assert sorted(outs(created)["grantIds"]) == ["Available_Chat", "Busy"]


def test_update_revokes_only_what_this_resource_listed(
    provider: ProfilePresenceAccessProvider, org: FakeAccess
) -> None:
    created = provider.create(inputs())
    org.grant_status(PS, STATUS_IDS["Lunch"])  # someone else's grant: never touched
    provider.update(created.id, outs(created), inputs(statuses=["Available_Chat"]))
    assert org.granted_names() == {"Available_Chat", "Lunch"}


def test_a_status_the_org_lacks_fails_the_grant_with_the_names_there(provider: ProfilePresenceAccessProvider) -> None:
    with pytest.raises(ProviderError, match=r"presence status\(es\) Nope do not exist in the org"):
        provider.create(inputs(statuses=["Nope"]))


def test_read_reports_grants_removed_by_hand_as_drift(provider: ProfilePresenceAccessProvider, org: FakeAccess) -> None:
    created = provider.create(inputs())
    org.grants = [g for g in org.grants if g.status_id != STATUS_IDS["Busy"]]
    read = provider.read(created.id, outs(created))
    assert read.inputs is not None and read.inputs["statuses"] == ["Available_Chat"]
    update = provider.diff(created.id, read.outs or {}, provider.check({}, inputs()).inputs)
    assert update.changes and update.replaces == []
    org.profiles = []
    assert provider.read(created.id, outs(created)).id == ""


def test_delete_revokes_the_listed_grants_and_a_second_delete_is_fine(
    provider: ProfilePresenceAccessProvider, org: FakeAccess
) -> None:
    created = provider.create(inputs())
    provider.delete(created.id, outs(created))
    provider.delete(created.id, outs(created))
    assert org.granted_names() == set()


def test_another_profile_replaces(provider: ProfilePresenceAccessProvider) -> None:
    old = provider.check({}, inputs()).inputs
    assert provider.diff(PS, old, inputs(profile="System Administrator")).replaces == ["profile"]

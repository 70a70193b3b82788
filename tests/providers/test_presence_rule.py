"""The CXone presence rule provider on a fake proxy: names resolved at plan time (teams, users, codes assigned
to every team the rule covers), the spec's notation turned into the payload and back (so drift reads like the
spec), and the create/adopt/update/read/delete paths."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.clients.presence_rule import PresenceRule, PresenceRuleSpec
from providers.base import ProviderError
from providers.presence_rule import PresenceRuleProvider
from tests.providers.fakes import FakeDirectory, FakeVendor, outs


class FakeRules(FakeVendor):
    """PresenceRuleProxy's contract over a dict of rule id -> rule."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, PresenceRule] = {}
        self.sent: list[PresenceRuleSpec] = []

    def put(self, spec: PresenceRuleSpec, rule_id: str | None = None) -> PresenceRule:
        rule = PresenceRule.model_validate({**spec.model_dump(), "rule_id": rule_id or str(self.new_id("{}"))})
        self.live[str(rule.rule_id)] = rule
        return rule

    def cached_presence_rules(self) -> list[PresenceRule]:
        return list(self.live.values())

    def create_presence_rule(self, spec: PresenceRuleSpec) -> PresenceRule:
        self.write(f"create {spec.name}")
        self.sent.append(spec)
        return self.put(spec)

    def update_presence_rule(self, rule_id: int | str, spec: PresenceRuleSpec) -> PresenceRule:
        self.write(f"update {rule_id}")
        self.sent.append(spec)
        return self.put(spec, str(rule_id))

    def delete_presence_rule(self, rule_id: int | str) -> None:
        self.write(f"delete {rule_id}")
        self.live.pop(str(rule_id), None)


def inputs(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "Chat agents",
        "priority": 1,
        "publisher": [
            {"acd": "Available", "salesforce": "Available_Chat"},
            {"acd": "Unavailable:Break", "salesforce": "Busy"},
        ],
        "subscriber": [{"acd": "previous", "salesforce": "Busy"}],
        "teams": ["Chat"],
        "users": ["grace@example.com"],
        "adopt": False,
        "providerVersion": PresenceRuleProvider.version,
        "specLocation": "stacks/dev.yaml:50:5: cxone.presenceRules[0]",
    }
    return {**base, **changes}


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> FakeDirectory:
    directory = FakeDirectory()
    directory.install(monkeypatch)
    return directory


@pytest.fixture
def tenant(directory: FakeDirectory) -> FakeRules:
    return FakeRules()


@pytest.fixture
def provider(tenant: FakeRules) -> PresenceRuleProvider:
    return PresenceRuleProvider(tenant)  # type: ignore[arg-type]


def test_check_passes_a_rule_whose_names_all_resolve(provider: PresenceRuleProvider) -> None:
    result = provider.check({}, inputs(teams=["Chat", "Chat"], users=["grace@example.com"]))
    assert result.failures == []
    assert result.inputs["teams"] == ["Chat"]  # normalised once, here


def test_check_names_every_unknown_team_user_and_code(provider: PresenceRuleProvider) -> None:
    bad = inputs(
        teams=["Chat", "Chta"],
        users=["nobody@example.com"],
        publisher=[{"acd": "Unavailable:Lunhc", "salesforce": "Busy"}],
    )
    reasons = [failure.reason for failure in provider.check({}, bad).failures]
    assert any("teams: CXone team 'Chta' does not exist. Did you mean 'Chat'?" in r for r in reasons)
    assert any("users: CXone user 'nobody@example.com' does not exist" in r for r in reasons)
    assert any("publisher[0].acd: CXone unavailable code 'Lunhc' does not exist" in r for r in reasons)
    assert all(r.startswith("stacks/dev.yaml:50:5: cxone.presenceRules[0]: ") for r in reasons)


def test_a_code_must_be_assigned_to_every_team_the_rule_covers(
    provider: PresenceRuleProvider, directory: FakeDirectory
) -> None:
    # grace is on team Voice, which has Break but not Lunch.
    [failure] = provider.check({}, inputs(publisher=[{"acd": "Unavailable:Lunch", "salesforce": "Busy"}])).failures
    assert "unavailable code 'Lunch' is not assigned to team(s) Voice" in failure.reason


def test_create_sends_ids_and_outputs_read_like_the_spec(provider: PresenceRuleProvider, tenant: FakeRules) -> None:
    created = provider.create(provider.check({}, inputs()).inputs)
    [sent] = tenant.sent
    assert sent.team_ids == [2001] and sent.agent_ids == [100002]
    # The rule as NICE's agent SDK reads it: ACD states by state or code name, statuses by id.
    assert [m.model_dump(by_alias=True) for m in sent.publisher_state_map] == [
        {"incontactAgentState": "Available", "partnerAgentState": "0N5000000000001AAA"},
        {"incontactAgentState": "Break", "partnerAgentState": "0N5000000000002AAA"},
    ]
    assert [m.model_dump(by_alias=True) for m in sent.subscriber_state_map] == [
        {"incontactAgentState": "PreviousState", "partnerAgentState": "0N5000000000002AAA"}
    ]
    assert sent.is_active is True
    out = outs(created)
    assert out["publisher"] == inputs()["publisher"] and out["subscriber"] == inputs()["subscriber"]
    assert out["active"] is True
    assert (out["teams"], out["users"], out["teamIds"]) == (["Chat"], ["grace@example.com"], [2001])


def test_an_inactive_rule_is_stored_inactive_for_nices_engine(
    provider: PresenceRuleProvider, tenant: FakeRules
) -> None:
    created = provider.create(provider.check({}, inputs(active=False)).inputs)
    assert tenant.sent[-1].is_active is False
    assert outs(created)["active"] is False


def test_a_status_id_the_spec_does_not_name_reads_back_as_drift(
    provider: PresenceRuleProvider, tenant: FakeRules
) -> None:
    created = provider.create(provider.check({}, inputs()).inputs)
    rule = tenant.live[created.id]
    other = rule.publisher_state_map[0].model_copy(update={"partner_agent_state": "0N5000000000009AAA"})
    tenant.live[created.id] = rule.model_copy(update={"publisher_state_map": [other, *rule.publisher_state_map[1:]]})
    read = provider.read(created.id, outs(created))
    line = outs(read)["publisher"][0]
    assert line["acd"] == "Available" and line["salesforce"].startswith("Available_Chat (id 0N5000000000009AAA, not ")


def test_a_status_that_does_not_exist_at_write_time_fails_the_write(provider: PresenceRuleProvider) -> None:
    with pytest.raises(ProviderError, match=r"Salesforce presence status.*Nope do not exist"):
        provider.create(inputs(publisher=[{"acd": "Available", "salesforce": "Nope"}]))


def test_create_of_a_taken_name_fails_and_adopt_rewrites_it(provider: PresenceRuleProvider, tenant: FakeRules) -> None:
    provider.create(inputs(priority=5))
    second = PresenceRuleProvider(tenant)  # type: ignore[arg-type]
    with pytest.raises(ProviderError, match="already exists in the tenant"):
        second.create(inputs())
    adopted = second.create(inputs(adopt=True))
    assert outs(adopted)["priority"] == 1 and tenant.calls[-1].startswith("update")


def test_map_order_is_data_so_a_reordered_map_is_an_update(provider: PresenceRuleProvider) -> None:
    old = provider.check({}, inputs()).inputs
    reordered = inputs(publisher=list(reversed(inputs()["publisher"])))
    assert provider.diff("1", old, provider.check(old, reordered).inputs).changes is True
    assert provider.diff("1", old, provider.check(old, inputs()).inputs).changes is False


def test_read_turns_a_hand_edit_into_inputs_and_gone_into_no_id(
    provider: PresenceRuleProvider, tenant: FakeRules
) -> None:
    created = provider.create(inputs())
    edited = tenant.live[created.id].model_copy(update={"priority": 9, "team_ids": [2001, 2002]})
    tenant.live[created.id] = edited
    read = provider.read(created.id, {**outs(created), **inputs()})
    assert read.inputs is not None
    assert (read.inputs["priority"], read.inputs["teams"]) == (9, ["Chat", "Voice"])
    tenant.live.clear()
    assert provider.read(created.id, inputs()).id == ""


def test_delete_is_idempotent(provider: PresenceRuleProvider, tenant: FakeRules) -> None:
    created = provider.create(inputs())
    provider.delete(created.id, inputs())
    provider.delete(created.id, inputs())
    assert tenant.live == {}

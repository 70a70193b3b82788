"""The committed stacks/*.yaml specs load, and the sandbox one says what the seed expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from presence_sync.spec import AcdState, PresenceSpec, load_spec

ROOT = Path(__file__).resolve().parents[3]
SPECS = sorted(p for p in (ROOT / "stacks").glob("*.yaml") if not p.name.startswith("Pulumi."))


def test_there_are_example_specs_for_sandbox_dev_and_prod() -> None:
    assert {p.stem for p in SPECS} >= {"sandbox", "dev", "prod"}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_example_spec_is_valid(path: Path) -> None:
    assert isinstance(load_spec(path), PresenceSpec)


@pytest.fixture(scope="module")
def sandbox() -> PresenceSpec:
    return load_spec(ROOT / "stacks" / "sandbox.yaml")


def test_sandbox_spec_defines_the_seed_statuses(sandbox: PresenceSpec) -> None:
    statuses = sandbox.salesforce.status_by_developer_name()
    assert list(statuses) == ["Available_for_Chats", "Busy"]
    assert statuses["Available_for_Chats"].kind == "online"
    assert statuses["Available_for_Chats"].channels == ("sfdc_livemessage",)
    assert statuses["Busy"].kind == "busy" and statuses["Busy"].channels == ()


def test_sandbox_spec_grants_both_statuses_to_the_seed_profile(sandbox: PresenceSpec) -> None:
    [grant] = sandbox.salesforce.profile_access
    assert grant.profile == "Custom: Support Agent"  # sandbox/salesforce/seed.py
    assert grant.statuses == ("Available_for_Chats", "Busy")


def test_sandbox_spec_uses_an_external_client_app_with_the_five_seed_scopes(sandbox: PresenceSpec) -> None:
    app = sandbox.salesforce.oauth_app
    assert app.app_type == "external_client_app"
    assert set(app.scopes) == {"full", "api", "web", "visualforce", "refresh_token"}
    assert app.metadata_scopes() == ("Full", "Api", "Web", "RefreshToken", "OfflineAccess")
    assert not app.is_consumer_secret_optional
    assert sandbox.sandbox


def test_sandbox_rule_is_bidirectional_uses_previous_once_and_targets_a_team_and_a_user(
    sandbox: PresenceSpec,
) -> None:
    [rule] = sandbox.cxone.resolved_rules()
    assert rule.direction == "bidirectional"
    assert rule.publisher["Available"] == "Available_for_Chats"
    assert rule.subscriber["Available_for_Chats"] == "Available"
    assert rule.publisher["Unavailable:Break"] == "Busy"
    assert rule.subscriber["Busy"] == "Unavailable:Break"
    assert [*rule.publisher.values(), *rule.subscriber.values()].count("previous") == 1
    assert rule.teams == ("Support Tier 1",) and rule.users == ("grace.hopper@example.com",)
    assert sandbox.cxone.existing_unavailable_codes == ("Break",)
    assert sandbox.cxone.account_mapping.access_key_user == "cxone.admin@example.com"


def test_rule_maps_are_available_parsed_for_the_runtime(sandbox: PresenceSpec) -> None:
    rule = sandbox.cxone.presence_rules[0]
    assert rule.publisher_map()[AcdState("Unavailable", "Break")] == "Busy"
    assert rule.subscriber_map()["Busy"] == AcdState("Unavailable", "Break")


def test_sandbox_runtime_runs_locally(sandbox: PresenceSpec) -> None:
    assert sandbox.runtime.target == "local" and sandbox.runtime.user_matching == "email"

"""`presence-sync export` of a sandbox configured by hand (our clients straight at the emulators, not our
providers): the spec passes validation, two exports are byte-identical, no secret is in it, and applying it
adopts everything so that a preview afterwards shows no changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.cxone_adapters import (
    AccountMappingSpec,
    PresenceRuleSpec,
    PresenceSyncConfig,
    SalesforceEnvironmentSpec,
    StateMapping,
)
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.salesforce_models import OAuthAppSpec
from presence_sync.gitops import export as export_command
from presence_sync.gitops import plan as plan_command
from presence_sync.spec import load_spec
from tests.presence_sync.gitops.test_plan_drift import run
from tests.support.spec_stack import changes

pytestmark = pytest.mark.pulumi


def configure_by_hand(env: dict[str, str], salesforce_url: str) -> list[str]:
    """What an admin would click together; returns the secrets this produced."""
    sf = SalesforceClient.from_env(env)
    cx = CxoneClient.from_env(env)
    adapters = PresenceSyncConfig(cx)
    chat = sf.create_presence_status("Chat_Ready", "Chat Ready", ["sfdc_livemessage", "Case"])
    away = sf.create_presence_status("Away_On_Break", "Away (on break)", [])
    sf.create_presence_status("Not_Synced", "Not synced", ["sfdc_phone"])  # no rule uses it: not exported
    agents_profile = next(p for p in sf.list_profiles() if p.name == "Custom: Support Agent")
    supervisors = next(p for p in sf.list_profiles() if p.name == "Custom: Support Supervisor")
    for granted in (chat, away):
        sf.grant_status(agents_profile.permission_set_id, granted.id)
    sf.grant_status(supervisors.permission_set_id, away.id)
    app = sf.create_oauth_app(
        OAuthAppSpec(
            type="external_client_app",
            name="Hand_Made_CXone",
            label="Hand-made CXone app",
            contact_email="salesforce.admin@example.com",
            callback_url="https://localhost:8444/oauth/salesforce/callback",
            scopes=["Api", "RefreshToken", "OfflineAccess"],
            require_secret_for_web_server_flow=True,
            require_secret_for_refresh_token=False,
        )
    )
    admin = next(a for a in cx.list_agents() if a.email == "cxone.admin@example.com")
    created = adapters.create_account_mapping(
        AccountMappingSpec(
            name="Hand-made mapping",
            access_key_agent_id=admin.agent_id,
            is_selected=True,
            salesforce_environment=SalesforceEnvironmentSpec(
                name="Sandbox org",
                instance_url=salesforce_url,
                consumer_key=str(app.record.consumer_key),
                consumer_secret=app.consumer_secret,
            ),
        )
    )
    teams = {team.team_name: team.team_id for team in cx.list_teams()}
    grace = next(a for a in cx.list_agents() if a.email == "grace.hopper@example.com")

    def line(acd: str, status: str) -> StateMapping:
        return StateMapping(incontact_agent_state=acd, partner_agent_state=status)

    adapters.create_presence_rule(
        PresenceRuleSpec(
            name="Tier 1 by hand",
            priority=3,
            publisher_state_map=[
                line("Lunch", away.id),
                line("Available", chat.id),
                line("LoggedOut", "PreviousState"),
            ],
            subscriber_state_map=[line("Available", chat.id), line("Lunch", away.id)],
            team_ids=[teams["Support Tier 1"]],
            agent_ids=[grace.agent_id],
        )
    )
    sf.close()
    cx.close()
    secret = created.access_key_secret.get_secret_value() if created.access_key_secret else ""
    return [app.consumer_secret.get_secret_value(), secret]


def test_export_of_a_hand_made_setup_adopts_without_changes(
    make_stack: Any, cli_stacks: dict[str, Any], sandbox: Any, tmp_path: Path, ca_bundle_env: None
) -> None:
    made_secrets = configure_by_hand(sandbox.env, sandbox.salesforce_url)
    connection = tmp_path / "connection.json"
    connection.write_text(json.dumps(sandbox.env))
    argv = [
        "export",
        "--stack",
        "handmade",
        "--cwd",
        str(tmp_path),
        "--connection-file",
        str(connection),
        "--oauth-app",
        "Hand_Made_CXone",
    ]
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    assert export_command.main([*argv, "--output", str(first)]) == 0
    assert export_command.main([*argv, "--output", str(second)]) == 0
    text = first.read_text()
    assert text == second.read_text(), "two exports of the same live state are byte-identical"

    spec = load_spec(first)
    assert [s.name for s in spec.salesforce.statuses] == ["Away_On_Break", "Chat_Ready"]
    assert all(s.adopt for s in spec.salesforce.statuses)
    assert {a.profile: a.statuses for a in spec.salesforce.profile_access} == {
        "Custom: Support Agent": ("Away_On_Break", "Chat_Ready"),
        "Custom: Support Supervisor": ("Away_On_Break",),
    }
    assert spec.salesforce.oauth_app.adopt and spec.salesforce.oauth_app.scopes == ("api", "refresh_token")
    assert spec.cxone.account_mapping.adopt and spec.cxone.account_mapping.access_key_user == "cxone.admin@example.com"
    (rule,) = spec.cxone.presence_rules
    assert rule.adopt and rule.priority == 3 and rule.teams == ("Support Tier 1",)
    assert [(e.acd, e.salesforce) for e in rule.publisher] == [
        ("Unavailable:Lunch", "Away_On_Break"),
        ("Available", "Chat_Ready"),
        ("LoggedOut", "previous"),
    ]
    assert spec.cxone.existing_unavailable_codes == ("Lunch",)
    raw = yaml.safe_load(text)
    assert list(raw) == sorted(raw), "keys sorted"

    secrets = [v for k, v in sandbox.env.items() if "SECRET" in k or "PASSWORD" in k] + made_secrets
    for secret in filter(None, secrets):
        assert secret not in text

    # Apply the export: everything is adopted (nothing created anew in the vendors), then nothing to do.
    stack = make_stack("handmade", text)
    result = stack.up()
    # the stack + 2 statuses, 2 profile grants, the app, the mapping and the rule: all adopted
    assert changes(result.summary.resource_changes) == {"create": 8}
    assert changes(stack.preview().change_summary) == {}
    cli_stacks["handmade"] = stack
    code, report = run(plan_command, ["plan", "--stack", "handmade", "--refresh"], tmp_path)
    assert code == 0, report
    for secret in filter(None, secrets):
        assert secret not in report
    # Still exactly one rule, one mapping: adoption took the hand-made ones over.
    cx = CxoneClient.from_env(sandbox.env)
    assert [r.name for r in PresenceSyncConfig(cx).list_presence_rules()] == ["Tier 1 by hand"]
    assert [m.name for m in PresenceSyncConfig(cx).list_account_mappings()] == ["Hand-made mapping"]
    # And exporting again after the adoption gives the same file.
    assert export_command.main([*argv, "--output", str(second)]) == 0
    assert second.read_text() == text

"""`presence-sync plan` and `drift` on the real engine against a fresh sandbox: a pull-request-like change is
reported field by field (golden files), hand changes are reported as drift until `pulumi up --refresh`
puts them right, and no secret value ever reaches a report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from presence_sync.gitops import drift as drift_command
from presence_sync.gitops import plan as plan_command
from tests.presence_sync.gitops.conftest import SEED_SPEC
from tests.presence_sync.gitops.test_render import check_golden
from tests.support import vendors

pytestmark = pytest.mark.pulumi

PR_EDITS = (
    # one status label (the developer name pinned, as a real PR that renames a label would)
    ("    - label: Busy ", "    - developerName: Busy\n      label: Busy (on a call) "),
    # one rule mapping (to another unavailable code the tenant has: listing it is not a resource change)
    ('{salesforce: Busy, acd: "Unavailable:Break"}', '{salesforce: Busy, acd: "Unavailable:Lunch"}'),
    ("existingUnavailableCodes: [Break]", "existingUnavailableCodes: [Break, Lunch]"),
)


def normalize(text: str) -> str:
    """Ids the vendors assign differ per run: Salesforce ids and UUIDs become placeholders."""
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>", text)
    return re.sub(r"\b[0-9a-zA-Z]{3}[A-Za-z0-9]{2}0{4,}[0-9A-Za-z]{3,9}\b", "<sfid>", text)


def run(module: Any, argv: list[str], tmp_path: Path, fmt: str = "markdown") -> tuple[int, str]:
    out = tmp_path / f"report.{fmt}"
    code = module.main([*argv, "--format", fmt, "--output", str(out)])
    return code, out.read_text()


def known_secrets(sandbox: Any, stack: Any) -> list[str]:
    env = sandbox.env
    values = [env[key] for key in env if "SECRET" in key or "PASSWORD" in key]
    values.append(stack.outputs()["consumerKey"])
    values += secrets_in(stack.stack.export_stack().deployment or {})
    found = [value for value in values if isinstance(value, str) and len(value) >= 8]
    assert len(found) >= 8, "expected the sandbox's credentials, the consumer key/secret and the access key secret"
    return found


def secrets_in(node: Any, key: str = "") -> list[Any]:
    """Every secret in an exported state: plaintexts of secret objects and values under secret-ish names."""
    if isinstance(node, dict):
        if "4dabf18193072939515e22adb298388d" in node and "plaintext" in node:
            return [json.loads(node["plaintext"])]
        return [value for k, v in node.items() for value in secrets_in(v, k)]
    if isinstance(node, list):
        return [value for item in node for value in secrets_in(item, key)]
    if key in ("consumerSecret", "consumerKey", "accessKeySecret") and isinstance(node, str):
        return [node]
    return []


def test_a_pull_request_change_is_reported_as_exactly_those_two_changes(
    make_stack: Any, cli_stacks: dict[str, Any], sandbox: Any, tmp_path: Path
) -> None:
    stack = make_stack("pr", SEED_SPEC)
    stack.up()
    cli_stacks["pr"] = stack
    assert run(plan_command, ["plan", "--stack", "pr"], tmp_path)[0] == 0, "nothing to do right after up"

    for old, new in PR_EDITS:
        stack.edit_spec(old, new)
    code, markdown = run(plan_command, ["plan", "--stack", "pr"], tmp_path)
    assert code == 2
    check_golden("pr_change.md", normalize(markdown))

    code, text = run(plan_command, ["plan", "--stack", "pr", "--refresh"], tmp_path, "json")
    assert code == 2
    check_golden("pr_change.json", normalize(text))
    report = json.loads(text)
    changes = report["stacks"][0]["changes"]
    assert [(c["name"], c["op"], [(f["path"], f["old"], f["new"]) for f in c["fields"]]) for c in changes] == [
        ("rule-chat-agents", "update", [("subscriber[1].acd", "Unavailable:Break", "Unavailable:Lunch")]),
        ("status-Busy", "update", [("label", "Busy", "Busy (on a call)")]),
    ]
    assert report["stacks"][0]["drift"] == [], "no one touched the sandbox: no drift"

    for secret in known_secrets(sandbox, stack):
        assert secret not in markdown and secret not in text

    # A spec the vendor cannot satisfy: the preview fails, and so does the command.
    stack.edit_spec("teams: [Support Tier 1]", "teams: [No Such Team]")
    code, markdown = run(plan_command, ["plan", "--stack", "pr"], tmp_path)
    assert code == 1
    assert "No Such Team" in markdown and "failed" in markdown


def test_hand_changes_are_drift_until_up_puts_them_right(
    make_stack: Any, cli_stacks: dict[str, Any], sandbox: Any, tmp_path: Path, ca_bundle_env: None
) -> None:
    stack = make_stack("drift", SEED_SPEC)
    stack.up()
    cli_stacks["drift"] = stack
    assert run(drift_command, ["drift", "--stack", "drift"], tmp_path)[0] == 0

    sf = vendors.salesforce(sandbox.env)
    cxone = vendors.Cxone(sandbox.env)
    # Setup: the chat status also takes cases now; a grant is removed.
    mdapi: Any = sf.mdapi
    mdapi.ServicePresenceStatus.update(
        [
            mdapi.ServicePresenceStatus(
                fullName="Available_for_Chats",
                label="Available for Chats",
                channels=mdapi.ServiceChannelStatus(channel=["sfdc_livemessage", "Case"]),
            )
        ]
    )
    busy_id = vendors.statuses(sf)["Busy"]["id"]
    grant = sf.query(f"SELECT Id FROM SetupEntityAccess WHERE SetupEntityId = '{busy_id}'")["records"][0]["Id"]
    setup_entity_access: Any = sf.SetupEntityAccess
    setup_entity_access.delete(grant)
    # CXone admin UI: Busy now maps to the Lunch code.
    rule = cxone.rules()["Chat agents"]
    body = {k: v for k, v in rule.items() if k not in ("ruleId", "lastModified")}
    body["subscriberStateMap"] = [
        {**line, "incontactAgentState": "Lunch"} if line["partnerAgentState"] == busy_id else line
        for line in body["subscriberStateMap"]
    ]
    cxone.put(f"/adapter-apis/v1/salesforce/presence-rules/{rule['ruleId']}", body)

    code, markdown = run(drift_command, ["drift", "--stack", "drift"], tmp_path)
    assert code == 2
    check_golden("drift.md", normalize(markdown))
    code, text = run(drift_command, ["drift", "--stack", "drift"], tmp_path, "json")
    assert code == 2
    drifted = {
        c["name"]: [(c["op"], f["path"], f["old"], f["new"]) for f in c["fields"]]
        for c in json.loads(text)["stacks"][0]["drift"]
    }
    assert drifted == {
        "status-Available_for_Chats": [("changed", "channels", ["sfdc_livemessage"], ["Case", "sfdc_livemessage"])],
        "profile-access-custom-support-agent": [
            ("changed", "statuses", ["Available_for_Chats", "Busy"], ["Available_for_Chats"])
        ],
        "rule-chat-agents": [("changed", "subscriber[1].acd", "Unavailable:Break", "Unavailable:Lunch")],
    }
    for secret in known_secrets(sandbox, stack):
        assert secret not in markdown and secret not in text

    # `plan --refresh` tells the drift apart from intended change: the spec did not change.
    code, text = run(plan_command, ["plan", "--stack", "drift", "--refresh"], tmp_path, "json")
    assert code == 2
    assert json.loads(text)["stacks"][0]["changes"] == []

    stack.stack.up(refresh=True, on_output=lambda _line: None)
    assert run(drift_command, ["drift", "--stack", "drift"], tmp_path)[0] == 0
    assert run(plan_command, ["plan", "--stack", "drift", "--refresh"], tmp_path)[0] == 0
    assert vendors.statuses(sf)["Available_for_Chats"]["channels"] == ["sfdc_livemessage"]
    assert "Busy" in vendors.granted_statuses(sf, "Custom: Support Agent")

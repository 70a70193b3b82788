"""State lives in SQLite: a restart keeps everything (tokens, sessions, the states cursor); reset starts over."""

from __future__ import annotations

from typing import Any

from tests.sandbox.cxone.test_account_mappings import MAPPING
from tests.sandbox.cxone.test_presence_rules import RULE


def test_a_restart_keeps_configuration_tokens_sessions_and_the_cursor(start: Any) -> None:
    first = start(reset=True)
    token = first.token
    mapping = first.adapters("POST", "/account-mappings", json=MAPPING).json()
    rule = first.adapters("POST", "/presence-rules", json=RULE).json()
    first.agent(100001, "login")
    session = first.join(100001)
    cursor = first.api("GET", "/agents/states").json()["lastPollTime"]
    first.stop()

    second = start()  # the clock has not moved: only the stored clock keeps the cursor exact
    second.api("POST", f"/agent-sessions/{session}/state", json={"state": "Available"}, token=token)
    changed = second.api("GET", "/agents/states", params={"updatedSince": cursor}, token=token).json()
    assert [(s["agentId"], s["agentStateName"]) for s in changed["agentStates"]] == [(100001, "Available")]
    assert second.adapters("GET", f"/account-mappings/{mapping['mappingId']}", token=token).status_code == 200
    assert second.adapters("GET", f"/presence-rules/{rule['ruleId']}", token=token).json() == rule
    assert second.password_grant(mapping["accessKeyId"], mapping["accessKeySecret"]).status_code == 200


def test_reset_starts_again_from_the_seed(start: Any) -> None:
    first = start(reset=True)
    first.adapters("POST", "/account-mappings", json=MAPPING)
    first.api("POST", "/teams", json={"teams": [{"teamName": "Temporary"}]})
    first.agent(100002, "login")
    token = first.token
    first.stop()

    second = start(reset=True)
    assert second.api("GET", "/teams", token=token).status_code == 401
    assert second.adapters("GET", "/account-mappings").json() == {"accountMappings": []}
    assert [t["teamName"] for t in second.api("GET", "/teams").json()["teams"]] == [
        "Support Tier 1",
        "Support Tier 2",
        "Sales",
    ]
    states = second.api("GET", "/agents/states").json()["agentStates"]
    assert {s["agentStateName"] for s in states} == {"LoggedOut"}

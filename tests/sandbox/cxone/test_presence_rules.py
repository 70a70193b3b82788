"""Presence Sync presence rules: the read NICE's agent SDK makes (``rule/{partnerId}``), and our model of the
writes behind it (lifecycle and every validation)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from tests.sandbox.cxone.harness import Sandbox
from tests.sandbox.cxone.test_account_mappings import MAPPING

AVAILABLE_CHATS = "0N5000000000001AAA"
ON_CALL = "0N5000000000002AAA"
BUSY = "0N5000000000003"
ORG = "00D000000000001AAA"


def line(acd: str, status: str) -> dict[str, str]:
    return {"incontactAgentState": acd, "partnerAgentState": status}


RULE: dict[str, Any] = {
    "name": "Tier 1 voice",
    "priority": 0,
    "isActive": True,
    "publisherStateMap": [line("Available", AVAILABLE_CHATS), line("InboundContact", ON_CALL), line("Break", BUSY)],
    "subscriberStateMap": [line("Available", AVAILABLE_CHATS), line("Busy", BUSY), line("PreviousState", ON_CALL)],
    "teamIds": [2001],
    "agentIds": [100005],
}


def _rule(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(RULE)
    body.update(changes)
    return body


def _create(cxone: Sandbox, body: dict[str, Any]) -> Any:
    return cxone.adapters("POST", "/presence-rules", json=body)


# ------------------------------------------------------------------------------------------- lifecycle


def test_a_rule_is_created_read_replaced_and_deleted(cxone: Sandbox) -> None:
    response = _create(cxone, RULE)
    assert response.status_code == 201, response.text
    created = response.json()
    uuid.UUID(created["ruleId"])
    assert {k: v for k, v in created.items() if k not in ("ruleId", "lastModified")} == RULE
    rule_path = f"/presence-rules/{created['ruleId']}"
    assert cxone.adapters("GET", rule_path).json() == created
    assert cxone.adapters("GET", "/presence-rules").json() == {"presenceRules": [created]}

    replaced = cxone.adapters(
        "PUT",
        rule_path,
        json={"name": "Tier 1 voice v2", "teamIds": [2001], "publisherStateMap": RULE["publisherStateMap"][:1]},
    )
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["name"], body["priority"], body["subscriberStateMap"], body["agentIds"]) == (
        "Tier 1 voice v2",
        0,
        [],
        [],
    )
    assert body["lastModified"] > created["lastModified"]

    assert cxone.adapters("DELETE", rule_path).status_code == 204
    assert cxone.adapters("GET", rule_path).status_code == 404
    assert cxone.adapters("DELETE", rule_path).status_code == 404
    assert cxone.adapters("GET", "/presence-rules").json() == {"presenceRules": []}


def test_priority_defaults_to_zero_and_a_rule_to_active(cxone: Sandbox) -> None:
    body = _rule()
    del body["priority"], body["isActive"]
    created = _create(cxone, body).json()
    assert (created["priority"], created["isActive"]) == (0, True)


def test_a_publisher_may_map_platform_states(cxone: Sandbox) -> None:
    body = _rule(
        publisherStateMap=[
            line(state, ON_CALL)
            for state in ("InboundContact", "OutboundContact", "InboundConsult", "Dialer", "LoggedOut")
        ]
    )
    assert _create(cxone, body).status_code == 201


def test_a_team_or_user_may_be_in_several_rules_at_different_priorities(cxone: Sandbox) -> None:
    assert _create(cxone, RULE).status_code == 201
    assert _create(cxone, _rule(name="Fallback", priority=1)).status_code == 201
    assert _create(cxone, _rule(name="Users only", teamIds=[], agentIds=[100005])).status_code == 201


# ------------------------------------------------------------------------------------------ validation


def _rejected(cxone: Sandbox, body: dict[str, Any], status: int, *fragments: str) -> None:
    response = _create(cxone, body)
    assert response.status_code == status, response.text
    description = response.json()["error_description"]
    for fragment in fragments:
        assert fragment in description, (fragment, description)


def test_an_unknown_state_or_code_name_is_400(cxone: Sandbox) -> None:
    body = _rule()
    body["subscriberStateMap"][1]["incontactAgentState"] = "Napping"
    _rejected(
        cxone,
        body,
        400,
        "subscriberStateMap[1].incontactAgentState",
        "'Napping' is neither an agent state",
        "nor an unavailable code's name",
    )


def test_an_inactive_code_is_400(cxone: Sandbox) -> None:
    cxone.api("PATCH", "/unavailable-codes/3001/status?isActive=false")
    _rejected(cxone, RULE, 400, "publisherStateMap[2].incontactAgentState", "'Break' (3001) is inactive")


def test_a_code_must_be_assigned_to_every_team_of_the_rule(cxone: Sandbox) -> None:
    body = _rule(teamIds=[2001, 2003])  # Sales has no "Busy" (3005)
    _rejected(
        cxone,
        body,
        400,
        "subscriberStateMap[1].incontactAgentState",
        "'Busy' is not assigned to team 2003 (Sales)",
        "agent states are unavailable codes; you must apply these codes to teams",
    )


def test_a_code_must_be_assigned_to_the_team_of_every_agent_of_the_rule(cxone: Sandbox) -> None:
    body = _rule(teamIds=[], agentIds=[100009])  # Linus is on Sales
    _rejected(cxone, body, 400, "not assigned to team 2003 (Sales) of agent 100009", "you must apply these codes")
    cxone.api("POST", "/teams/2003/unavailable-codes", json={"codes": [{"outstateId": 3005}]})
    assert _create(cxone, body).status_code == 201


def test_a_duplicate_publisher_source_is_400(cxone: Sandbox) -> None:
    body = _rule()
    body["publisherStateMap"].append(line("Break", ON_CALL))
    _rejected(cxone, body, 400, "publisherStateMap[3].incontactAgentState", "repeats publisherStateMap[2]")


def test_a_duplicate_subscriber_source_is_400_even_between_15_and_18_character_ids(cxone: Sandbox) -> None:
    body = _rule()
    body["subscriberStateMap"].append(line("Lunch", "0N5000000000001"))
    _rejected(cxone, body, 400, "subscriberStateMap[3].partnerAgentState", "repeats subscriberStateMap[0]")


def test_unknown_teams_and_agents_are_400(cxone: Sandbox) -> None:
    _rejected(cxone, _rule(teamIds=[2001, 2999]), 400, "teamIds[1]", "team 2999 does not exist")
    _rejected(cxone, _rule(agentIds=[4242]), 400, "agentIds[0]", "agent 4242 does not exist")
    _rejected(cxone, _rule(teamIds=[2001, 2001]), 400, "teamIds[1]")
    _rejected(cxone, _rule(agentIds=["100005"]), 400, "agentIds[0]")


def test_an_empty_name_is_400_and_a_duplicate_name_409(cxone: Sandbox) -> None:
    _rejected(cxone, _rule(name=""), 400, "name")
    _rejected(cxone, _rule(name="   "), 400, "name")
    assert _create(cxone, RULE).status_code == 201
    _rejected(cxone, _rule(name="TIER 1 VOICE", teamIds=[], priority=5), 409, "already exists")


def test_the_same_team_twice_at_one_priority_is_409(cxone: Sandbox) -> None:
    assert _create(cxone, RULE).status_code == 201
    _rejected(
        cxone,
        _rule(name="Another", teamIds=[2002, 2001], agentIds=[], subscriberStateMap=[], publisherStateMap=[]),
        409,
        "team 2001",
        "priority 0",
        "Tier 1 voice",
    )


def test_replacing_a_rule_does_not_conflict_with_itself(cxone: Sandbox) -> None:
    created = _create(cxone, RULE).json()
    assert cxone.adapters("PUT", f"/presence-rules/{created['ruleId']}", json=RULE).status_code == 200
    other = _create(
        cxone, _rule(name="Other", teamIds=[2002], agentIds=[], publisherStateMap=[], subscriberStateMap=[])
    ).json()
    clash = cxone.adapters("PUT", f"/presence-rules/{other['ruleId']}", json=_rule(name="Other"))
    assert clash.status_code == 409


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"publisherStateMap": [line("PreviousState", BUSY)]}, "PreviousState can only be a target"),
        ({"publisherStateMap": [{"incontactAgentState": "Available"}]}, "partnerAgentState"),
        ({"publisherStateMap": [line("Available", "005000000000001")]}, "publisherStateMap[0].partnerAgentState"),
        ({"publisherStateMap": [line("Available", "Busy")]}, "must be a ServicePresenceStatus id"),
        ({"publisherStateMap": [{**line("Available", BUSY), "from": {}}]}, "unknown field(s) from"),
        ({"subscriberStateMap": [line("InboundContact", BUSY)]}, "subscriberStateMap[0].incontactAgentState"),
        ({"subscriberStateMap": [line("Available", "PreviousState")]}, "subscriberStateMap[0].partnerAgentState"),
        ({"subscriberStateMap": {"incontactAgentState": "Available"}}, "subscriberStateMap must be an array"),
        ({"isActive": "yes"}, "isActive"),
        ({"priority": -1}, "priority"),
        ({"priority": "high"}, "priority"),
        ({"teamIds": 2001}, "teamIds must be an array"),
        ({"color": "blue"}, "unknown field(s) color"),
    ],
)
def test_malformed_fields_are_400_naming_the_field(cxone: Sandbox, change: dict[str, Any], fragment: str) -> None:
    _rejected(cxone, _rule(**change), 400, fragment)


def test_unknown_rule_ids_are_404(cxone: Sandbox) -> None:
    missing = f"/presence-rules/{uuid.uuid4()}"
    assert cxone.adapters("GET", missing).status_code == 404
    assert cxone.adapters("PUT", missing, json=RULE).status_code == 404
    assert cxone.adapters("DELETE", missing).status_code == 404


def test_plain_unavailable_without_a_reason_code_is_a_valid_rule_state(cxone: Sandbox) -> None:
    rule = _rule(publisherStateMap=[line("Unavailable", BUSY)], subscriberStateMap=[line("Unavailable", BUSY)])
    created = _create(cxone, rule)
    assert created.status_code == 201, created.text
    assert created.json()["subscriberStateMap"] == [line("Unavailable", BUSY)]


# ---------------------------------------------------------------------------- the read NICE's SDK makes


def _agent_token(cxone: Sandbox, agent_id: int) -> str:
    keys = cxone.api("POST", f"/access-keys?agentId={agent_id}").json()["accesskeys"][0]
    response = cxone.password_grant(keys["accessKeyId"], keys["accessKeySecret"])
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _read(cxone: Sandbox, agent_id: int, partner_id: str = ORG) -> Any:
    return cxone.adapters("GET", f"/rule/{partner_id}", token=_agent_token(cxone, agent_id))


def test_the_sdk_read_answers_the_stored_rule_that_applies_to_the_tokens_agent(cxone: Sandbox) -> None:
    assert cxone.adapters("POST", "/account-mappings", json=MAPPING).status_code == 201
    team = _create(cxone, _rule(agentIds=[])).json()
    named = _create(cxone, _rule(name="Edsger's", teamIds=[], priority=9)).json()

    assert _read(cxone, 100001).json() == team  # Ada: through her team
    assert _read(cxone, 100005).json() == named  # Edsger: named, beats any team rule
    missing = _read(cxone, 100008)  # Margaret: Sales, no rule
    assert missing.status_code == 404
    assert "no active presence-sync rule applies to agent 100008" in missing.json()["error_description"]


def test_an_inactive_rule_is_stored_but_not_served_to_nices_engine(cxone: Sandbox) -> None:
    assert cxone.adapters("POST", "/account-mappings", json=MAPPING).status_code == 201
    rule = _create(cxone, _rule(isActive=False)).json()
    assert cxone.adapters("GET", f"/presence-rules/{rule['ruleId']}").json()["isActive"] is False
    assert _read(cxone, 100001).status_code == 404
    cxone.adapters("PUT", f"/presence-rules/{rule['ruleId']}", json=_rule(isActive=True))
    assert _read(cxone, 100001).json()["publisherStateMap"] == RULE["publisherStateMap"]


def test_the_sdk_read_needs_a_selected_account_mapping_an_org_id_and_an_agents_token(cxone: Sandbox) -> None:
    _create(cxone, RULE)
    assert _read(cxone, 100001).status_code == 404  # no account mapping to Salesforce yet
    assert cxone.adapters("POST", "/account-mappings", json=MAPPING).status_code == 201
    bad = _read(cxone, 100001, partner_id="not-an-org")
    assert bad.status_code == 400 and "Salesforce organization id" in bad.json()["error_description"]
    assert cxone.request("GET", f"/adapter-apis/v1/salesforce/rule/{ORG}").status_code == 401

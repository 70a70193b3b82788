"""Presence Sync presence rules (our model): lifecycle and every validation."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from tests.sandbox.cxone.harness import Sandbox

AVAILABLE_CHATS = {"statusId": "0N5000000000001AAA", "developerName": "Available_for_Chats"}
ON_CALL = {"statusId": "0N5000000000002AAA", "developerName": "On_Call"}
BUSY = {"statusId": "0N5000000000003", "developerName": "Busy"}

RULE: dict[str, Any] = {
    "name": "Tier 1 voice",
    "priority": 0,
    "publisherStateMap": [
        {"from": {"state": "Available"}, "to": AVAILABLE_CHATS},
        {"from": {"state": "InboundContact"}, "to": ON_CALL},
        {"from": {"state": "Unavailable", "outStateId": 3001}, "to": BUSY},
    ],
    "subscriberStateMap": [
        {"from": AVAILABLE_CHATS, "to": {"state": "Available"}},
        {"from": BUSY, "to": {"state": "Unavailable", "outStateId": 3005}},
        {"from": ON_CALL, "to": {"previousState": True}},
    ],
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


def test_priority_defaults_to_zero(cxone: Sandbox) -> None:
    body = _rule()
    del body["priority"]
    assert _create(cxone, body).json()["priority"] == 0


def test_a_publisher_may_map_platform_states(cxone: Sandbox) -> None:
    body = _rule(
        publisherStateMap=[
            {"from": {"state": state}, "to": ON_CALL}
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


def test_an_unknown_out_state_id_is_400(cxone: Sandbox) -> None:
    body = _rule()
    body["subscriberStateMap"][1]["to"]["outStateId"] = 3999
    _rejected(cxone, body, 400, "subscriberStateMap[1].to.outStateId", "3999 does not exist")


def test_an_inactive_out_state_id_is_400(cxone: Sandbox) -> None:
    cxone.api("PATCH", "/unavailable-codes/3001/status?isActive=false")
    _rejected(cxone, RULE, 400, "publisherStateMap[2].from.outStateId", "inactive")


def test_an_out_state_id_must_be_assigned_to_every_team_of_the_rule(cxone: Sandbox) -> None:
    body = _rule(teamIds=[2001, 2003])  # Sales has no "Busy" (3005)
    _rejected(
        cxone,
        body,
        400,
        "subscriberStateMap[1].to.outStateId",
        "not assigned to team 2003 (Sales)",
        "agent states are unavailable codes; you must apply these codes to teams",
    )


def test_an_out_state_id_must_be_assigned_to_the_team_of_every_agent_of_the_rule(cxone: Sandbox) -> None:
    body = _rule(teamIds=[], agentIds=[100009])  # Linus is on Sales
    _rejected(cxone, body, 400, "not assigned to team 2003 (Sales) of agent 100009", "you must apply these codes")
    cxone.api("POST", "/teams/2003/unavailable-codes", json={"codes": [{"outstateId": 3005}]})
    assert _create(cxone, body).status_code == 201


def test_a_duplicate_publisher_source_is_400(cxone: Sandbox) -> None:
    body = _rule()
    body["publisherStateMap"].append({"from": {"state": "Unavailable", "outStateId": 3001}, "to": ON_CALL})
    _rejected(cxone, body, 400, "publisherStateMap[3].from", "publisherStateMap[2].from")


def test_a_duplicate_subscriber_source_is_400_even_between_15_and_18_character_ids(cxone: Sandbox) -> None:
    body = _rule()
    body["subscriberStateMap"].append(
        {"from": {**AVAILABLE_CHATS, "statusId": "0N5000000000001"}, "to": {"state": "Unavailable", "outStateId": 3002}}
    )
    _rejected(cxone, body, 400, "subscriberStateMap[3].from", "subscriberStateMap[0].from")


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
        (
            {"publisherStateMap": [{"from": {"state": "Available", "outStateId": 3001}, "to": BUSY}]},
            "publisherStateMap[0].from.outStateId is only allowed with state Unavailable",
        ),
        (
            {"publisherStateMap": [{"from": {"state": "Unavailable", "outStateId": 0}, "to": BUSY}]},
            "publisherStateMap[0].from.outStateId",
        ),
        ({"publisherStateMap": [{"from": {"state": "Napping"}, "to": BUSY}]}, "publisherStateMap[0].from.state"),
        ({"publisherStateMap": [{"from": {"state": "Available"}}]}, "publisherStateMap[0].to is required"),
        (
            {"publisherStateMap": [{"from": {"state": "Available"}, "to": {"previousState": False}}]},
            "publisherStateMap[0].to.previousState must be true",
        ),
        (
            {
                "publisherStateMap": [
                    {"from": {"state": "Available"}, "to": {"statusId": "005000000000001", "developerName": "Busy"}}
                ]
            },
            "publisherStateMap[0].to.statusId",
        ),
        (
            {
                "publisherStateMap": [
                    {
                        "from": {"state": "Available"},
                        "to": {"statusId": "0N5000000000001AAA", "developerName": "Busy Now"},
                    }
                ]
            },
            "publisherStateMap[0].to.developerName",
        ),
        ({"subscriberStateMap": [{"from": BUSY, "to": {"state": "InboundContact"}}]}, "subscriberStateMap[0].to.state"),
        (
            {"subscriberStateMap": [{"from": {"previousState": True}, "to": {"state": "Available"}}]},
            "subscriberStateMap[0].from has unknown field",
        ),
        ({"subscriberStateMap": {"from": BUSY}}, "subscriberStateMap must be an array"),
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
    rule = _rule(
        publisherStateMap=[{"from": {"state": "Unavailable"}, "to": BUSY}],
        subscriberStateMap=[{"from": BUSY, "to": {"state": "Unavailable"}}],
    )
    created = _create(cxone, rule)
    assert created.status_code == 201, created.text
    assert created.json()["subscriberStateMap"][0]["to"] == {"state": "Unavailable"}

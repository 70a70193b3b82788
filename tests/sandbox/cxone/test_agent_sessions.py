"""Agent API: joining an agent's session and setting the agent's state through it, with every rejection;
and the agent's own side (the softphone)."""

from __future__ import annotations

from typing import Any

from tests.sandbox.cxone.harness import Sandbox


def _state(cxone: Sandbox, agent_id: int) -> dict[str, Any]:
    return dict(cxone.request("GET", f"/__sandbox/agent/{agent_id}").json())


def _logged_in(cxone: Sandbox, agent_id: int) -> str:
    assert cxone.agent(agent_id, "login").status_code == 200
    return cxone.join(agent_id)


def test_join_returns_the_agents_running_session(cxone: Sandbox) -> None:
    login = cxone.agent(100001, "login").json()
    assert login["agentStateName"] == "Unavailable" and login["newSession"]
    assert cxone.join(100001) == login["sessionId"]
    assert cxone.agent(100001, "login").json()["newSession"] is False


def test_join_needs_a_logged_in_agent(cxone: Sandbox) -> None:
    no_session = cxone.api("POST", "/agent-sessions/join?asAgentId=100001")
    assert no_session.status_code == 409 and "no active session" in no_session.json()["error_description"]
    assert cxone.api("POST", "/agent-sessions/join?asAgentId=4242").status_code == 404
    assert cxone.api("POST", "/agent-sessions/join?asAgentId=abc").status_code == 400


def test_available_by_query_parameter(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)
    response = cxone.api("POST", f"/agent-sessions/{session}/state?state=Available")
    assert response.status_code == 202
    assert _state(cxone, 100001)["agentStateName"] == "Available"


def test_unavailable_with_a_reason_code_name_in_a_json_body(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100005)
    response = cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Unavailable", "reason": "Meeting"})
    assert response.status_code == 202
    state = _state(cxone, 100005)
    assert (state["agentStateName"], state["outStateId"], state["outStateDescription"]) == (
        "Unavailable",
        3003,
        "Meeting",
    )


def test_setting_the_current_state_again_changes_nothing(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)
    cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Available"})
    assert cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Available"}).status_code == 202
    assert [c["agentStateName"] for c in cxone.history(100001)] == ["Unavailable", "Available"]


def test_only_available_and_unavailable_can_be_set(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)
    for body in ({"state": "InboundContact"}, {"state": "LoggedOut"}, {}, {"state": 3}):
        response = cxone.api("POST", f"/agent-sessions/{session}/state", json=body)
        assert response.status_code == 400, body
        assert "state" in response.json()["error_description"]


def test_an_unknown_reason_code_is_400(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)
    response = cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Unavailable", "reason": "Nap"})
    assert response.status_code == 400 and "'Nap' does not exist" in response.json()["error_description"]


def test_reason_codes_match_the_name_exactly(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)
    response = cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Unavailable", "reason": "break"})
    assert response.status_code == 400


def test_an_inactive_reason_code_is_400(cxone: Sandbox) -> None:
    cxone.api("PATCH", "/unavailable-codes/3002/status?isActive=false")
    session = _logged_in(cxone, 100001)
    response = cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Unavailable", "reason": "Lunch"})
    assert response.status_code == 400 and "inactive" in response.json()["error_description"]


def test_a_reason_code_not_assigned_to_the_agents_team_is_400(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)  # Support Tier 1 has no "Meeting"
    response = cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Unavailable", "reason": "Meeting"})
    assert response.status_code == 400
    assert "not assigned to team 2001 (Support Tier 1)" in response.json()["error_description"]


def test_an_acw_code_without_a_contact_is_409(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)
    response = cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Unavailable", "reason": "ACW"})
    assert response.status_code == 409 and "ACW" in response.json()["error_description"]


def test_a_state_set_during_a_contact_applies_when_the_contact_ends(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100001)
    cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Available"})
    cxone.agent(100001, "state", {"state": "InboundContact"})
    response = cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Unavailable", "reason": "ACW"})
    assert response.status_code == 202
    state = _state(cxone, 100001)
    assert state["agentStateName"] == "InboundContact" and state["nextState"]["outStateDescription"] == "ACW"
    cxone.agent(100001, "end-contact")
    assert _state(cxone, 100001)["outStateDescription"] == "ACW"


def test_after_a_contact_without_a_request_the_agent_returns_to_the_state_before(cxone: Sandbox) -> None:
    _logged_in(cxone, 100002)
    cxone.agent(100002, "state", {"state": "Available"})
    cxone.agent(100002, "state", {"state": "InboundContact"})
    cxone.agent(100002, "state", {"state": "InboundConsult"})
    cxone.agent(100002, "end-contact")
    assert _state(cxone, 100002)["agentStateName"] == "Available"
    assert cxone.agent(100002, "end-contact").status_code == 409


def test_an_unknown_or_ended_session_is_404(cxone: Sandbox) -> None:
    assert cxone.api("POST", "/agent-sessions/nope/state", json={"state": "Available"}).status_code == 404
    session = _logged_in(cxone, 100001)
    cxone.agent(100001, "logout")
    assert cxone.api("POST", f"/agent-sessions/{session}/state", json={"state": "Available"}).status_code == 404


def test_ending_the_session_logs_the_agent_out(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100003)
    assert cxone.api("DELETE", f"/agent-sessions/{session}").status_code == 202
    assert _state(cxone, 100003)["agentStateName"] == "LoggedOut"
    assert cxone.history(100003)[-1]["source"] == "api"
    assert cxone.api("DELETE", f"/agent-sessions/{session}").status_code == 404


def test_ending_a_session_during_a_contact_needs_force(cxone: Sandbox) -> None:
    session = _logged_in(cxone, 100003)
    cxone.agent(100003, "state", {"state": "InboundContact"})
    assert cxone.api("DELETE", f"/agent-sessions/{session}").status_code == 409
    assert cxone.api("DELETE", f"/agent-sessions/{session}?forceLogoff=true").status_code == 202


def test_a_session_can_be_started_through_the_api(cxone: Sandbox) -> None:
    response = cxone.api("POST", "/agent-sessions?stationPhoneNumber=5551234&asAgentId=100008")
    assert response.status_code == 202 and cxone.join(100008) == response.json()["sessionId"]
    again = cxone.api("POST", "/agent-sessions?stationPhoneNumber=5551234&asAgentId=100008")
    assert again.status_code == 409
    assert cxone.api("POST", "/agent-sessions?asAgentId=100009").status_code == 400


# ------------------------------------------------------------------------------------------ softphone


def test_the_softphone_validates_like_the_api(cxone: Sandbox) -> None:
    assert cxone.agent(100001, "state", {"state": "Available"}).status_code == 409  # not logged in
    cxone.agent(100001, "login")
    assert cxone.agent(100001, "state", {"state": "Unavailable", "reason": "Training"}).status_code == 400
    assert cxone.agent(100001, "state", {"state": "Unavailable", "reason": "ACW"}).status_code == 409
    assert cxone.agent(100001, "state", {"state": "LoggedIn"}).status_code == 400
    assert cxone.agent(100001, "state", {"state": "Available", "reason": "Break"}).status_code == 400
    assert cxone.agent(100001, "state", {"state": "Available", "mood": "good"}).status_code == 400
    assert cxone.agent(4242, "login").status_code == 404


def test_an_inactive_agent_cannot_log_in(cxone: Sandbox) -> None:
    created = cxone.request(
        "POST",
        "/__sandbox/cxone/agents",
        json={
            "firstName": "Charles",
            "lastName": "Babbage",
            "emailAddress": "charles.babbage@example.com",
            "teamId": 2002,
            "isActive": False,
        },
    )
    assert created.status_code == 201
    assert cxone.agent(created.json()["agentId"], "login").status_code == 400


def test_deactivating_an_agent_logs_it_out(cxone: Sandbox) -> None:
    cxone.agent(100009, "login")
    response = cxone.request("PATCH", "/__sandbox/cxone/agents/100009", json={"isActive": False})
    assert response.status_code == 200 and response.json()["isActive"] is False
    assert _state(cxone, 100009)["agentStateName"] == "LoggedOut"
    assert cxone.history(100009)[-1]["source"] == "system"

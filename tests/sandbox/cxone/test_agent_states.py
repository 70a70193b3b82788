"""Real-time agent states: the ``updatedSince`` / ``lastPollTime`` cursor, and who caused each change."""

from __future__ import annotations

from typing import Any

from tests.sandbox.cxone.harness import Sandbox


def _poll(cxone: Sandbox, since: str | None, **params: Any) -> tuple[int, dict[str, Any]]:
    if since is not None:
        params["updatedSince"] = since
    response = cxone.api("GET", "/agents/states", params=params)
    return response.status_code, (response.json() if response.content else {})


def test_the_first_poll_returns_every_agent_and_a_cursor(cxone: Sandbox) -> None:
    status, body = _poll(cxone, None)
    assert status == 200 and body["totalRecords"] == 11
    ada = next(s for s in body["agentStates"] if s["agentId"] == 100001)
    assert ada["agentStateName"] == "LoggedOut" and ada["teamName"] == "Support Tier 1"
    assert body["lastPollTime"] > max(s["lastUpdateTime"] for s in body["agentStates"])


def test_polling_with_the_cursor_returns_each_change_once_then_204(cxone: Sandbox) -> None:
    cursor = _poll(cxone, None)[1]["lastPollTime"]
    assert _poll(cxone, cursor) == (204, {})
    cxone.agent(100001, "login")
    cxone.agent(100005, "login")
    status, body = _poll(cxone, cursor)
    assert status == 200 and [s["agentId"] for s in body["agentStates"]] == [100001, 100005]
    assert all(s["agentStateName"] == "Unavailable" and s["outStateId"] == 0 for s in body["agentStates"])
    cursor = body["lastPollTime"]
    assert _poll(cxone, cursor)[0] == 204
    cxone.agent(100001, "state", {"state": "Available"})
    status, body = _poll(cxone, cursor)
    assert [(s["agentId"], s["agentStateName"]) for s in body["agentStates"]] == [(100001, "Available")]


def test_two_changes_between_polls_show_the_latest_state(cxone: Sandbox) -> None:
    cursor = _poll(cxone, None)[1]["lastPollTime"]
    cxone.agent(100002, "login")
    cxone.agent(100002, "state", {"state": "Unavailable", "reason": "Lunch"})
    body = _poll(cxone, cursor)[1]
    assert body["totalRecords"] == 1
    state = body["agentStates"][0]
    assert (state["agentStateName"], state["outStateId"], state["outStateDescription"]) == (
        "Unavailable",
        3002,
        "Lunch",
    )


def test_changes_come_oldest_first_and_page_with_skip_and_top(cxone: Sandbox) -> None:
    cursor = _poll(cxone, None)[1]["lastPollTime"]
    for agent_id in (100010, 100003, 100007):
        cxone.agent(agent_id, "login")
    first = _poll(cxone, cursor, top=2)[1]
    assert first["totalRecords"] == 3 and [s["agentId"] for s in first["agentStates"]] == [100010, 100003]
    assert "skip=2" in first["_links"]["next"]
    second = _poll(cxone, cursor, top=2, skip=2)[1]
    assert [s["agentId"] for s in second["agentStates"]] == [100007] and second["_links"]["next"] is None


def test_updated_since_zero_means_everything(cxone: Sandbox) -> None:
    assert _poll(cxone, "0")[1]["totalRecords"] == 11


def test_a_contact_shows_as_a_platform_state(cxone: Sandbox) -> None:
    cxone.agent(100004, "login")
    cxone.agent(100004, "state", {"state": "OutboundContact"})
    state = cxone.api("GET", "/agents/100004/states").json()["agentStates"][0]
    assert state["agentStateName"] == "OutboundContact" and state["isOutbound"] and state["contactId"] > 0
    assert state["lastPollTime"] > state["lastUpdateTime"]


def test_one_agents_state_honours_updated_since(cxone: Sandbox) -> None:
    body = cxone.api("GET", "/agents/100006/states").json()
    cursor = body["agentStates"][0]["lastPollTime"]
    assert cxone.api("GET", "/agents/100006/states", params={"updatedSince": cursor}).status_code == 204
    cxone.agent(100006, "login")
    again = cxone.api("GET", "/agents/100006/states", params={"updatedSince": cursor})
    assert again.status_code == 200 and again.json()["agentStates"][0]["agentStateName"] == "Unavailable"
    assert cxone.api("GET", "/agents/4242/states").status_code == 404


def test_every_change_is_recorded_with_who_caused_it(cxone: Sandbox) -> None:
    cxone.agent(100001, "login")
    session = cxone.join(100001)
    cxone.api("POST", f"/agent-sessions/{session}/state", params={"state": "Available"})
    cxone.agent(100001, "state", {"state": "Unavailable", "outStateId": 3001})
    cxone.agent(100001, "logout")
    changes = [(c["agentStateName"], c["outStateDescription"], c["source"], c["actor"]) for c in cxone.history(100001)]
    assert changes == [
        ("Unavailable", "", "agent", "agent:100001"),
        ("Available", "", "api", "agent:100000"),
        ("Unavailable", "Break", "agent", "agent:100001"),
        ("LoggedOut", "", "agent", "agent:100001"),
    ]

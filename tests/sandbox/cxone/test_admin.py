"""Admin API: the seeded tenant, agents and teams with their paging and filters, and moving agents."""

from __future__ import annotations

from tests.sandbox.cxone.harness import Sandbox

SALESFORCE_USERS = {
    "ada.lovelace@example.com",
    "grace.hopper@example.com",
    "alan.turing@example.com",
    "katherine.johnson@example.com",
    "edsger.dijkstra@example.com",
    "barbara.liskov@example.com",
    "donald.knuth@example.com",
    "margaret.hamilton@example.com",
    "linus.torvalds@example.com",
    "radia.perlman@example.com",
}


def test_the_seeded_tenant_has_ten_agents_matching_the_salesforce_users_and_an_admin(cxone: Sandbox) -> None:
    body = cxone.api("GET", "/agents").json()
    assert body["businessUnitId"] == 4600123 and body["totalRecords"] == 11
    emails = {a["emailAddress"] for a in body["agents"]}
    assert emails > SALESFORCE_USERS and len(emails - SALESFORCE_USERS) == 1
    ada = next(a for a in body["agents"] if a["emailAddress"] == "ada.lovelace@example.com")
    assert (ada["firstName"], ada["lastName"], ada["teamName"], ada["isActive"]) == (
        "Ada",
        "Lovelace",
        "Support Tier 1",
        True,
    )
    assert body["lastPollTime"].endswith("Z")


def test_the_seeded_teams_and_every_agent_starts_logged_out(cxone: Sandbox) -> None:
    teams = cxone.api("GET", "/teams").json()["teams"]
    assert [t["teamName"] for t in teams] == ["Support Tier 1", "Support Tier 2", "Sales"]
    assert {t["teamName"]: t["agentCount"] for t in teams} == {"Support Tier 1": 5, "Support Tier 2": 3, "Sales": 3}
    states = cxone.api("GET", "/agents/states").json()["agentStates"]
    assert len(states) == 11 and {s["agentStateName"] for s in states} == {"LoggedOut"}


def test_agents_page_with_skip_and_top_and_links(cxone: Sandbox) -> None:
    first = cxone.api("GET", "/agents?top=4").json()
    assert len(first["agents"]) == 4 and first["totalRecords"] == 11
    assert first["_links"]["previous"] is None
    nxt = first["_links"]["next"]
    assert nxt.startswith(f"{cxone.base_url}/incontactapi/services/v34.0/agents?") and "skip=4" in nxt
    second = cxone.call("GET", nxt[len(cxone.base_url) :]).json()
    assert [a["agentId"] for a in second["agents"]] == [100004, 100005, 100006, 100007]
    last = cxone.api("GET", "/agents?skip=8&top=4").json()
    assert len(last["agents"]) == 3 and last["_links"]["next"] is None and "skip=4" in last["_links"]["previous"]


def test_agents_can_be_searched_and_filtered(cxone: Sandbox) -> None:
    found = cxone.api("GET", "/agents?searchString=hopper").json()["agents"]
    assert [a["emailAddress"] for a in found] == ["grace.hopper@example.com"]
    assert cxone.api("GET", "/agents?isActive=false").json()["totalRecords"] == 0
    assert cxone.api("GET", "/agents?isActive=true").json()["totalRecords"] == 11


def test_agents_updated_since_a_poll_time(cxone: Sandbox) -> None:
    since = cxone.api("GET", "/agents").json()["lastPollTime"]
    assert cxone.api("GET", "/agents", params={"updatedSince": since}).json()["agents"] == []
    cxone.api("POST", "/teams/2003/agents", json={"agents": [{"agentId": 100001}]})
    for name in ("updatedSince", "updateSince"):
        moved = cxone.api("GET", "/agents", params={name: since}).json()["agents"]
        assert [a["agentId"] for a in moved] == [100001]


def test_one_agent_by_id_or_user_id(cxone: Sandbox) -> None:
    by_id = cxone.api("GET", "/agents/100002").json()["agents"][0]
    assert by_id["emailAddress"] == "grace.hopper@example.com"
    by_user = cxone.api("GET", f"/agents/{by_id['userID']}").json()["agents"][0]
    assert by_user["agentId"] == 100002
    missing = cxone.api("GET", "/agents/999")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"


def test_bad_query_values_are_400_naming_the_parameter(cxone: Sandbox) -> None:
    for query, name in (
        ("top=abc", "top"),
        ("top=0", "top"),
        ("skip=-1", "skip"),
        ("isActive=maybe", "isActive"),
        ("updatedSince=yesterday", "updatedSince"),
    ):
        response = cxone.api("GET", f"/agents?{query}")
        assert response.status_code == 400, query
        assert name in response.json()["error_description"]


def test_one_team_and_its_agents(cxone: Sandbox) -> None:
    team = cxone.api("GET", "/teams/2002").json()["teams"][0]
    assert (team["teamName"], team["agentCount"], team["isActive"]) == ("Support Tier 2", 3, True)
    body = cxone.api("GET", "/teams/2002/agents").json()
    assert body["totalRecords"] == 3
    assert [a["lastName"] for a in body["teams"][0]["agents"]] == ["Dijkstra", "Liskov", "Knuth"]
    assert cxone.api("GET", "/teams/9999").status_code == 404
    assert cxone.api("GET", "/teams/9999/agents").status_code == 404


def test_teams_are_created_in_a_batch_with_a_result_per_team(cxone: Sandbox) -> None:
    response = cxone.api(
        "POST", "/teams", json={"teams": [{"teamName": "Escalations"}, {"teamName": "Sales"}, {"isActive": True}]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["errorCount"] == 2
    assert body["results"][0]["success"] and isinstance(body["results"][0]["teamId"], int)
    assert not body["results"][1]["success"] and "already exists" in body["results"][1]["error"]
    assert "teamName is required" in body["results"][2]["error"]
    names = [t["teamName"] for t in cxone.api("GET", "/teams").json()["teams"]]
    assert names[-1] == "Escalations"
    assert cxone.api("POST", "/teams", json={"teams": []}).status_code == 400


def test_agents_move_between_teams(cxone: Sandbox) -> None:
    response = cxone.api("POST", "/teams/2003/agents", json={"agents": [{"agentId": "100001"}, {"agentId": 4242}]})
    assert response.status_code == 200
    results = response.json()["resultSet"]
    assert results["errorCount"] == 1
    assert results["agentResults"][0] == {"agentId": 100001, "success": True, "error": None}
    assert cxone.api("GET", "/agents/100001").json()["agents"][0]["teamName"] == "Sales"

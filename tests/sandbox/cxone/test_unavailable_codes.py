"""Unavailable codes (CXone's agent states) and their assignment to teams."""

from __future__ import annotations

from tests.sandbox.cxone.harness import Sandbox


def _team_codes(cxone: Sandbox, team_id: int) -> list[str]:
    body = cxone.api("GET", f"/teams/{team_id}/unavailable-codes").json()
    return [c["outstateName"] for c in body["unavailableCodes"]]


def test_the_seeded_codes_and_acw(cxone: Sandbox) -> None:
    body = cxone.api("GET", "/unavailable-codes").json()
    assert body["totalRecords"] == 6 and body["businessUnitId"] == 4600123
    codes = {c["name"]: c for c in body["unavailableCodes"]}
    assert set(codes) == {"Break", "Lunch", "Meeting", "Training", "Busy", "ACW"}
    assert codes["ACW"]["isACW"] and not codes["Break"]["isACW"]


def test_the_seeded_team_assignments(cxone: Sandbox) -> None:
    assert _team_codes(cxone, 2001) == ["Break", "Lunch", "Busy", "ACW"]
    assert _team_codes(cxone, 2002) == ["Break", "Lunch", "Meeting", "Busy"]
    assert _team_codes(cxone, 2003) == ["Break", "Lunch", "Training"]
    body = cxone.api("GET", "/teams/2001/unavailable-codes").json()
    assert body["teamName"] == "Support Tier 1" and body["teamUuid"]
    acw = body["unavailableCodes"][-1]
    assert acw == {"outstateId": 3006, "outstateName": "ACW", "isActive": True, "isAcw": True, "agentTimeoutMins": "2"}


def test_codes_are_created_read_updated_and_deactivated(cxone: Sandbox) -> None:
    created = cxone.api("POST", "/unavailable-codes", json={"name": "Coaching", "notes": "1:1"})
    assert created.status_code == 200
    code_id = created.json()["id"]
    assert cxone.api("GET", f"/unavailable-codes/{code_id}").json()["unavailableCode"] == {
        "id": code_id,
        "name": "Coaching",
        "isActive": True,
        "isACW": False,
        "agentTimeout": None,
        "notes": "1:1",
    }
    assert cxone.api("PUT", f"/unavailable-codes/{code_id}", json={"name": "Coaching 1:1"}).status_code == 204
    assert cxone.api("PATCH", f"/unavailable-codes/{code_id}/status?isActive=false").status_code == 204
    code = cxone.api("GET", f"/unavailable-codes/{code_id}").json()["unavailableCode"]
    assert (code["name"], code["isActive"], code["notes"]) == ("Coaching 1:1", False, "1:1")
    assert cxone.api("GET", "/unavailable-codes?isActive=true").json()["totalRecords"] == 6
    assert cxone.api("GET", "/unavailable-codes?searchString=coach").json()["totalRecords"] == 1


def test_code_names_are_unique_and_validated(cxone: Sandbox) -> None:
    duplicate = cxone.api("POST", "/unavailable-codes", json={"name": "break"})
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "Conflict"
    assert cxone.api("PUT", "/unavailable-codes/3001", json={"name": "Lunch"}).status_code == 409
    missing = cxone.api("POST", "/unavailable-codes", json={"isACW": True})
    assert missing.status_code == 400 and "name" in missing.json()["error_description"]
    wrong_type = cxone.api("POST", "/unavailable-codes", json={"name": "X", "isACW": "yes"})
    assert wrong_type.status_code == 400 and "isACW" in wrong_type.json()["error_description"]
    assert cxone.api("GET", "/unavailable-codes/9999").status_code == 404
    assert cxone.api("PATCH", "/unavailable-codes/3001/status").status_code == 400


def test_codes_are_assigned_to_a_team_with_any_id_casing(cxone: Sandbox) -> None:
    codes = [{"outstateId": 3003}, {"outStateId": "3005"}, {"id": 3001}, {"outstateId": 77}]
    response = cxone.api("POST", "/teams/2003/unavailable-codes", json={"codes": codes})
    assert response.status_code == 200
    result = response.json()["resultSet"]
    assert result["errorCount"] == 1
    assert [r["success"] for r in result["codeResults"]] == [True, True, True, False]
    assert _team_codes(cxone, 2003) == ["Break", "Lunch", "Meeting", "Training", "Busy"]


def test_put_adds_codes_to_a_team(cxone: Sandbox) -> None:
    response = cxone.api("PUT", "/teams/2002/unavailable-codes", json={"unavailableCodes": [{"outStateId": "3004"}]})
    assert response.status_code == 200 and response.json()["resultSet"]["errorCount"] == 0
    assert _team_codes(cxone, 2002) == ["Break", "Lunch", "Meeting", "Training", "Busy"]


def test_codes_are_removed_from_a_team(cxone: Sandbox) -> None:
    response = cxone.api(
        "DELETE", "/teams/2001/unavailable-codes", json={"codes": [{"outstateId": "3005"}, {"outstateId": 3003}]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["errorCount"] == 1 and body["codeResults"][1]["outstateId"] == 3003
    assert _team_codes(cxone, 2001) == ["Break", "Lunch", "ACW"]


def test_active_only_hides_inactive_codes(cxone: Sandbox) -> None:
    cxone.api("PATCH", "/unavailable-codes/3002/status?isActive=false")
    assert _team_codes(cxone, 2003) == ["Break", "Lunch", "Training"]
    active = cxone.api("GET", "/teams/2003/unavailable-codes?activeOnly=true").json()["unavailableCodes"]
    assert [c["outstateName"] for c in active] == ["Break", "Training"]


def test_team_assignment_errors(cxone: Sandbox) -> None:
    assert cxone.api("POST", "/teams/9999/unavailable-codes", json={"codes": [{"outstateId": 3001}]}).status_code == 404
    assert cxone.api("POST", "/teams/2001/unavailable-codes", json={"codes": []}).status_code == 400
    wrong_key = cxone.api("POST", "/teams/2001/unavailable-codes", json={"unavailableCodes": [{"outstateId": 3001}]})
    assert wrong_key.status_code == 400 and "codes" in wrong_key.json()["error_description"]
    bad_item = cxone.api("POST", "/teams/2001/unavailable-codes", json={"codes": [{"outstateId": True}]})
    assert bad_item.json()["resultSet"]["codeResults"][0]["success"] is False

"""Access keys: created for an agent, usable at /auth/token, listed without secrets, deactivated, deleted."""

from __future__ import annotations

from tests.sandbox.cxone.harness import Sandbox


def test_a_new_access_key_logs_in_as_its_agent(cxone: Sandbox) -> None:
    response = cxone.api("POST", "/access-keys?agentId=100002")
    assert response.status_code == 200
    key = response.json()["accesskeys"][0]
    assert key["agentId"] == 100002 and key["isActive"] and key["accessKeySecret"].endswith("=")
    token = cxone.password_grant(key["accessKeyId"], key["accessKeySecret"])
    assert token.status_code == 200
    session = cxone.agent(100002, "login").json()["sessionId"]
    joined = cxone.api("POST", "/agent-sessions/join", token=token.json()["access_token"])  # no asAgentId: self
    assert joined.json()["sessionId"] == session


def test_keys_are_listed_and_read_without_their_secret(cxone: Sandbox) -> None:
    key_id = cxone.api("POST", "/access-keys?agentId=100003").json()["accesskeys"][0]["accessKeyId"]
    listed = cxone.api("GET", "/access-keys?agentId=100003").json()
    assert listed["totalRecords"] == 1 and listed["accesskeys"][0]["accessKeyId"] == key_id
    one = cxone.api("GET", f"/access-keys/{key_id}").json()["accessKey"]
    assert "accessKeySecret" not in one and "accessKeySecret" not in listed["accesskeys"][0]
    assert cxone.api("GET", "/access-keys").status_code == 400
    assert cxone.api("GET", "/access-keys/unknown").status_code == 404


def test_a_deactivated_key_can_no_longer_get_or_use_tokens(cxone: Sandbox) -> None:
    key = cxone.api("POST", "/access-keys?agentId=100004").json()["accesskeys"][0]
    token = cxone.password_grant(key["accessKeyId"], key["accessKeySecret"]).json()
    assert cxone.api("PATCH", f"/access-keys/{key['accessKeyId']}", json={"isActive": False}).status_code == 204
    assert cxone.api("GET", "/teams", token=token["access_token"]).status_code == 401
    denied = cxone.password_grant(key["accessKeyId"], key["accessKeySecret"])
    assert denied.status_code == 400 and denied.json()["error"] == "invalid_grant"
    refresh = cxone.token_request({"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
    assert refresh.status_code == 400
    assert cxone.api("PATCH", f"/access-keys/{key['accessKeyId']}?isActive=true").status_code == 204
    assert cxone.password_grant(key["accessKeyId"], key["accessKeySecret"]).status_code == 200


def test_a_deleted_key_is_gone(cxone: Sandbox) -> None:
    key = cxone.api("POST", "/access-keys?agentId=100004").json()["accesskeys"][0]
    assert cxone.api("DELETE", f"/access-keys/{key['accessKeyId']}").status_code == 204
    assert cxone.api("GET", f"/access-keys/{key['accessKeyId']}").status_code == 404
    assert cxone.password_grant(key["accessKeyId"], key["accessKeySecret"]).status_code == 400


def test_keys_need_an_existing_active_agent(cxone: Sandbox) -> None:
    assert cxone.api("POST", "/access-keys?agentId=4242").status_code == 400
    cxone.request("PATCH", "/__sandbox/cxone/agents/100005", json={"isActive": False})
    assert cxone.api("POST", "/access-keys?agentId=100005").status_code == 400


def test_an_agents_keys_stop_working_when_the_agent_is_deactivated(cxone: Sandbox) -> None:
    key = cxone.api("POST", "/access-keys?agentId=100006").json()["accesskeys"][0]
    token = cxone.password_grant(key["accessKeyId"], key["accessKeySecret"]).json()["access_token"]
    cxone.request("PATCH", "/__sandbox/cxone/agents/100006", json={"isActive": False})
    assert cxone.api("GET", "/teams", token=token).status_code == 401
    assert cxone.password_grant(key["accessKeyId"], key["accessKeySecret"]).status_code == 400

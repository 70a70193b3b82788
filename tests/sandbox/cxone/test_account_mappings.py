"""Presence Sync account mappings (our model of NICE's Adapters "Account Mapping")."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from tests.sandbox.cxone.harness import Sandbox

MAPPING: dict[str, Any] = {
    "name": "Production org",
    "accessKeyAgentId": 100000,
    "salesforceEnvironment": {
        "name": "acme-prod",
        "instanceUrl": "https://acme.my.salesforce.com",
        "consumerKey": "3MVG9-consumer-key",
        "consumerSecret": "consumer-secret-1",
    },
    "isSelected": True,
}


def _mapping(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(MAPPING)
    body.update(changes)
    return body


def test_create_returns_the_access_key_secret_once_and_get_never_returns_secrets(cxone: Sandbox) -> None:
    response = cxone.adapters("POST", "/account-mappings", json=MAPPING)
    assert response.status_code == 201
    created = response.json()
    uuid.UUID(created["mappingId"])
    assert created["accessKeySecret"] and created["accessKeyId"]
    assert created["salesforceEnvironment"] == {
        "name": "acme-prod",
        "instanceUrl": "https://acme.my.salesforce.com",
        "consumerKey": "3MVG9-consumer-key",
        "hasConsumerSecret": True,
    }
    assert created["isSelected"] is True and created["accessKeyAgentId"] == 100000 and created["lastModified"]
    read = cxone.adapters("GET", f"/account-mappings/{created['mappingId']}").json()
    assert read == {k: v for k, v in created.items() if k != "accessKeySecret"}
    listed = cxone.adapters("GET", "/account-mappings").json()
    assert listed == {"accountMappings": [read]}
    assert "consumer-secret-1" not in str(listed) and created["accessKeySecret"] not in str(listed)


def test_the_mappings_access_key_works_at_the_token_endpoint(cxone: Sandbox) -> None:
    created = cxone.adapters("POST", "/account-mappings", json=_mapping(accessKeyAgentId=100001)).json()
    token = cxone.password_grant(created["accessKeyId"], created["accessKeySecret"])
    assert token.status_code == 200
    keys = cxone.api("GET", "/access-keys?agentId=100001").json()["accesskeys"]
    assert [k["accessKeyId"] for k in keys] == [created["accessKeyId"]]


def test_put_replaces_the_mapping_and_keeps_an_omitted_consumer_secret(cxone: Sandbox) -> None:
    created = cxone.adapters("POST", "/account-mappings", json=MAPPING).json()
    environment = {k: v for k, v in MAPPING["salesforceEnvironment"].items() if k != "consumerSecret"}
    environment["instanceUrl"] = "https://acme--uat.sandbox.my.salesforce.com"
    response = cxone.adapters(
        "PUT",
        f"/account-mappings/{created['mappingId']}",
        json={"name": "UAT org", "salesforceEnvironment": environment, "isSelected": True},
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["name"] == "UAT org" and "accessKeySecret" not in updated
    assert updated["salesforceEnvironment"]["instanceUrl"] == environment["instanceUrl"]
    assert updated["salesforceEnvironment"]["hasConsumerSecret"] is True
    assert updated["accessKeyId"] == created["accessKeyId"]
    assert updated["lastModified"] > created["lastModified"]


def test_the_access_key_user_cannot_change(cxone: Sandbox) -> None:
    created = cxone.adapters("POST", "/account-mappings", json=MAPPING).json()
    same = cxone.adapters("PUT", f"/account-mappings/{created['mappingId']}", json=MAPPING)
    assert same.status_code == 200
    other = cxone.adapters("PUT", f"/account-mappings/{created['mappingId']}", json=_mapping(accessKeyAgentId=100001))
    assert other.status_code == 400
    assert "create a new account mapping" in other.json()["error_description"]


def test_delete_deactivates_the_mappings_access_key(cxone: Sandbox) -> None:
    created = cxone.adapters("POST", "/account-mappings", json=MAPPING).json()
    token = cxone.password_grant(created["accessKeyId"], created["accessKeySecret"]).json()["access_token"]
    assert cxone.adapters("DELETE", f"/account-mappings/{created['mappingId']}").status_code == 204
    assert cxone.adapters("GET", f"/account-mappings/{created['mappingId']}").status_code == 404
    assert cxone.adapters("DELETE", f"/account-mappings/{created['mappingId']}").status_code == 404
    assert cxone.password_grant(created["accessKeyId"], created["accessKeySecret"]).status_code == 400
    assert cxone.api("GET", "/teams", token=token).status_code == 401
    key = cxone.api("GET", f"/access-keys/{created['accessKeyId']}").json()["accessKey"]
    assert key["isActive"] is False


def test_selecting_a_mapping_deselects_the_others(cxone: Sandbox) -> None:
    first = cxone.adapters("POST", "/account-mappings", json=MAPPING).json()
    second = cxone.adapters("POST", "/account-mappings", json=_mapping(name="Second", isSelected=True)).json()
    mappings = {m["name"]: m for m in cxone.adapters("GET", "/account-mappings").json()["accountMappings"]}
    assert (mappings["Production org"]["isSelected"], mappings["Second"]["isSelected"]) == (False, True)
    body = _mapping(isSelected=True)
    del body["salesforceEnvironment"]["consumerSecret"]
    cxone.adapters("PUT", f"/account-mappings/{first['mappingId']}", json=body)
    assert cxone.adapters("GET", f"/account-mappings/{second['mappingId']}").json()["isSelected"] is False


def test_is_selected_defaults_to_false(cxone: Sandbox) -> None:
    body = _mapping()
    del body["isSelected"]
    assert cxone.adapters("POST", "/account-mappings", json=body).json()["isSelected"] is False


def test_the_access_key_user_must_exist_and_be_active(cxone: Sandbox) -> None:
    unknown = cxone.adapters("POST", "/account-mappings", json=_mapping(accessKeyAgentId=4242))
    assert unknown.status_code == 400 and "accessKeyAgentId" in unknown.json()["error_description"]
    cxone.request("PATCH", "/__sandbox/cxone/agents/100007", json={"isActive": False})
    inactive = cxone.adapters("POST", "/account-mappings", json=_mapping(accessKeyAgentId=100007))
    assert inactive.status_code == 400 and "inactive" in inactive.json()["error_description"]


def test_names_are_unique(cxone: Sandbox) -> None:
    cxone.adapters("POST", "/account-mappings", json=MAPPING)
    duplicate = cxone.adapters("POST", "/account-mappings", json=_mapping(name="PRODUCTION ORG"))
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "Conflict"
    other = cxone.adapters("POST", "/account-mappings", json=_mapping(name="Other")).json()
    rename = cxone.adapters("PUT", f"/account-mappings/{other['mappingId']}", json=_mapping(name="Production org"))
    assert rename.status_code == 409


def test_malformed_bodies_are_400_naming_the_field(cxone: Sandbox) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (_mapping(name=""), "name"),
        (_mapping(name=7), "name"),
        (_mapping(accessKeyAgentId="100000"), "accessKeyAgentId"),
        (_mapping(accessKeyAgentId=True), "accessKeyAgentId"),
        (_mapping(isSelected="yes"), "isSelected"),
        (_mapping(extra=1), "extra"),
        ({k: v for k, v in MAPPING.items() if k != "salesforceEnvironment"}, "salesforceEnvironment"),
        (
            _mapping(salesforceEnvironment={**MAPPING["salesforceEnvironment"], "instanceUrl": "http://acme.com"}),
            "salesforceEnvironment.instanceUrl",
        ),
        (
            _mapping(salesforceEnvironment={**MAPPING["salesforceEnvironment"], "consumerSecret": None}),
            "salesforceEnvironment.consumerSecret",
        ),
        (_mapping(salesforceEnvironment={**MAPPING["salesforceEnvironment"], "loginUrl": "x"}), "loginUrl"),
    ]
    for body, field in cases:
        response = cxone.adapters("POST", "/account-mappings", json=body)
        assert response.status_code == 400, body
        assert field in response.json()["error_description"], (field, response.json())


def test_unknown_ids_and_partners_are_404(cxone: Sandbox) -> None:
    assert cxone.adapters("GET", f"/account-mappings/{uuid.uuid4()}").status_code == 404
    assert cxone.adapters("PUT", f"/account-mappings/{uuid.uuid4()}", json=MAPPING).status_code == 404
    assert cxone.call("GET", "/adapter-apis/v1/teams/account-mappings").status_code == 404


def test_the_adapter_api_needs_a_token(cxone: Sandbox) -> None:
    assert cxone.request("GET", "/adapter-apis/v1/salesforce/account-mappings").status_code == 401

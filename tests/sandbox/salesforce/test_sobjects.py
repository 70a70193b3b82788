"""sObject CRUD and describe through simple-salesforce: each object's supported calls, the real error
shapes, and never a 500 from bad input."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import (
    Salesforce,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.salesforce.ids import make_id
from sandbox.testing import SandboxHandle
from tests.sandbox.support import put_settings, rest


def first_id(sf: Salesforce, soql: str) -> str:
    return str(sf.query(soql)["records"][0]["Id"])


def agent_permission_set(sf: Salesforce) -> str:
    return first_id(
        sf, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND Profile.Name = 'Custom: Support Agent'"
    )


def error_of(raised: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    return dict(raised.value.content[0])


def test_create_get_update_a_presence_status(sf: Salesforce, unique: str) -> None:
    created = sf.ServicePresenceStatus.create({"DeveloperName": f"Rest_{unique}", "MasterLabel": "Rest status"})
    assert created["success"] is True and created["errors"] == []
    assert created["id"].startswith("0N5")

    assert sf.ServicePresenceStatus.update(created["id"], {"MasterLabel": "Renamed"}) == 204
    record = sf.ServicePresenceStatus.get(created["id"])
    assert record["MasterLabel"] == "Renamed"
    assert record["Language"] == "en_US"  # defaulted on create
    assert record["attributes"]["type"] == "ServicePresenceStatus"


def test_presence_status_has_no_delete_call(sf: Salesforce, unique: str) -> None:
    created = sf.ServicePresenceStatus.create({"DeveloperName": f"Nodel_{unique}", "MasterLabel": "x"})

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.ServicePresenceStatus.delete(created["id"])
    assert error_of(raised)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_grant_a_status_to_a_profile_through_setup_entity_access(sf: Salesforce, unique: str) -> None:
    status = sf.ServicePresenceStatus.create({"DeveloperName": f"Grant_{unique}", "MasterLabel": "g"})["id"]
    parent = agent_permission_set(sf)

    grant = sf.SetupEntityAccess.create({"ParentId": parent, "SetupEntityId": status})

    row = sf.query(
        f"SELECT ParentId, SetupEntityId, SetupEntityType, Parent.ProfileId FROM SetupEntityAccess "
        f"WHERE Id = '{grant['id']}'"
    )["records"][0]
    assert row["SetupEntityType"] == "ServicePresenceStatus"  # derived by the server
    assert row["Parent"]["ProfileId"].startswith("00e")
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.SetupEntityAccess.create({"ParentId": parent, "SetupEntityId": status})
    assert error_of(duplicate)["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as no_update:
        sf.SetupEntityAccess.update(grant["id"], {"ParentId": parent})
    assert error_of(no_update)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    assert sf.SetupEntityAccess.delete(grant["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.SetupEntityAccess.get(grant["id"])


def test_setup_entity_type_is_not_createable(sf: Salesforce, unique: str) -> None:
    status = sf.ServicePresenceStatus.create({"DeveloperName": f"Set_{unique}", "MasterLabel": "s"})["id"]

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.SetupEntityAccess.create(
            {"ParentId": agent_permission_set(sf), "SetupEntityId": status, "SetupEntityType": "ServicePresenceStatus"}
        )
    assert error_of(raised)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error_of(raised)["fields"] == ["SetupEntityType"]


def test_user_service_presence_is_read_only(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.UserServicePresence.create({"UserId": first_id(sf, "SELECT Id FROM User LIMIT 1")})

    assert error_of(raised) == {
        "message": "entity type cannot be inserted: User Presence",
        "errorCode": "INVALID_TYPE_FOR_OPERATION",
    }


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"DeveloperName": "X1"}, "REQUIRED_FIELD_MISSING", ["MasterLabel"]),
        ({"DeveloperName": "X2", "MasterLabel": "x", "Colour__c": "red"}, "INVALID_FIELD", None),
        (
            {"DeveloperName": "X3", "MasterLabel": "x", "CreatedDate": "2024-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        ({"DeveloperName": "X4", "MasterLabel": {"nested": True}}, "JSON_PARSER_ERROR", None),
        (
            {"DeveloperName": "X5", "MasterLabel": "x", "Language": "xx_XX"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Language"],
        ),
        ({"DeveloperName": "bad name", "MasterLabel": "x"}, "FIELD_INTEGRITY_EXCEPTION", ["DeveloperName"]),
        ({"DeveloperName": "X6_", "MasterLabel": "x"}, "FIELD_INTEGRITY_EXCEPTION", ["DeveloperName"]),
        ({"DeveloperName": "X" * 81, "MasterLabel": "x"}, "STRING_TOO_LONG", ["DeveloperName"]),
    ],
)
def test_bad_records_are_rejected_with_the_real_error_codes(
    sf: Salesforce, body: dict[str, Any], code: str, fields: list[str] | None
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.ServicePresenceStatus.create(body)

    assert error_of(raised)["errorCode"] == code
    if fields is not None:
        assert error_of(raised)["fields"] == fields


def test_duplicate_developer_name_is_duplicate_value(sf: Salesforce, unique: str) -> None:
    sf.ServicePresenceStatus.create({"DeveloperName": f"Dup_{unique}", "MasterLabel": "d"})

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.ServicePresenceStatus.create({"DeveloperName": f"dup_{unique}", "MasterLabel": "d"})
    assert error_of(raised)["errorCode"] == "DUPLICATE_VALUE"


def test_references_are_checked(sf: Salesforce, unique: str) -> None:
    status = sf.ServicePresenceStatus.create({"DeveloperName": f"Ref_{unique}", "MasterLabel": "r"})["id"]

    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.ServiceChannelStatus.create({"ServicePresenceStatusId": status, "ServiceChannelId": "not-an-id"})
    assert error_of(malformed)["errorCode"] == "MALFORMED_ID"
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.ServiceChannelStatus.create({"ServicePresenceStatusId": status, "ServiceChannelId": make_id("0N1", 999)})
    assert error_of(missing)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    with pytest.raises(SalesforceMalformedRequest) as wrong_type:
        sf.ServiceChannelStatus.create({"ServicePresenceStatusId": status, "ServiceChannelId": status})
    assert error_of(wrong_type)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_wrong_json_types_are_json_parser_errors(sandbox_env: dict[str, str]) -> None:
    response = rest(
        sandbox_env, "POST", "/services/data/v59.0/sobjects/PermissionSet/", json={"IsOwnedByProfile": "maybe"}
    )

    assert response.status_code == 400
    # PermissionSet has no create() in the sandbox; the call is refused before the body is read
    assert response.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
def test_malformed_json_is_json_parser_error(sandbox_env: dict[str, str], raw: bytes) -> None:
    response = rest(
        sandbox_env,
        "POST",
        "/services/data/v59.0/sobjects/ServicePresenceStatus/",
        data=raw,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_get_update_delete_of_missing_and_deleted_records(sf: Salesforce, unique: str) -> None:
    status = sf.ServicePresenceStatus.create({"DeveloperName": f"Gone_{unique}", "MasterLabel": "g"})["id"]
    channel = first_id(sf, "SELECT Id FROM ServiceChannel WHERE DeveloperName = 'sfdc_phone'")
    link = sf.ServiceChannelStatus.create({"ServicePresenceStatusId": status, "ServiceChannelId": channel})["id"]
    sf.ServiceChannelStatus.delete(link)

    with pytest.raises(SalesforceResourceNotFound) as deleted_again:
        sf.ServiceChannelStatus.delete(link)
    assert error_of(deleted_again) == {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.ServicePresenceStatus.get(make_id("0N5", 999))
    assert error_of(missing) == {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nonexistent__c.get(make_id("0N5", 999))


def test_unsupported_http_method_is_method_not_allowed(sandbox_env: dict[str, str]) -> None:
    response = rest(sandbox_env, "PUT", "/services/data/v59.0/sobjects/User/005Hs0000000001IAA", json={})

    assert response.status_code == 405
    assert response.json() == [
        {
            "message": "HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,PATCH,DELETE",
            "errorCode": "METHOD_NOT_ALLOWED",
        }
    ]


def test_describe_and_global_describe(sf: Salesforce) -> None:
    describe = sf.SetupEntityAccess.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["keyPrefix"] == "0J0"
    assert (describe["createable"], describe["updateable"], describe["deletable"]) == (True, False, True)
    assert fields["SetupEntityType"]["createable"] is False
    assert fields["ParentId"]["relationshipName"] == "Parent"

    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {
        "ServicePresenceStatus",
        "ServiceChannel",
        "ServiceChannelStatus",
        "Profile",
        "PermissionSet",
        "SetupEntityAccess",
        "User",
        "UserServicePresence",
    } <= names
    assert sf.UserServicePresence.metadata()["objectDescribe"]["createable"] is False


def test_every_rest_response_carries_the_limit_header(sandbox_env: dict[str, str]) -> None:
    ok = rest(sandbox_env, "GET", "/services/data/v59.0/sobjects")
    bad = rest(sandbox_env, "GET", "/services/data/v59.0/sobjects/Nope/describe")

    for response in (ok, bad):
        assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
        assert response.headers["Sforce-Limit-Info"].endswith("/100000")


def test_daily_api_limit_refuses_with_request_limit_exceeded(shared_sandbox: SandboxHandle, sf: Salesforce) -> None:
    put_settings(shared_sandbox, dailyApiRequestLimit=1)

    with pytest.raises(SalesforceRefusedRequest) as raised:
        sf.query("SELECT Id FROM User")
    assert error_of(raised) == {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}


def test_unknown_api_version_is_not_found(sandbox_env: dict[str, str]) -> None:
    response = rest(sandbox_env, "GET", "/services/data/v99.0/sobjects")

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"

"""Authentication: the token endpoint's grants and errors, token expiry, discovery, and the API's bearer check."""

from __future__ import annotations

import base64
import json

from sandbox.cxone import SEEDED_CREDENTIALS
from tests.sandbox.cxone.harness import FakeClock, Sandbox

CLIENT = (SEEDED_CREDENTIALS["CXONE_CLIENT_ID"], SEEDED_CREDENTIALS["CXONE_CLIENT_SECRET"])


def _claims(jwt: str) -> dict[str, object]:
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


# ---------------------------------------------------------------------------------------------- grants


def test_password_grant_with_an_access_key_and_basic_client_auth_returns_bearer_tokens(cxone: Sandbox) -> None:
    response = cxone.password_grant()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"] and body["refresh_token"] and body["id_token"]
    assert response.headers["Cache-Control"] == "no-store"
    claims = _claims(body["id_token"])
    assert claims["icBUId"] == 4600123 and claims["icAgentId"] == 100000 and claims["area"] == "na1"
    assert claims["tenantId"]


def test_client_credentials_may_also_come_in_the_body(cxone: Sandbox) -> None:
    response = cxone.token_request(
        {
            "grant_type": "password",
            "client_id": CLIENT[0],
            "client_secret": CLIENT[1],
            "username": SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_ID"],
            "password": SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_SECRET"],
        },
        basic=False,
    )
    assert response.status_code == 200


def test_an_access_key_secret_must_be_url_encoded_in_the_form(cxone: Sandbox) -> None:
    raw = (
        f"grant_type=password&username={SEEDED_CREDENTIALS['CXONE_ACCESS_KEY_ID']}"
        f"&password={SEEDED_CREDENTIALS['CXONE_ACCESS_KEY_SECRET']}"
    )  # "+" becomes a space
    response = cxone.token_request(raw, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_client_credentials_grant_returns_an_access_token_without_refresh_token(cxone: Sandbox) -> None:
    response = cxone.token_request({"grant_type": "client_credentials"})
    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    assert cxone.api("GET", "/teams", token=body["access_token"]).status_code == 200


def test_refresh_token_grant_rotates_the_refresh_token(cxone: Sandbox) -> None:
    first = cxone.password_grant().json()
    refreshed = cxone.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["access_token"] != first["access_token"] and body["refresh_token"] != first["refresh_token"]
    assert cxone.api("GET", "/teams", token=body["access_token"]).status_code == 200
    reused = cxone.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_refresh_needs_only_the_client_id(cxone: Sandbox) -> None:
    first = cxone.password_grant().json()
    response = cxone.token_request(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": CLIENT[0]}, basic=False
    )
    assert response.status_code == 200


# ---------------------------------------------------------------------------------------------- errors


def test_a_wrong_client_secret_is_invalid_client_401(cxone: Sandbox) -> None:
    response = cxone.request(
        "POST",
        "/auth/token",
        auth=(CLIENT[0], "wrong"),
        data={"grant_type": "password", "username": "x", "password": "y"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_an_unknown_client_is_invalid_client_401(cxone: Sandbox) -> None:
    response = cxone.request("POST", "/auth/token", auth=("nobody", "x"), data={"grant_type": "client_credentials"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_the_password_grant_needs_client_authentication(cxone: Sandbox) -> None:
    response = cxone.token_request({"grant_type": "password", "username": "a", "password": "b"}, basic=False)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_wrong_access_key_is_invalid_grant_400(cxone: Sandbox) -> None:
    response = cxone.password_grant(SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_ID"], "not-the-secret")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_grant" and body["error_description"] == body["errorDescription"]


def test_missing_username_is_invalid_request(cxone: Sandbox) -> None:
    response = cxone.token_request({"grant_type": "password", "password": "b"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_missing_or_unknown_grant_types_are_rejected(cxone: Sandbox) -> None:
    assert cxone.token_request({}).json()["error"] == "invalid_request"
    response = cxone.token_request({"grant_type": "urn:ietf:params:oauth:grant-type:device_code"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_the_token_endpoint_takes_a_form_not_json(cxone: Sandbox) -> None:
    response = cxone.request("POST", "/auth/token", auth=CLIENT, json={"grant_type": "client_credentials"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_repeated_form_parameter_is_invalid_request(cxone: Sandbox) -> None:
    response = cxone.token_request(
        "grant_type=client_credentials&grant_type=password",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# ---------------------------------------------------------------------------------------------- expiry


def test_an_expired_access_token_gets_401_and_a_refresh_still_works(cxone: Sandbox, clock: FakeClock) -> None:
    tokens = cxone.password_grant().json()
    assert cxone.api("GET", "/teams", token=tokens["access_token"]).status_code == 200
    clock.advance(3601)
    response = cxone.api("GET", "/teams", token=tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "the access token has expired"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    refreshed = cxone.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert cxone.api("GET", "/teams", token=refreshed.json()["access_token"]).status_code == 200


def test_the_token_lifetime_is_configurable(start: object, clock: FakeClock) -> None:
    cxone = start(reset=True, token_ttl=60)  # type: ignore[operator]
    body = cxone.password_grant().json()
    assert body["expires_in"] == 60
    clock.advance(61)
    assert cxone.api("GET", "/teams", token=body["access_token"]).status_code == 401


def test_the_forced_expiry_fault_expires_every_access_token(cxone: Sandbox) -> None:
    tokens = cxone.password_grant().json()
    assert cxone.app.state.expire_all_tokens() >= 1
    assert cxone.api("GET", "/teams", token=tokens["access_token"]).status_code == 401
    refreshed = cxone.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200


def test_the_api_needs_a_valid_bearer_token(cxone: Sandbox) -> None:
    assert cxone.request("GET", "/incontactapi/services/v34.0/agents").status_code == 401
    response = cxone.api("GET", "/agents", token="not-a-token")
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    lowercase = cxone.request(
        "GET", "/incontactapi/services/v34.0/agents", headers={"Authorization": f"bearer {cxone.token}"}
    )
    assert lowercase.status_code == 200


# ------------------------------------------------------------------------------------------ discovery


def test_openid_discovery_points_at_the_token_endpoint(cxone: Sandbox) -> None:
    body = cxone.request("GET", "/.well-known/openid-configuration").json()
    assert body["issuer"] == cxone.base_url
    assert body["token_endpoint"] == f"{cxone.base_url}/auth/token"
    assert body["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]


def test_cxone_discovery_gives_the_api_endpoint_for_the_tenant_in_the_id_token(cxone: Sandbox) -> None:
    tenant = _claims(cxone.password_grant().json()["id_token"])["tenantId"]
    response = cxone.request("GET", f"/.well-known/cxone-configuration?tenantId={tenant}")
    assert response.status_code == 200
    body = response.json()
    assert body["api_endpoint"] == cxone.base_url and body["auth_endpoint"] == cxone.base_url
    assert body["area"] == "na1" and body["tenantId"] == tenant
    assert cxone.request("GET", "/.well-known/cxone-configuration").status_code == 400
    unknown = cxone.request("GET", "/.well-known/cxone-configuration?tenantId=00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404


def test_the_legacy_access_key_endpoint_returns_a_token_and_the_resource_server(cxone: Sandbox) -> None:
    response = cxone.request(
        "POST",
        "/authentication/v1/token/access-key",
        json={
            "accessKeyId": SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_ID"],
            "accessKeySecret": SEEDED_CREDENTIALS["CXONE_ACCESS_KEY_SECRET"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["resource_server_base_uri"] == f"{cxone.base_url}/inContactAPI/"
    assert cxone.api("GET", "/teams", token=body["access_token"]).status_code == 200
    wrong = cxone.request(
        "POST", "/authentication/v1/token/access-key", json={"accessKeyId": "x", "accessKeySecret": "y"}
    )
    assert wrong.status_code == 401


# ------------------------------------------------------------------------------------------- versions


def test_api_versions_2_to_34_are_served_with_a_case_insensitive_prefix(cxone: Sandbox) -> None:
    for prefix in ("/inContactAPI/services/v2.0", "/INCONTACTAPI/services/v23.0", "/incontactapi/Services/v34.0"):
        assert cxone.call("GET", f"{prefix}/teams").status_code == 200, prefix
    for prefix in ("/incontactapi/services/v1.0", "/incontactapi/services/v35.0", "/incontactapi/services/v34.1"):
        assert cxone.call("GET", f"{prefix}/teams").status_code == 404, prefix


def test_unknown_paths_and_methods_answer_json(cxone: Sandbox) -> None:
    missing = cxone.api("GET", "/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    wrong_method = cxone.api("DELETE", "/teams")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "MethodNotAllowed"
    assert cxone.call("GET", "/_cxone_api/teams").status_code == 404

"""OAuth 2.0 token endpoint and sessions: real success and error shapes, expiry, and the re-login path."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse

import pytest
import requests
import zeep.exceptions
from simple_salesforce import Salesforce, SalesforceExpiredSession

from sandbox.testing import SandboxHandle
from tests.sandbox.support import login, put_settings, rest, token


def test_password_grant_returns_the_salesforce_token_shape(sandbox_env: dict[str, str]) -> None:
    response = token(sandbox_env)

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("00D")
    assert body["instance_url"] == sandbox_env["SF_LOGIN_URL"]
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit()
    assert body["id"].startswith(f"{sandbox_env['SF_LOGIN_URL']}/id/00D")
    assert body["signature"]
    assert "refresh_token" not in body  # the password flow issues none


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"client_id": "nope"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "wrong-secret"}, "invalid_client", "invalid client credentials"),
        ({"password": "wrong"}, "invalid_grant", "authentication failure"),
        ({"username": "nobody@example.com"}, "invalid_grant", "authentication failure"),
        ({"grant_type": "magic"}, "unsupported_grant_type", "grant type not supported"),
        ({"grant_type": ""}, "invalid_request", "grant type is missing"),
    ],
)
def test_token_errors_are_oauth_error_json_with_400(
    sandbox_env: dict[str, str], overrides: dict[str, str], error: str, description: str
) -> None:
    response = token(sandbox_env, **overrides)

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_client_credentials_grant_uses_basic_auth_and_the_run_as_user(sandbox_env: dict[str, str]) -> None:
    basic = base64.b64encode(f"{sandbox_env['SF_CLIENT_ID']}:{sandbox_env['SF_CLIENT_SECRET']}".encode()).decode()
    response = requests.post(
        f"{sandbox_env['SF_LOGIN_URL']}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        verify=sandbox_env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["api_instance_url"] == sandbox_env["SF_LOGIN_URL"]
    me = rest(
        sandbox_env,
        "GET",
        "/services/data/v59.0/query",
        body["access_token"],
        params={"q": f"SELECT Username FROM User WHERE Id = '{body['id'].rsplit('/', 1)[1]}'"},
    )
    assert me.json()["records"][0]["Username"] == sandbox_env["SF_USERNAME"]


def test_authorization_code_with_pkce_then_refresh_token(
    sf: Salesforce, sandbox_env: dict[str, str], unique: str
) -> None:
    name = f"Code_App_{unique}"
    callback = "https://app.example.com/callback"
    sf.mdapi.ExternalClientApplication.create(
        [sf.mdapi.ExternalClientApplication(fullName=name, label=name, contactEmail="ops@example.com")]
    )
    sf.mdapi.ExtlClntAppGlobalOauthSettings.create(
        [
            sf.mdapi.ExtlClntAppGlobalOauthSettings(
                fullName=f"{name}_glbloauth",
                externalClientApplication=name,
                callbackUrl=callback,
                consumerKey=f"key{unique}",
                consumerSecret=f"secret{unique}",
                label=name,
            )
        ]
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = requests.get(
        f"{sandbox_env['SF_LOGIN_URL']}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": f"key{unique}",
            "redirect_uri": callback,
            "state": "s1",
            "code_challenge": challenge,
            "login_hint": "ada.lovelace@example.com.presencesync",
        },
        allow_redirects=False,
        verify=sandbox_env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    )
    assert authorize.status_code == 302
    query = urllib.parse.parse_qs(urllib.parse.urlparse(authorize.headers["location"]).query)
    assert query["state"] == ["s1"]

    exchanged = token(
        sandbox_env,
        grant_type="authorization_code",
        code=query["code"][0],
        client_id=f"key{unique}",
        client_secret=f"secret{unique}",
        redirect_uri=callback,
        code_verifier=verifier,
    )
    assert exchanged.status_code == 200, exchanged.text
    refresh = exchanged.json()["refresh_token"]

    reused = token(
        sandbox_env,
        grant_type="authorization_code",
        code=query["code"][0],
        client_id=f"key{unique}",
        client_secret=f"secret{unique}",
        redirect_uri=callback,
        code_verifier=verifier,
    )
    assert reused.json()["error"] == "invalid_grant"  # a code is good once

    refreshed = token(
        sandbox_env,
        grant_type="refresh_token",
        refresh_token=refresh,
        client_id=f"key{unique}",
        client_secret=f"secret{unique}",
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != exchanged.json()["access_token"]
    no_secret = token(
        sandbox_env, grant_type="refresh_token", refresh_token=refresh, client_id=f"key{unique}", client_secret=""
    )
    assert no_secret.json()["error"] == "invalid_client"  # isSecretRequiredForRefreshToken defaults to true


def test_expired_session_raises_expired_session_and_a_new_login_works(
    shared_sandbox: SandboxHandle, sandbox_env: dict[str, str]
) -> None:
    sf = login(sandbox_env)
    sf.query("SELECT Id FROM Profile")
    shared_sandbox.salesforce_operator.expire_tokens()

    with pytest.raises(SalesforceExpiredSession) as raised:
        sf.query("SELECT Id FROM Profile")
    assert raised.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    assert login(sandbox_env).query("SELECT Id FROM Profile")["totalSize"] == 4


def test_sessions_expire_after_the_configured_ttl(shared_sandbox: SandboxHandle, sandbox_env: dict[str, str]) -> None:
    put_settings(shared_sandbox, sessionTtlSeconds=0)
    sf = login(sandbox_env)

    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Profile")


def test_metadata_api_with_an_invalid_session_is_a_soap_fault(sandbox_env: dict[str, str]) -> None:
    sf = Salesforce(session_id="00Dbogus!token", instance_url=sandbox_env["SF_LOGIN_URL"], version="59.0")

    with pytest.raises(zeep.exceptions.Fault) as raised:
        sf.mdapi.ServicePresenceStatus.read(["Anything"])
    assert raised.value.code == "sf:INVALID_SESSION_ID"
    assert raised.value.message.startswith("INVALID_SESSION_ID: Invalid Session ID found in SessionHeader")


def test_rest_without_a_bearer_token_is_401_invalid_session(sandbox_env: dict[str, str]) -> None:
    response = rest(sandbox_env, "GET", "/services/data/v59.0/sobjects", session_id="")

    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

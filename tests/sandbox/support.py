"""Helpers for the sandbox tests: org settings, OAuth token requests, simple-salesforce logins, SOAP posts."""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce import Salesforce

from sandbox.testing import SandboxHandle

DEFAULT_SETTINGS: dict[str, Any] = {"allowConnectedAppCreation": False, "enableClientSecretInRestApiAccess": False,
                                    "sessionTtlSeconds": 7200, "dailyApiRequestLimit": 100_000}


def put_settings(sandbox: SandboxHandle, **settings: Any) -> dict[str, Any]:
    response = requests.put(f"{sandbox.salesforce_url}/__sandbox/salesforce/settings", json=settings,
                            verify=sandbox.ca_bundle, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def token(env: dict[str, str], **overrides: str) -> requests.Response:
    form = {"grant_type": "password", "client_id": env["SF_CLIENT_ID"], "client_secret": env["SF_CLIENT_SECRET"],
            "username": env["SF_USERNAME"], "password": env["SF_PASSWORD"], **overrides}
    return requests.post(f"{env['SF_LOGIN_URL']}/services/oauth2/token", data=form,
                         verify=env["REQUESTS_CA_BUNDLE"], timeout=10)


def login(env: dict[str, str]) -> Salesforce:
    body = token(env).json()
    return Salesforce(session_id=body["access_token"], instance_url=body["instance_url"],
                      version=env["SF_API_VERSION"])




def rest(
    env: dict[str, str], method: str, path: str, session_id: str | None = None, **kwargs: Any
) -> requests.Response:
    """A raw REST call (for shapes simple-salesforce hides), as the admin unless ``session_id`` is given."""
    if session_id is None:
        session_id = token(env).json()["access_token"]
    headers = {"Authorization": f"Bearer {session_id}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{env['SF_LOGIN_URL']}{path}", headers=headers,
                            verify=env["REQUESTS_CA_BUNDLE"], timeout=10, **kwargs)

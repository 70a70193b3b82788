"""Direct access to the sandbox's vendors for tests: the real clients (simple-salesforce, requests), not ours,
so that a test checks what the vendor holds rather than what our providers believe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from simple_salesforce import Salesforce


def salesforce(env: Mapping[str, str]) -> Salesforce:
    token = requests.post(
        f"{env['SF_LOGIN_URL']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": env["SF_CLIENT_ID"],
            "client_secret": env["SF_CLIENT_SECRET"],
            "username": env["SF_USERNAME"],
            "password": env["SF_PASSWORD"],
        },
        verify=env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    )
    token.raise_for_status()
    body = token.json()
    return Salesforce(session_id=body["access_token"], instance_url=body["instance_url"], version="59.0")


def statuses(sf: Salesforce) -> dict[str, dict[str, Any]]:
    """Developer name -> {id, label, channels} straight from SOQL."""
    rows = sf.query_all("SELECT Id, DeveloperName, MasterLabel FROM ServicePresenceStatus")["records"]
    links = sf.query_all("SELECT ServicePresenceStatusId, ServiceChannel.DeveloperName FROM ServiceChannelStatus")
    channels: dict[str, list[str]] = {}
    for link in links["records"]:
        channels.setdefault(link["ServicePresenceStatusId"], []).append(link["ServiceChannel"]["DeveloperName"])
    return {
        row["DeveloperName"]: {
            "id": row["Id"],
            "label": row["MasterLabel"],
            "channels": sorted(channels.get(row["Id"], [])),
        }
        for row in rows
    }


def granted_statuses(sf: Salesforce, profile_name: str) -> set[str]:
    permission_set = sf.query(
        "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND Profile.Name = '" + profile_name + "'"
    )["records"][0]["Id"]
    rows = sf.query_all(f"SELECT SetupEntityId FROM SetupEntityAccess WHERE ParentId = '{permission_set}'")["records"]
    by_id = {status["id"]: name for name, status in statuses(sf).items()}
    return {by_id[row["SetupEntityId"]] for row in rows if row["SetupEntityId"] in by_id}


class Cxone:
    """The CXone emulator through plain requests, with the seeded admin's token."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.base = env["CXONE_API_URL"].rstrip("/")
        self.verify = env["REQUESTS_CA_BUNDLE"]
        token = requests.post(
            f"{env['CXONE_AUTH_URL'].rstrip('/')}/auth/token",
            data={
                "grant_type": "password",
                "username": env["CXONE_ACCESS_KEY_ID"],
                "password": env["CXONE_ACCESS_KEY_SECRET"],
            },
            auth=(env["CXONE_CLIENT_ID"], env["CXONE_CLIENT_SECRET"]),
            verify=self.verify,
            timeout=10,
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def get(self, path: str) -> Any:
        response = requests.get(f"{self.base}{path}", headers=self.headers, verify=self.verify, timeout=10)
        response.raise_for_status()
        return response.json()

    def put(self, path: str, body: Any) -> Any:
        response = requests.put(f"{self.base}{path}", json=body, headers=self.headers, verify=self.verify, timeout=10)
        response.raise_for_status()
        return response.json()

    def rules(self) -> dict[str, dict[str, Any]]:
        return {rule["name"]: rule for rule in self.get("/adapter-apis/v1/salesforce/presence-rules")["presenceRules"]}

    def mappings(self) -> dict[str, dict[str, Any]]:
        rows = self.get("/adapter-apis/v1/salesforce/account-mappings")["accountMappings"]
        return {mapping["name"]: mapping for mapping in rows}


def listed_metadata(sf: Salesforce, type_name: str) -> set[str]:
    """The fullNames the Metadata API's listMetadata answers for one type."""
    query = sf.mdapi._client.get_type("ns0:ListMetadataQuery")(type=type_name)
    return {str(item.fullName) for item in sf.mdapi.list_metadata([query]) or []}

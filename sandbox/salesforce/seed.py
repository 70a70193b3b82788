"""The demo org a fresh sandbox starts with: three service channels, four profiles (each with its
profile-owned permission set), an API admin with a pre-existing admin Connected App, and ten agents whose
e-mails match the CXone emulator's agents. Nobody is logged in to Omni (no UserServicePresence row = Offline).
No presence statuses exist yet: creating them is the product's job."""

from __future__ import annotations

from typing import Any

from .dml import stamp
from .oauth import PASSWORD_TYPE
from .org import Org

__all__ = ["ADMIN_APP", "AGENTS", "SEEDED_CREDENTIALS", "seed"]

SEEDED_CREDENTIALS: dict[str, str] = {
    "SF_CLIENT_ID": "3MVG9sandbox.PresenceSync.Admin.Qk8mZr2XwL5pV7tN1cY4bH6dJ9fA3sE0gU2iO5kM8nB1vC4xZ7qW",
    "SF_CLIENT_SECRET": "5D1C0E7B9A3F2468ACE13579BDF02468ACE13579BDF02468ACE13579BDF0246A",
    "SF_USERNAME": "admin@presence-sync.sandbox",
    "SF_PASSWORD": "sandbox-admin-1",
}
ADMIN_APP = "PresenceSync_Sandbox_Admin"

CHANNELS = (
    ("Case", "Cases", "Case"),
    ("sfdc_livemessage", "Messaging", "MessagingSession"),
    ("sfdc_phone", "Phone", "VoiceCall"),
)
PROFILES = (
    ("System Administrator", "Full access"),
    ("Custom: Support Agent", "Service Cloud agents on Omni-Channel"),
    ("Custom: Support Supervisor", "Omni-Channel supervisors"),
    ("Standard User", "Users outside the contact center"),
)
# first, last, profile
AGENTS = (
    ("Ada", "Lovelace", "Custom: Support Agent"),
    ("Grace", "Hopper", "Custom: Support Agent"),
    ("Alan", "Turing", "Custom: Support Agent"),
    ("Katherine", "Johnson", "Custom: Support Agent"),
    ("Edsger", "Dijkstra", "Custom: Support Agent"),
    ("Barbara", "Liskov", "Custom: Support Agent"),
    ("Donald", "Knuth", "Custom: Support Agent"),
    ("Margaret", "Hamilton", "Custom: Support Supervisor"),
    ("Radia", "Perlman", "Custom: Support Supervisor"),
    ("Linus", "Torvalds", "Standard User"),
)


def _insert(org: Org, sobject: str, values: dict[str, Any], user_id: str | None) -> dict[str, Any]:
    obj = org.require_object(sobject)
    record: dict[str, Any] = {f.name: None for f in obj.fields}
    record.update(values)
    record["Id"] = values.get("Id") or org.store.new_id(obj.key_prefix)
    stamp(obj, record, user_id or record["Id"], org.now(), created=True)
    org.store.save(sobject, record)
    return record


def seed(org: Org) -> None:
    with org.store.batch():
        _seed(org)


def _seed(org: Org) -> None:
    admin_id, profiles = _seed_profiles(org)
    _seed_users(org, admin_id, profiles)
    for developer_name, label, entity in CHANNELS:
        _insert(
            org,
            "ServiceChannel",
            {"DeveloperName": developer_name, "MasterLabel": label, "RelatedEntity": entity, "Language": "en_US"},
            admin_id,
        )
    _seed_admin_app(org, admin_id)


def _seed_profiles(org: Org) -> tuple[str, dict[str, str]]:
    """The profiles (each with the permission set it owns) and the Omni-Channel permission set; the admin's id."""
    profiles = {}
    admin_id = org.store.new_id("005")
    for name, description in PROFILES:
        profile = _insert(org, "Profile", {"Name": name, "UserType": "Standard", "Description": description}, admin_id)
        profiles[name] = profile["Id"]
        _insert(
            org,
            "PermissionSet",
            {
                "Name": f"X{profile['Id']}",
                "Label": f"{name} (profile)",
                "IsOwnedByProfile": True,
                "IsCustom": False,
                "ProfileId": profile["Id"],
            },
            admin_id,
        )
    _insert(
        org,
        "PermissionSet",
        {"Name": "Omni_Channel_Agent", "Label": "Omni-Channel Agent", "IsOwnedByProfile": False, "IsCustom": True},
        admin_id,
    )
    return admin_id, profiles


def _seed_users(org: Org, admin_id: str, profiles: dict[str, str]) -> None:
    """The admin (the seeded login) and the agents."""
    _insert(
        org,
        "User",
        {
            "Id": admin_id,
            "Username": SEEDED_CREDENTIALS["SF_USERNAME"],
            "Email": "admin@example.com",
            "FirstName": "Sandbox",
            "LastName": "Admin",
            "Name": "Sandbox Admin",
            "Alias": "sadmin",
            "IsActive": True,
            "ProfileId": profiles["System Administrator"],
            "UserType": "Standard",
            "TimeZoneSidKey": "America/Los_Angeles",
        },
        admin_id,
    )
    org.store.put_metadata(
        PASSWORD_TYPE, SEEDED_CREDENTIALS["SF_USERNAME"], {"password": SEEDED_CREDENTIALS["SF_PASSWORD"]}
    )
    org.store.set_setting("adminUsername", SEEDED_CREDENTIALS["SF_USERNAME"])
    for first, last, profile_name in AGENTS:
        email = f"{first.lower()}.{last.lower()}@example.com"
        _insert(
            org,
            "User",
            {
                "Username": f"{email}.presencesync",
                "Email": email,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Alias": (first[0] + last)[:8].lower(),
                "IsActive": True,
                "ProfileId": profiles[profile_name],
                "UserType": "Standard",
                "TimeZoneSidKey": "Europe/London",
                "FederationIdentifier": email,
            },
            admin_id,
        )


def _seed_admin_app(org: Org, admin_id: str) -> None:
    """The connected app the seeded credentials log in through."""
    now = org.now()
    org.store.put_metadata(
        "ConnectedApp",
        ADMIN_APP,
        {
            "fullName": [ADMIN_APP],
            "contactEmail": ["admin@example.com"],
            "label": ["Presence Sync Sandbox Admin"],
            "oauthConfig": [
                {
                    "callbackUrl": ["http://localhost:1717/OauthRedirect"],
                    "consumerKey": [SEEDED_CREDENTIALS["SF_CLIENT_ID"]],
                    "isClientCredentialEnabled": ["true"],
                    "isConsumerSecretOptional": ["false"],
                    "isSecretRequiredForRefreshToken": ["true"],
                    "oauthClientCredentialUser": [SEEDED_CREDENTIALS["SF_USERNAME"]],
                    "scopes": ["Api", "RefreshToken", "Full"],
                }
            ],
            "oauthPolicy": [{"ipRelaxation": ["ENFORCE"], "refreshTokenPolicy": ["infinite"]}],
            "_consumerSecret": SEEDED_CREDENTIALS["SF_CLIENT_SECRET"],
            "_id": org.store.new_id("0H4"),
            "_created": now,
            "_createdBy": admin_id,
            "_modified": now,
            "_modifiedBy": admin_id,
        },
    )

"""What the Salesforce client returns, and the small pure functions that build requests and read answers.

Nothing here does I/O: SOQL text, Metadata API payloads and record-to-model mapping are plain
functions so that unit tests can check them without a transport.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "CONNECTED_APP_SCOPES",
    "CreatedOAuthApp",
    "CurrentPresence",
    "DeployOutcome",
    "Grant",
    "OAuthAppRecord",
    "OAuthAppSpec",
    "OAuthAppType",
    "PresenceChangeEvent",
    "PresenceStatusRecord",
    "Profile",
    "ServiceChannelRecord",
    "User",
    "eca_component_names",
    "generate_consumer_key",
    "generate_consumer_secret",
    "normalize_scopes",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class PresenceStatusRecord(_Model):
    """A ServicePresenceStatus. ``channels`` are ServiceChannel developer names; empty = a Busy status."""

    id: str
    developer_name: str
    label: str
    channels: list[str] = Field(default_factory=list)


class ServiceChannelRecord(_Model):
    id: str
    developer_name: str
    label: str
    related_entity: str | None = None


class Profile(_Model):
    """A profile and the PermissionSet it owns (grants of presence statuses hang off that PermissionSet)."""

    id: str
    name: str
    permission_set_id: str


class Grant(_Model):
    """One SetupEntityAccess row: the PermissionSet ``permission_set_id`` may use status ``status_id``."""

    id: str
    permission_set_id: str
    status_id: str


class User(_Model):
    id: str
    username: str
    email: str | None = None
    profile_id: str | None = None
    is_active: bool = True


OAuthAppType = Literal["external_client_app", "connected_app"]


class OAuthAppSpec(_Model):
    """What to create: an External Client App (default) or a legacy Connected App."""

    type: OAuthAppType = "external_client_app"
    name: str  # API name (fullName)
    label: str
    contact_email: str
    callback_url: str
    scopes: list[str] = Field(default_factory=lambda: ["Api", "RefreshToken"])
    # Oriented so that True means "require": the vendor flags are isConsumerSecretOptional (inverse of
    # the first) and isSecretRequiredForRefreshToken. Both default to requiring the secret, as in Salesforce.
    require_secret_for_web_server_flow: bool = True
    require_secret_for_refresh_token: bool = True
    description: str | None = None


class OAuthAppRecord(_Model):
    """An OAuth app as read back. Never carries the consumer secret."""

    type: OAuthAppType
    name: str
    label: str
    contact_email: str | None
    callback_url: str | None
    scopes: list[str]
    require_secret_for_web_server_flow: bool
    require_secret_for_refresh_token: bool
    consumer_key: str | None


class CreatedOAuthApp(_Model):
    """``create_oauth_app``'s answer: the record plus the consumer secret, which nothing may print."""

    record: OAuthAppRecord
    consumer_secret: SecretStr


class DeployOutcome(_Model):
    """A finished Metadata API zip deploy (DeployResult, status Succeeded)."""

    id: str
    status: str
    components_deployed: int
    components_total: int
    components: list[str] = Field(default_factory=list)  # "Type fullName" of each deployed component
    deleted: list[str] = Field(default_factory=list)  # "Type fullName" of each component a destructive manifest deleted
    warnings: list[str] = Field(default_factory=list)  # problems that did not fail it ("No ApexClass named: X found")


class PresenceCommand(_Model):
    """One ``Omni_Presence_Command__e`` to publish: set ``user_id``'s Omni status to ``status_id``."""

    user_id: str
    status_id: str
    command_id: str  # the runtime's outbox id: the bridge and the echo ledger recognise a repeat by it


class CurrentPresence(_Model):
    """A user's current Omni-Channel presence (a UserServicePresence row with IsCurrentState = true)."""

    id: str
    user_id: str
    status_id: str | None
    status_developer_name: str | None = None
    is_away: bool = False
    is_current: bool = True
    started_at: datetime | None = None
    last_modified: datetime | None = None


class PresenceChangeEvent(_Model):
    """One change-data-capture event for UserServicePresence.

    A CREATE carries the new row (``user_id``, ``status_id``, ``is_away``...); an UPDATE carries only the
    changed fields (closing the previous row: IsCurrentState=false, StatusEndDate...), so ``user_id`` may
    be None there: ``commit_user`` is who made the change and ``record_id`` the row.
    """

    replay_id: int
    change_type: str  # CREATE | UPDATE | DELETE
    record_id: str | None = None
    user_id: str | None = None
    status_id: str | None = None
    status_developer_name: str | None = None
    is_away: bool | None = None
    is_current: bool | None = None
    commit_timestamp: datetime | None = None
    commit_user: str | None = None
    changed_fields: list[str] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# OAuth apps

# ConnectedAppOauthAccessScope (Metadata API WSDL v63, verbatim). ECAs take the same names, comma-separated.
CONNECTED_APP_SCOPES = (
    "Basic",
    "Api",
    "Web",
    "Full",
    "Chatter",
    "CustomApplications",
    "RefreshToken",
    "OpenID",
    "Profile",
    "Email",
    "Address",
    "Phone",
    "OfflineAccess",
    "CustomPermissions",
    "Wave",
    "Eclair",
    "Pardot",
    "Lightning",
    "Content",
    "CDPIngest",
    "CDPProfile",
    "CDPQuery",
    "Chatbot",
    "CDPSegment",
    "CDPIdentityResolution",
    "CDPCalculatedInsight",
    "ForgotPassword",
    "UserRegistration",
    "SFAP",
    "Interaction",
    "CDP",
    "EinsteinGPT",
    "PwdlessLogin",
)

# OAuth scope strings as the Salesforce UI shows them, e.g. "Access and manage your data (api)".
_OAUTH_SCOPE_STRINGS = {
    "id": "Basic",
    "api": "Api",
    "web": "Web",
    "full": "Full",
    "chatter_api": "Chatter",
    "custom_permissions": "CustomPermissions",
    "refresh_token": "RefreshToken",
    "offline_access": "OfflineAccess",
    "openid": "OpenID",
    "profile": "Profile",
    "email": "Email",
    "address": "Address",
    "phone": "Phone",
    "lightning": "Lightning",
    "content": "Content",
    "wave_api": "Wave",
    "pardot_api": "Pardot",
}
_SCOPES_BY_LOWER = {scope.lower(): scope for scope in CONNECTED_APP_SCOPES}


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """Metadata API scope names for ``scopes``, which may be those names or OAuth strings (``api``).

    Order is kept and duplicates dropped. ``visualforce`` has no Metadata API value (``Web`` covers it).
    """
    result: list[str] = []
    for raw in scopes:
        scope = raw.strip()
        name = _OAUTH_SCOPE_STRINGS.get(scope) or _SCOPES_BY_LOWER.get(scope.lower())
        if name is None:
            hint = " (the Metadata API has no Visualforce scope: use Web)" if scope.lower() == "visualforce" else ""
            raise ValueError(f"unknown OAuth scope {raw!r}{hint}; use one of {', '.join(CONNECTED_APP_SCOPES)}")
        if name not in result:
            result.append(name)
    return result


def eca_component_names(app_name: str) -> tuple[str, str]:
    """Full names of an External Client App's global OAuth settings and OAuth settings components.

    Salesforce's own naming when an ECA is retrieved: ``<App>_glbloauth`` (.ecaGlblOauth) and
    ``<App>_oauth`` (.ecaOauth).
    """
    return f"{app_name}_glbloauth", f"{app_name}_oauth"


_KEY_ALPHABET = string.ascii_letters + string.digits + "._"


def generate_consumer_key() -> str:
    """An 85-character consumer key in Salesforce's style ('3MVG9' + letters, digits, '.' and '_')."""
    return "3MVG9" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(80))


def generate_consumer_secret() -> SecretStr:
    """A 64-character upper-case hex consumer secret (alphanumeric, as the Metadata API requires)."""
    return SecretStr(secrets.token_hex(32).upper())


# --------------------------------------------------------------------------------------------------
# Records -> models


def _related(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    text = str(value)
    # Salesforce writes '2024-05-01T10:00:00.000+0000'; fromisoformat wants '+00:00'.
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


def statuses_from_records(
    statuses: Iterable[Mapping[str, Any]], channel_links: Iterable[Mapping[str, Any]]
) -> list[PresenceStatusRecord]:
    """Join ServicePresenceStatus rows with ServiceChannelStatus rows (ServiceChannel.DeveloperName)."""
    channels: dict[str, list[str]] = {}
    for link in channel_links:
        status_id = link.get("ServicePresenceStatusId")
        channel = _related(link, "ServiceChannel.DeveloperName")
        if status_id and channel:
            channels.setdefault(status_id, []).append(channel)
    return [
        PresenceStatusRecord(
            id=row["Id"],
            developer_name=row["DeveloperName"],
            label=row.get("MasterLabel") or row["DeveloperName"],
            channels=sorted(channels.get(row["Id"], [])),
        )
        for row in statuses
    ]


def channel_from_record(row: Mapping[str, Any]) -> ServiceChannelRecord:
    return ServiceChannelRecord(
        id=row["Id"],
        developer_name=row["DeveloperName"],
        label=row.get("MasterLabel") or row["DeveloperName"],
        related_entity=row.get("RelatedEntity"),
    )


def profile_from_record(row: Mapping[str, Any]) -> Profile:
    """From a profile-owned PermissionSet row (``Id, ProfileId, Profile.Name``)."""
    return Profile(id=row["ProfileId"], name=_related(row, "Profile.Name") or "", permission_set_id=row["Id"])


def grant_from_record(row: Mapping[str, Any]) -> Grant:
    return Grant(id=row["Id"], permission_set_id=row["ParentId"], status_id=row["SetupEntityId"])


def user_from_record(row: Mapping[str, Any]) -> User:
    return User(
        id=row["Id"],
        username=row["Username"],
        email=row.get("Email"),
        profile_id=row.get("ProfileId"),
        is_active=bool(row.get("IsActive", True)),
    )


def presence_from_record(row: Mapping[str, Any]) -> CurrentPresence:
    return CurrentPresence(
        id=row["Id"],
        user_id=row["UserId"],
        status_id=row.get("ServicePresenceStatusId"),
        status_developer_name=_related(row, "ServicePresenceStatus.DeveloperName"),
        is_away=bool(row.get("IsAway")),
        is_current=bool(row.get("IsCurrentState", True)),
        started_at=_parse_datetime(row.get("StatusStartDate")),
        last_modified=_parse_datetime(row.get("LastModifiedDate")),
    )


def parse_datetime(value: Any) -> datetime | None:
    """Public alias used by the change feed."""
    return _parse_datetime(value)

"""Metadata API: Connected Apps and External Client Apps (ExternalClientApplication,
ExtlClntAppGlobalOauthSettings, ExtlClntAppOauthSettings). Consumer keys are generated when absent and
unique; secrets are kept under ``_consumerSecret`` and never read back."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from .metadata_base import MetadataError, StoredHandler, flag, one, require
from .metadata_xml import Raw, wsdl
from .org import Org

__all__ = [
    "ECA_OAUTH",
    "GLOBAL_OAUTH",
    "ConnectedAppHandler",
    "ExternalClientAppHandler",
    "GlobalOauthSettingsHandler",
    "OauthSettingsHandler",
]


def generate_consumer_key() -> str:
    alphabet = string.ascii_letters + string.digits + "._"
    return "3MVG9" + "".join(secrets.choice(alphabet) for _ in range(80))


def generate_consumer_secret() -> str:
    return secrets.token_hex(32).upper()


def _consumer_keys_in_use(org: Org, except_key: str | None) -> set[str]:
    keys = {
        str(one(a.get("oauthConfig", [{}])[0] or {}, "consumerKey", ""))
        for a in org.store.metadata_all("ConnectedApp")
        if a.get("oauthConfig")
    }
    keys |= {str(one(s, "consumerKey", "")) for s in org.store.metadata_all("ExtlClntAppGlobalOauthSettings")}
    keys.discard("")
    keys.discard(except_key or "")
    return keys


_SECRET_RE = re.compile(r"^[A-Za-z0-9]{8,}$")


def _credentials(org: Org, holder: Raw, existing_key: str | None, existing_secret: str | None) -> str:
    """Fill in / check consumerKey and consumerSecret in ``holder``; returns the secret (removed from it)."""
    key = one(holder, "consumerKey") or existing_key or generate_consumer_key()
    if key in _consumer_keys_in_use(org, existing_key):
        raise MetadataError("DUPLICATE_VALUE", "duplicate value found: consumerKey", ["consumerKey"])
    holder["consumerKey"] = [key]
    secret = one(holder, "consumerSecret") or existing_secret or generate_consumer_secret()
    if not _SECRET_RE.match(secret):
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION",
            "consumerSecret must be at least 8 characters, letters and digits only",
            ["consumerSecret"],
        )
    holder.pop("consumerSecret", None)
    return str(secret)


class ConnectedAppHandler(StoredHandler):
    type_name = "ConnectedApp"
    directory = "connectedApps"
    suffix = "connectedApp"
    key_prefix = "0H4"

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        if not org.setting("allowConnectedAppCreation"):
            raise MetadataError(
                "INSUFFICIENT_ACCESS",
                "You can't create a connected app. Creation of new connected apps is restricted in this org; "
                "create an external client app instead (ExternalClientApplication).",
            )
        super().create(org, raw, user_id)

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        require(raw, self.type_name, "label", "contactEmail")
        stored: dict[str, Any] = dict(raw)
        config_list = raw.get("oauthConfig") or []
        if config_list and isinstance(config_list[0], dict):
            config = dict(config_list[0])
            require(config, "ConnectedAppOauthConfig", "callbackUrl")
            old_config = (existing or {}).get("oauthConfig", [{}])[0] or {}
            stored["_consumerSecret"] = _credentials(
                org, config, one(old_config, "consumerKey"), (existing or {}).get("_consumerSecret")
            )
            if flag(config, "isClientCredentialEnabled"):
                user = one(config, "oauthClientCredentialUser")
                if not user or org.find_live("User", Username=user) is None:
                    raise MetadataError(
                        "FIELD_INTEGRITY_EXCEPTION",
                        "oauthClientCredentialUser must name an active user when the client "
                        "credentials flow is enabled",
                        ["oauthClientCredentialUser"],
                    )
            stored["oauthConfig"] = [config]
        policy_list = raw.get("oauthPolicy") or []
        if policy_list and isinstance(policy_list[0], dict):
            require(policy_list[0], "ConnectedAppOauthPolicy")
        return stored

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        stored = org.store.metadata(self.type_name, full_name)
        super().delete(org, full_name, user_id)
        key = one((stored or {}).get("oauthConfig", [{}])[0] or {}, "consumerKey")
        org.store.drop_tokens([t for t, g in org.store.tokens.items() if g.get("client_id") == key])


class ExternalClientAppHandler(StoredHandler):
    type_name = "ExternalClientApplication"
    directory = "externalClientApps"
    suffix = "eca"
    key_prefix = "0xI"

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        require(raw, self.type_name, "label", "contactEmail")
        stored = dict(raw)
        stored.setdefault("distributionState", ["Local"])
        return stored

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        super().delete(org, full_name, user_id)
        for dependent in (GLOBAL_OAUTH, ECA_OAUTH):
            for settings in org.store.metadata_all(dependent.type_name):
                if one(settings, "externalClientApplication") == full_name:
                    dependent.delete(org, settings["fullName"][0], user_id)


def _check_eca_reference(org: Org, raw: Raw, type_name: str) -> None:
    require(raw, type_name, "externalClientApplication")
    app = one(raw, "externalClientApplication")
    if org.store.metadata("ExternalClientApplication", app) is None:
        raise MetadataError(
            "INVALID_CROSS_REFERENCE_KEY",
            f"In field: externalClientApplication - no ExternalClientApplication named {app} found",
            ["externalClientApplication"],
        )


class GlobalOauthSettingsHandler(StoredHandler):
    type_name = "ExtlClntAppGlobalOauthSettings"
    directory = "extlClntAppGlobalOauthSets"
    suffix = "ecaGlblOauth"
    key_prefix = "0Kx"

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        _check_eca_reference(org, raw, self.type_name)
        app = one(raw, "externalClientApplication")
        for other in org.store.metadata_all(self.type_name):
            if one(other, "externalClientApplication") == app and other["fullName"] != raw.get("fullName"):
                raise MetadataError(
                    "DUPLICATE_VALUE", f"{app} already has global OAuth settings", ["externalClientApplication"]
                )
        stored: dict[str, Any] = dict(raw)
        stored["_consumerSecret"] = _credentials(
            org, stored, one(existing or {}, "consumerKey"), (existing or {}).get("_consumerSecret")
        )
        stored["_consumerId"] = (existing or {}).get("_consumerId") or org.store.new_id("888")
        return stored


class OauthSettingsHandler(StoredHandler):
    type_name = "ExtlClntAppOauthSettings"
    directory = "extlClntAppOauthSettings"
    suffix = "ecaOauth"
    key_prefix = "0Ky"

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        _check_eca_reference(org, raw, self.type_name)
        allowed = wsdl().enums["ConnectedAppOauthAccessScope"]
        scopes = [s.strip() for s in str(one(raw, "commaSeparatedOauthScopes", "")).split(",") if s.strip()]
        unknown = [s for s in scopes if s not in allowed]
        if unknown:
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION", f"Invalid OAuth scope: {unknown[0]}", ["commaSeparatedOauthScopes"]
            )
        return dict(raw)


GLOBAL_OAUTH = GlobalOauthSettingsHandler()
ECA_OAUTH = OauthSettingsHandler()

"""The Metadata API component types the emulator supports, each with create/read/update/delete/list.

ServicePresenceStatus is backed by the sObjects (ServicePresenceStatus + ServiceChannelStatus rows), so
SOQL and the Metadata API always agree. The others are stored as components; secrets are kept under
``_consumerSecret`` and never read back.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import string
from typing import Any

from .dml import DEVELOPER_NAME_RE, stamp
from .metadata_xml import Raw, missing_required
from .org import Org
from .schema import EVENT_FIELD_TYPES

__all__ = ["HANDLERS", "Handler", "MetadataError"]


class MetadataError(Exception):
    """A per-component failure: SaveResult/DeleteResult ``success=false`` with one Error."""

    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields = fields or []


def one(raw: Raw, name: str, default: Any = None) -> Any:
    values = raw.get(name) or []
    return values[0] if values and values[0] is not None else default


def flag(raw: Raw, name: str) -> bool:
    return str(one(raw, name, "false")).lower() in ("true", "1")


def _check_name(type_name: str, full_name: str | None, *, suffix: str = "") -> str:
    if not full_name:
        raise MetadataError("REQUIRED_FIELD_MISSING", "Required field is missing: fullName", ["fullName"])
    base = full_name[: -len(suffix)] if suffix and full_name.endswith(suffix) else full_name
    if (suffix and not full_name.endswith(suffix)) or not DEVELOPER_NAME_RE.match(base) or len(full_name) > 80:
        raise MetadataError("FIELD_INTEGRITY_EXCEPTION",
                            f"{type_name} fullName '{full_name}' is not a valid developer name: use letters, digits "
                            "and single underscores, start with a letter, don't end with an underscore", ["fullName"])
    return full_name


def _require(raw: Raw, type_name: str, *names: str) -> None:
    missing = [n for n in (*missing_required(raw, type_name), *names) if not one(raw, n)]
    if missing:
        raise MetadataError("REQUIRED_FIELD_MISSING", f"Required field is missing: {missing[0]}", [missing[0]])


def _not_found(type_name: str, full_name: str) -> MetadataError:
    return MetadataError("INVALID_CROSS_REFERENCE_KEY", f"In field: fullName - no {type_name} named {full_name} found")


@dataclasses.dataclass
class Listing:
    full_name: str
    id: str
    created: str
    created_by: str
    modified: str
    modified_by: str


class Handler:
    type_name = ""
    directory = ""
    suffix = ""

    def read(self, org: Org, full_name: str) -> Raw | None:
        raise NotImplementedError

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        raise NotImplementedError

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        raise NotImplementedError

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        raise NotImplementedError

    def listing(self, org: Org) -> list[Listing]:
        raise NotImplementedError

    def exists(self, org: Org, full_name: str) -> bool:
        return self.read(org, full_name) is not None


# -- ServicePresenceStatus: a view over the sObjects -----------------------------------------------------------

class PresenceStatusHandler(Handler):
    type_name = "ServicePresenceStatus"
    directory = "servicePresenceStatuses"
    suffix = "servicePresenceStatus"

    def _record(self, org: Org, full_name: str) -> dict[str, Any] | None:
        return org.find_live("ServicePresenceStatus", DeveloperName=full_name)

    def read(self, org: Org, full_name: str) -> Raw | None:
        record = self._record(org, full_name)
        if record is None:
            return None
        channels = []
        for row in org.live("ServiceChannelStatus"):
            if row["ServicePresenceStatusId"] == record["Id"]:
                channel = org.store.get("ServiceChannel", row["ServiceChannelId"])
                if channel is not None:
                    channels.append(channel["DeveloperName"])
        raw: Raw = {"fullName": [record["DeveloperName"]]}
        if channels:
            raw["channels"] = [{"channel": channels}]
        raw["label"] = [record["MasterLabel"]]
        return raw

    def _channels(self, org: Org, raw: Raw) -> list[dict[str, Any]]:
        found = []
        for block in raw.get("channels") or []:
            for name in (block or {}).get("channel", []) if isinstance(block, dict) else []:
                channel = org.find_live("ServiceChannel", DeveloperName=name)
                if channel is None:
                    raise MetadataError("INVALID_CROSS_REFERENCE_KEY",
                                        f"In field: channel - no ServiceChannel named {name} found", ["channel"])
                if channel not in found:
                    found.append(channel)
        return found

    def _validate(self, org: Org, raw: Raw) -> tuple[str, str, list[dict[str, Any]]]:
        full_name = _check_name(self.type_name, one(raw, "fullName"))
        _require(raw, self.type_name, "label")
        label = str(one(raw, "label"))
        if len(label) > 80:
            raise MetadataError("STRING_TOO_LONG", "label: data value too large (max length=80)", ["label"])
        return full_name, label, self._channels(org, raw)

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name, label, channels = self._validate(org, raw)
        if self._record(org, full_name) is not None:
            raise MetadataError("DUPLICATE_DEVELOPER_NAME",
                                f"There's already a {self.type_name} named {full_name}.", ["fullName"])
        obj = org.require_object("ServicePresenceStatus")
        record: dict[str, Any] = {f.name: None for f in obj.fields}
        record.update(Id=org.store.new_id(obj.key_prefix), DeveloperName=full_name, MasterLabel=label,
                      Language="en_US")
        stamp(obj, record, user_id, org.now(), created=True)
        with org.store.batch():
            org.store.save(obj.name, record)
            self._write_channels(org, record["Id"], channels, user_id)

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name, label, channels = self._validate(org, raw)
        record = self._record(org, full_name)
        if record is None:
            raise _not_found(self.type_name, full_name)
        obj = org.require_object("ServicePresenceStatus")
        changed = {**record, "MasterLabel": label}
        stamp(obj, changed, user_id, org.now(), created=False)
        with org.store.batch():
            org.store.save(obj.name, changed)
            self._write_channels(org, record["Id"], channels, user_id)

    def _write_channels(self, org: Org, status_id: str, channels: list[dict[str, Any]], user_id: str) -> None:
        """Make the status's ServiceChannelStatus rows match ``channels`` (keeping rows that stay)."""
        obj = org.require_object("ServiceChannelStatus")
        wanted = {c["Id"] for c in channels}
        for existing in [r for r in org.live(obj.name) if r["ServicePresenceStatusId"] == status_id]:
            if existing["ServiceChannelId"] in wanted:
                wanted.discard(existing["ServiceChannelId"])
            else:
                org.store.purge(obj.name, existing["Id"])
        for channel in channels:
            if channel["Id"] not in wanted:
                continue
            row: dict[str, Any] = {f.name: None for f in obj.fields}
            row.update(Id=org.store.new_id(obj.key_prefix), ServiceChannelId=channel["Id"],
                       ServicePresenceStatusId=status_id)
            stamp(obj, row, user_id, org.now(), created=True)
            org.store.save(obj.name, row)

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        record = self._record(org, full_name)
        if record is None:
            raise _not_found(self.type_name, full_name)
        with org.store.batch():
            for row in org.live("ServiceChannelStatus"):
                if row["ServicePresenceStatusId"] == record["Id"]:
                    org.store.purge("ServiceChannelStatus", row["Id"])
            for grant in list(org.store.table("SetupEntityAccess").values()):
                if grant["SetupEntityId"] == record["Id"]:
                    org.store.purge("SetupEntityAccess", grant["Id"])
            org.store.purge("ServicePresenceStatus", record["Id"])

    def listing(self, org: Org) -> list[Listing]:
        return [Listing(r["DeveloperName"], r["Id"], r["CreatedDate"], r["CreatedById"], r["LastModifiedDate"],
                        r["LastModifiedById"]) for r in org.live("ServicePresenceStatus")]


class ServiceChannelHandler(Handler):
    """Read and list only: the seeded channels (create/update/delete are not emulated)."""

    type_name = "ServiceChannel"
    directory = "serviceChannels"
    suffix = "serviceChannel"

    def read(self, org: Org, full_name: str) -> Raw | None:
        record = org.find_live("ServiceChannel", DeveloperName=full_name)
        if record is None:
            return None
        return {"fullName": [record["DeveloperName"]], "label": [record["MasterLabel"]],
                "relatedEntityType": [record["RelatedEntity"]]}

    def _unsupported(self) -> MetadataError:
        return MetadataError("UNKNOWN_EXCEPTION", "The sandbox does not emulate writing ServiceChannel metadata; "
                             "use the seeded channels or the REST sObject API.")

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        raise self._unsupported()

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        raise self._unsupported()

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        raise self._unsupported()

    def listing(self, org: Org) -> list[Listing]:
        return [Listing(r["DeveloperName"], r["Id"], r["CreatedDate"], r["CreatedById"], r["LastModifiedDate"],
                        r["LastModifiedById"]) for r in org.live("ServiceChannel")]


# -- stored components ------------------------------------------------------------------------------------------

class StoredHandler(Handler):
    key_prefix = ""
    name_suffix = ""

    def read(self, org: Org, full_name: str) -> Raw | None:
        stored = org.store.metadata(self.type_name, full_name)
        return self.public(stored) if stored is not None else None

    @staticmethod
    def public(stored: dict[str, Any]) -> Raw:
        return {k: v for k, v in stored.items() if not k.startswith("_")}

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        """Validate and complete a component; returns what to store (may add ``_`` keys)."""
        return dict(raw)

    def after_write(self, org: Org) -> None:
        pass

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name = _check_name(self.type_name, one(raw, "fullName"), suffix=self.name_suffix)
        if org.store.metadata(self.type_name, full_name) is not None:
            raise MetadataError("DUPLICATE_DEVELOPER_NAME",
                                f"There's already a {self.type_name} named {full_name}.", ["fullName"])
        stored = self.prepare(org, raw, None)
        now = org.now()
        stored.update(_id=org.store.new_id(self.key_prefix), _created=now, _createdBy=user_id, _modified=now,
                      _modifiedBy=user_id)
        org.store.put_metadata(self.type_name, full_name, stored)
        self.after_write(org)

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        full_name = str(one(raw, "fullName", ""))
        existing = org.store.metadata(self.type_name, full_name)
        if existing is None:
            raise _not_found(self.type_name, full_name)
        stored = self.prepare(org, raw, existing)
        stored.update({k: v for k, v in existing.items() if k.startswith("_") and k not in stored})
        stored.update(_modified=org.now(), _modifiedBy=user_id)
        org.store.put_metadata(self.type_name, full_name, stored)
        self.after_write(org)

    def delete(self, org: Org, full_name: str, user_id: str) -> None:
        if org.store.metadata(self.type_name, full_name) is None:
            raise _not_found(self.type_name, full_name)
        org.store.delete_metadata(self.type_name, full_name)
        self.after_write(org)

    def listing(self, org: Org) -> list[Listing]:
        return [Listing(s["fullName"][0], s["_id"], s["_created"], s["_createdBy"], s["_modified"], s["_modifiedBy"])
                for s in org.store.metadata_all(self.type_name)]


def generate_consumer_key() -> str:
    alphabet = string.ascii_letters + string.digits + "._"
    return "3MVG9" + "".join(secrets.choice(alphabet) for _ in range(80))


def generate_consumer_secret() -> str:
    return secrets.token_hex(32).upper()


def _consumer_keys_in_use(org: Org, except_key: str | None) -> set[str]:
    keys = {str(one(a.get("oauthConfig", [{}])[0] or {}, "consumerKey", "")) for a in
            org.store.metadata_all("ConnectedApp") if a.get("oauthConfig")}
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
        raise MetadataError("FIELD_INTEGRITY_EXCEPTION",
                            "consumerSecret must be at least 8 characters, letters and digits only",
                            ["consumerSecret"])
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
                "create an external client app instead (ExternalClientApplication).")
        super().create(org, raw, user_id)

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        _require(raw, self.type_name, "label", "contactEmail")
        stored: dict[str, Any] = dict(raw)
        config_list = raw.get("oauthConfig") or []
        if config_list and isinstance(config_list[0], dict):
            config = dict(config_list[0])
            _require(config, "ConnectedAppOauthConfig", "callbackUrl")
            old_config = (existing or {}).get("oauthConfig", [{}])[0] or {}
            stored["_consumerSecret"] = _credentials(org, config, one(old_config, "consumerKey"),
                                                     (existing or {}).get("_consumerSecret"))
            if flag(config, "isClientCredentialEnabled"):
                user = one(config, "oauthClientCredentialUser")
                if not user or org.find_live("User", Username=user) is None:
                    raise MetadataError("FIELD_INTEGRITY_EXCEPTION",
                                        "oauthClientCredentialUser must name an active user when the client "
                                        "credentials flow is enabled", ["oauthClientCredentialUser"])
            stored["oauthConfig"] = [config]
        policy_list = raw.get("oauthPolicy") or []
        if policy_list and isinstance(policy_list[0], dict):
            _require(policy_list[0], "ConnectedAppOauthPolicy")
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
        _require(raw, self.type_name, "label", "contactEmail")
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
    _require(raw, type_name, "externalClientApplication")
    app = one(raw, "externalClientApplication")
    if org.store.metadata("ExternalClientApplication", app) is None:
        raise MetadataError("INVALID_CROSS_REFERENCE_KEY",
                            f"In field: externalClientApplication - no ExternalClientApplication named {app} found",
                            ["externalClientApplication"])


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
                raise MetadataError("DUPLICATE_VALUE", f"{app} already has global OAuth settings",
                                    ["externalClientApplication"])
        stored: dict[str, Any] = dict(raw)
        stored["_consumerSecret"] = _credentials(org, stored, one(existing or {}, "consumerKey"),
                                                 (existing or {}).get("_consumerSecret"))
        stored["_consumerId"] = (existing or {}).get("_consumerId") or org.store.new_id("888")
        return stored


class OauthSettingsHandler(StoredHandler):
    type_name = "ExtlClntAppOauthSettings"
    directory = "extlClntAppOauthSettings"
    suffix = "ecaOauth"
    key_prefix = "0Ky"

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        from .metadata_xml import wsdl

        _check_eca_reference(org, raw, self.type_name)
        allowed = wsdl().enums["ConnectedAppOauthAccessScope"]
        scopes = [s.strip() for s in str(one(raw, "commaSeparatedOauthScopes", "")).split(",") if s.strip()]
        unknown = [s for s in scopes if s not in allowed]
        if unknown:
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"Invalid OAuth scope: {unknown[0]}",
                                ["commaSeparatedOauthScopes"])
        return dict(raw)


class CustomObjectHandler(StoredHandler):
    """Platform events (``__e``) become publishable sObjects; custom objects (``__c``) are only stored."""

    type_name = "CustomObject"
    directory = "objects"
    suffix = "object"
    key_prefix = "01I"

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        name = str(one(raw, "fullName", ""))
        if not name.endswith(("__e", "__c")):
            raise MetadataError("FIELD_INTEGRITY_EXCEPTION",
                                f"CustomObject fullName '{name}' must end with __c or __e", ["fullName"])
        _check_name(self.type_name, name[:-3])
        self._create(org, raw, user_id)

    def _create(self, org: Org, raw: Raw, user_id: str) -> None:
        name = str(one(raw, "fullName"))
        if org.store.metadata(self.type_name, name) is not None:
            raise MetadataError("DUPLICATE_DEVELOPER_NAME", f"There's already a CustomObject named {name}.",
                                ["fullName"])
        stored = self.prepare(org, raw, None)
        now = org.now()
        stored.update(_id=org.store.new_id(self.key_prefix), _created=now, _createdBy=user_id, _modified=now,
                      _modifiedBy=user_id)
        if name.endswith("__e"):
            count = sum(1 for c in org.store.metadata_all(self.type_name) if "_keyPrefix" in c)
            stored["_keyPrefix"] = f"e{count + 1:02d}"
        org.store.put_metadata(self.type_name, name, stored)
        self.after_write(org)

    def prepare(self, org: Org, raw: Raw, existing: dict[str, Any] | None) -> dict[str, Any]:
        _require(raw, self.type_name, "label", "pluralLabel")
        is_event = str(one(raw, "fullName", "")).endswith("__e")
        seen = set()
        for field in raw.get("fields") or []:
            if not isinstance(field, dict):
                continue
            name = str(one(field, "fullName", ""))
            if not name.endswith("__c") or not DEVELOPER_NAME_RE.match(name[:-3]):
                raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"Invalid custom field name: {name}", ["fields"])
            if name.lower() in seen:
                raise MetadataError("DUPLICATE_DEVELOPER_NAME", f"Duplicate field: {name}", ["fields"])
            seen.add(name.lower())
            _require(field, "CustomField", "label", "type")
            kind = one(field, "type")
            if is_event and kind not in EVENT_FIELD_TYPES:
                raise MetadataError("FIELD_INTEGRITY_EXCEPTION",
                                    f"Field type {kind} isn't supported on platform events ({name})", ["type"])
            if kind in ("Text", "LongTextArea") and not one(field, "length"):
                raise MetadataError("REQUIRED_FIELD_MISSING", f"Required field is missing: length ({name})",
                                    ["length"])
        stored = dict(raw)
        if existing and "_keyPrefix" in existing:
            stored["_keyPrefix"] = existing["_keyPrefix"]
        return stored

    def after_write(self, org: Org) -> None:
        org.reload_events()


GLOBAL_OAUTH = GlobalOauthSettingsHandler()
ECA_OAUTH = OauthSettingsHandler()
HANDLERS: dict[str, Handler] = {h.type_name: h for h in (
    PresenceStatusHandler(), ServiceChannelHandler(), ConnectedAppHandler(), ExternalClientAppHandler(),
    GLOBAL_OAUTH, ECA_OAUTH, CustomObjectHandler())}


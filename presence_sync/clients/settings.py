"""Typed connection settings for the two vendor clients, read from environment variables.

Salesforce (OAuth 2.0 token, then REST + Metadata API in session mode):

==================  ========  ===================================================================
SF_LOGIN_URL        required  base URL whose ``/services/oauth2/token`` issues tokens
                              (``https://login.salesforce.com``, a My Domain, or the sandbox)
SF_CLIENT_ID        required  consumer key of the integration's OAuth app
SF_CLIENT_SECRET    required  consumer secret of that app (secret)
SF_USERNAME         password  integration user's username (password grant only)
SF_PASSWORD         password  that user's password, with the security token appended if the org
                              requires one (secret; password grant only)
SF_GRANT            optional  ``password`` (default) or ``client_credentials``
SF_API_VERSION      optional  REST/Metadata API version, default ``59.0`` (simple-salesforce's)
SF_PUBSUB_ENDPOINT  optional  ``host:port`` of the Pub/Sub API (gRPC, TLS), default
                              ``api.pubsub.salesforce.com:443`` (Salesforce serves 7443 and 443; 443
                              passes the runtime's egress policy); the sandbox writes its own
==================  ========  ===================================================================

CXone (OAuth 2.0 password grant with an access key, then the public REST APIs):

======================  ========  ===============================================================
CXONE_AUTH_URL          required  base URL with ``/auth/token`` and ``/.well-known/cxone-configuration``
                                  (``https://cxone.niceincontact.com``, or the sandbox)
CXONE_API_URL           optional  API base (``https://api-na1.niceincontact.com``); discovered from
                                  ``/.well-known/cxone-configuration`` when unset
CXONE_CLIENT_ID         required  registered application's client id
CXONE_CLIENT_SECRET     required  registered application's client secret (secret)
CXONE_ACCESS_KEY_ID     required  access key id of the integration user (the grant's username)
CXONE_ACCESS_KEY_SECRET required  that access key's secret (secret; the grant's password)
CXONE_API_VERSION       optional  ``v34.0`` by default: the newest version in NICE's published
                                  OpenAPI set ("Updated in v34.0"); paths are
                                  ``/incontactapi/services/{version}/...``
======================  ========  ===============================================================

URLs must be ``https://``: plain ``http://`` is refused (a ``SettingsError`` naming the variable) except for a
loopback host (``localhost``, ``127.0.0.0/8``, ``::1``), where nothing leaves the machine.

Both: TLS trust comes from ``REQUESTS_CA_BUNDLE`` (a CA bundle path), as for any ``requests`` program;
the sandbox sets it to its own CA. Secrets are ``SecretStr``: they print as ``**********``.

``from_env()`` reads ``os.environ``; ``from_mapping()`` takes the same names from a dict (providers
build one from Pulumi config). A missing or malformed variable raises ``SettingsError`` naming it
and saying what it is for.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

__all__ = ["CxoneSettings", "SalesforceSettings", "SettingsError"]


class SettingsError(ValueError):
    """A connection setting is missing or malformed. Raised before any request is made."""


def _check_url(name: str, value: str) -> str:
    """An https URL; plain http only for a loopback host (tokens and secrets cross this connection)."""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{name} must be an http(s) URL such as https://host[:port], got {value!r}")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        where = parsed.hostname or ""
        port = f":{parsed.port}" if parsed.port else ""
        raise SettingsError(
            f"{name} must be an https:// URL: http://{where}{port} would send the OAuth secrets and tokens in clear "
            f"text. Set {name}=https://{where}{port}{parsed.path.rstrip('/')} (plain http is accepted only for a "
            "loopback host: localhost, 127.0.0.1, ::1)."
        )
    return value.rstrip("/")


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _EnvSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # field name -> (environment variable, what it is for, required?)
    VARIABLES: ClassVar[dict[str, tuple[str, str, bool]]]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Any:
        return cls.from_mapping(os.environ if environ is None else environ)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Any:
        """Build from a mapping keyed by the environment variable names (or the field names)."""
        values: dict[str, Any] = {}
        for field, (variable, purpose, required) in cls.VARIABLES.items():
            raw = mapping.get(variable, mapping.get(field))
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if required and cls._required(field, mapping):
                    raise SettingsError(f"{variable} is not set: it is {purpose}.")
                continue
            values[field] = raw.strip() if isinstance(raw, str) else raw
        ca_bundle = mapping.get("REQUESTS_CA_BUNDLE", mapping.get("ca_bundle"))
        if ca_bundle:
            values["ca_bundle"] = str(ca_bundle)
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError("; ".join(cls._describe(err) for err in exc.errors())) from None

    @classmethod
    def _describe(cls, err: Any) -> str:
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, SettingsError):
            return str(cause)
        field = str(err["loc"][0]) if err["loc"] else ""
        variable, purpose, _ = cls.VARIABLES.get(field, (field, "", False))
        return f"{variable} is invalid ({err['msg']}): it is {purpose}." if purpose else str(err["msg"])

    @classmethod
    def _required(cls, field: str, mapping: Mapping[str, Any]) -> bool:
        return True


class SalesforceSettings(_EnvSettings):
    """How to reach and authenticate to one Salesforce org."""

    login_url: str
    client_id: str
    client_secret: SecretStr
    username: str | None = None
    password: SecretStr | None = None
    grant: Literal["password", "client_credentials"] = "password"
    api_version: str = "59.0"
    pubsub_endpoint: str = "api.pubsub.salesforce.com:443"
    ca_bundle: str | None = None

    VARIABLES: ClassVar[dict[str, tuple[str, str, bool]]] = {
        "login_url": ("SF_LOGIN_URL", "the base URL whose /services/oauth2/token issues Salesforce tokens", True),
        "client_id": ("SF_CLIENT_ID", "the consumer key of the Salesforce OAuth app used to log in", True),
        "client_secret": ("SF_CLIENT_SECRET", "the consumer secret of the Salesforce OAuth app", True),
        "username": ("SF_USERNAME", "the Salesforce integration user's username (password grant)", True),
        "password": (
            "SF_PASSWORD",
            "the Salesforce integration user's password, plus security token if required (password grant)",
            True,
        ),
        "grant": ("SF_GRANT", "the OAuth grant: password (default) or client_credentials", False),
        "api_version": ("SF_API_VERSION", "the Salesforce API version such as 59.0", False),
        "pubsub_endpoint": ("SF_PUBSUB_ENDPOINT", "the Pub/Sub API's host:port (the change stream)", False),
    }

    @classmethod
    def _required(cls, field: str, mapping: Mapping[str, Any]) -> bool:
        if field in ("username", "password"):
            return str(mapping.get("SF_GRANT", mapping.get("grant")) or "password") == "password"
        return True

    def model_post_init(self, context: Any, /) -> None:
        _check_url("SF_LOGIN_URL", self.login_url)
        object.__setattr__(self, "login_url", self.login_url.rstrip("/"))
        version = self.api_version.lstrip("vV")  # simple-salesforce wants '59.0', never 'v59.0'
        if not re.fullmatch(r"\d{2,3}\.0", version):
            raise SettingsError(f"SF_API_VERSION must look like 59.0, got {self.api_version!r}")
        object.__setattr__(self, "api_version", version)
        if not re.fullmatch(r"[A-Za-z0-9.\-]+:\d{1,5}", self.pubsub_endpoint):
            raise SettingsError(f"SF_PUBSUB_ENDPOINT must be host:port, got {self.pubsub_endpoint!r}")


class CxoneSettings(_EnvSettings):
    """How to reach and authenticate to one CXone tenant."""

    auth_url: str
    api_url: str | None = None
    client_id: str
    client_secret: SecretStr
    access_key_id: str
    access_key_secret: SecretStr
    api_version: str = "v34.0"
    ca_bundle: str | None = None

    VARIABLES: ClassVar[dict[str, tuple[str, str, bool]]] = {
        "auth_url": (
            "CXONE_AUTH_URL",
            "the CXone base URL serving /auth/token and the discovery document",
            True,
        ),
        "api_url": ("CXONE_API_URL", "the CXone API base URL (discovered when unset)", False),
        "client_id": ("CXONE_CLIENT_ID", "the client id of the registered CXone application", True),
        "client_secret": ("CXONE_CLIENT_SECRET", "the client secret of the registered CXone application", True),
        "access_key_id": ("CXONE_ACCESS_KEY_ID", "the access key id of the CXone integration user", True),
        "access_key_secret": ("CXONE_ACCESS_KEY_SECRET", "the secret of the CXone integration user's access key", True),
        "api_version": ("CXONE_API_VERSION", "the CXone API version such as v34.0", False),
    }

    def model_post_init(self, context: Any, /) -> None:
        object.__setattr__(self, "auth_url", _check_url("CXONE_AUTH_URL", self.auth_url))
        if self.api_url:
            object.__setattr__(self, "api_url", _check_url("CXONE_API_URL", self.api_url))
        version = self.api_version if self.api_version.lower().startswith("v") else f"v{self.api_version}"
        if not re.fullmatch(r"v\d{1,2}\.0", version):
            raise SettingsError(f"CXONE_API_VERSION must look like v34.0, got {self.api_version!r}")
        object.__setattr__(self, "api_version", version)

"""The OAuth client app CXone uses to reach Salesforce: an External Client App (default) or, for orgs that
still may create them, a legacy Connected App.

The consumer key is generated with the app and read back; the consumer secret is known only at creation
and is never returned by a read. It is a write-only output here, marked secret by the resource, so it is
encrypted in the state and never printed. Changing the app's type or name replaces it (and so rotates the
key and secret, which flows on to the CXone account mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import field_validator

from presence_sync.clients.oauth_client_app import OAuthAppProxy
from presence_sync.clients.salesforce_models import OAuthAppRecord, OAuthAppSpec
from providers import context
from providers.base import ProviderInputs, SpecProvider, Written


class OAuthClientAppInputs(ProviderInputs):
    app_type: Literal["external_client_app", "connected_app"]
    name: str
    label: str
    contact_email: str
    callback_url: str
    scopes: list[str]
    """Metadata scope names (Full, Api, Web, RefreshToken, ...)."""
    require_secret_for_web_server_flow: bool = True
    require_secret_for_refresh_token_flow: bool = True
    description: str | None = None

    @field_validator("scopes")
    @classmethod
    def _sorted(cls, scopes: list[str]) -> list[str]:
        return sorted(set(scopes))

    def to_spec(self) -> OAuthAppSpec:
        return OAuthAppSpec(
            type=self.app_type,
            name=self.name,
            label=self.label,
            contact_email=self.contact_email,
            callback_url=self.callback_url,
            scopes=self.scopes,
            require_secret_for_web_server_flow=self.require_secret_for_web_server_flow,
            require_secret_for_refresh_token=self.require_secret_for_refresh_token_flow,
            description=self.description,
        )


def app_outputs(record: OAuthAppRecord) -> dict[str, Any]:
    return {
        "appType": record.type,
        "name": record.name,
        "label": record.label,
        "contactEmail": record.contact_email,
        "callbackUrl": record.callback_url,
        "scopes": sorted(record.scopes),
        "requireSecretForWebServerFlow": record.require_secret_for_web_server_flow,
        "requireSecretForRefreshTokenFlow": record.require_secret_for_refresh_token,
        "consumerKey": record.consumer_key,
    }


class OAuthClientAppProvider(SpecProvider[OAuthClientAppInputs, OAuthAppProxy]):
    kind = "Salesforce OAuth client app"
    vendor = "org"
    version = "1"
    inputs_model = OAuthClientAppInputs
    replace_on = ("appType", "name")
    identity_inputs = ("appType", "name")
    write_only_outputs = ("consumerSecret",)

    def make_proxy(self) -> OAuthAppProxy:
        return OAuthAppProxy(context.salesforce())

    def describe(self, inputs: OAuthClientAppInputs) -> str:
        kind = "External Client App" if inputs.app_type == "external_client_app" else "Connected App"
        return f"Salesforce {kind} {inputs.name}"

    def find_existing(self, inputs: OAuthClientAppInputs) -> tuple[str, dict[str, Any]] | None:
        record = self.proxy.read_oauth_app(inputs.app_type, inputs.name)
        return None if record is None else (record.name, app_outputs(record))

    def create_object(self, inputs: OAuthClientAppInputs) -> Written:
        created = self.proxy.create_oauth_app(inputs.to_spec())
        return Written(created.record.name, {"consumerSecret": created.consumer_secret.get_secret_value()})

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: OAuthClientAppInputs) -> Written:
        self.proxy.update_oauth_app(inputs.to_spec())
        return Written(id_)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        app_type = props.get("appType", "external_client_app")
        record = self.proxy.read_oauth_app(app_type, id_)
        return None if record is None else app_outputs(record)

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        self.proxy.delete_oauth_app(props.get("appType", "external_client_app"), id_)

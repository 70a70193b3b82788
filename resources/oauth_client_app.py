"""`salesforce:OAuthClientApp`: the External Client App (or legacy Connected App) CXone signs in with."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.models import OAuthApp
from providers.oauth_client_app import OAuthClientAppProvider

SECRET_OUTPUTS = ["consumerKey", "consumerSecret"]


class OAuthClientApp(Resource, module="salesforce", name="OAuthClientApp"):
    @property
    def consumer_key(self) -> pulumi.Output[str]:
        return self.consumerKey  # type: ignore[attr-defined]

    @property
    def consumer_secret(self) -> pulumi.Output[str]:
        return self.consumerSecret  # type: ignore[attr-defined]

    def __init__(
        self, app: OAuthApp, opts: pulumi.ResourceOptions | None = None, *, location: str | None = None
    ) -> None:
        props: dict[str, Any] = {
            "appType": app.app_type,
            "name": app.name,
            "label": app.label,
            "contactEmail": app.contact_email,
            "callbackUrl": app.callback_url,
            "scopes": list(app.metadata_scopes()),  # the provider's check normalises (sorts, de-duplicates) them
            "requireSecretForWebServerFlow": app.require_secret_for_web_server_flow,
            "requireSecretForRefreshTokenFlow": app.require_secret_for_refresh_token_flow,
            "description": app.description,
            "adopt": app.adopt,
            "providerVersion": OAuthClientAppProvider.version,
            "specLocation": location,  # for messages only (never compared)
            "consumerKey": None,
            "consumerSecret": None,
        }
        # Encrypted in the state and masked in every display; nothing of ours prints them either.
        secret = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(
            OAuthClientAppProvider(), f"oauth-app-{app.name}", props, pulumi.ResourceOptions.merge(opts, secret)
        )

"""The OAuth client app provider on a fake proxy: the consumer secret known only at creation kept from the
state, a new type or name as a replace (rotating key and secret), adopt, drift and deletion."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from presence_sync.clients.salesforce_models import CreatedOAuthApp, OAuthAppRecord, OAuthAppSpec, OAuthAppType
from providers.base import ProviderError
from providers.oauth_client_app import OAuthClientAppProvider
from tests.providers.fakes import FakeVendor, outs


class FakeApps(FakeVendor):
    """OAuthAppProxy's contract over a dict of (type, name) -> record."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[tuple[str, str], OAuthAppRecord] = {}

    def put(self, spec: OAuthAppSpec, key: str) -> OAuthAppRecord:
        record = OAuthAppRecord(
            type=spec.type,
            name=spec.name,
            label=spec.label,
            contact_email=spec.contact_email,
            callback_url=spec.callback_url,
            scopes=list(spec.scopes),
            require_secret_for_web_server_flow=spec.require_secret_for_web_server_flow,
            require_secret_for_refresh_token=spec.require_secret_for_refresh_token,
            consumer_key=key,
        )
        self.live[(spec.type, spec.name)] = record
        return record

    def create_oauth_app(self, spec: OAuthAppSpec) -> CreatedOAuthApp:
        self.write(f"create {spec.name}")
        return CreatedOAuthApp(record=self.put(spec, "3MVG-new"), consumer_secret=SecretStr("shown-once"))

    def read_oauth_app(self, app_type: OAuthAppType, name: str) -> OAuthAppRecord | None:
        return self.live.get((app_type, name))

    def update_oauth_app(self, spec: OAuthAppSpec) -> OAuthAppRecord:
        self.write(f"update {spec.name}")
        old = self.live[(spec.type, spec.name)]
        return self.put(spec, old.consumer_key or "")

    def delete_oauth_app(self, app_type: OAuthAppType, name: str) -> None:
        self.write(f"delete {name}")
        self.live.pop((app_type, name), None)


def inputs(**changes: Any) -> dict[str, Any]:
    base = {
        "appType": "external_client_app",
        "name": "CXone_Presence_Sync",
        "label": "CXone Presence Sync",
        "contactEmail": "admin@example.com",
        "callbackUrl": "https://example.com/callback",
        "scopes": ["RefreshToken", "Api", "Api"],
        "requireSecretForWebServerFlow": True,
        "requireSecretForRefreshTokenFlow": True,
        "adopt": False,
        "providerVersion": OAuthClientAppProvider.version,
        "specLocation": "stacks/dev.yaml:30:3: salesforce.oauthApp",
    }
    return {**base, **changes}


@pytest.fixture
def org() -> FakeApps:
    return FakeApps()


@pytest.fixture
def provider(org: FakeApps) -> OAuthClientAppProvider:
    return OAuthClientAppProvider(org)  # type: ignore[arg-type]


def test_check_normalises_the_scopes(provider: OAuthClientAppProvider) -> None:
    assert provider.check({}, inputs()).inputs["scopes"] == ["Api", "RefreshToken"]


def test_create_keeps_the_secret_only_the_create_knows(provider: OAuthClientAppProvider) -> None:
    created = provider.create(provider.check({}, inputs()).inputs)
    assert created.id == "CXone_Presence_Sync"
    assert outs(created)["consumerSecret"] == "shown-once" and outs(created)["consumerKey"] == "3MVG-new"
    updated = provider.update(created.id, outs(created), inputs(label="Renamed"))
    assert outs(updated)["consumerSecret"] == "shown-once" and outs(updated)["label"] == "Renamed"


def test_an_existing_app_needs_adopt_and_then_keeps_its_key(provider: OAuthClientAppProvider, org: FakeApps) -> None:
    provider.create(inputs())
    [failure] = provider.check({}, inputs()).failures
    assert "Salesforce External Client App CXone_Presence_Sync already exists in the org" in failure.reason
    with pytest.raises(ProviderError, match="adopt: true"):
        provider.create(inputs())
    adopted = provider.create(inputs(adopt=True, label="Adopted"))
    assert outs(adopted)["consumerKey"] == "3MVG-new" and "consumerSecret" not in outs(adopted)


def test_a_new_type_or_name_replaces_the_app(provider: OAuthClientAppProvider) -> None:
    old = provider.check({}, inputs()).inputs
    assert provider.diff("x", old, provider.check(old, inputs(appType="connected_app")).inputs).replaces == ["appType"]
    assert provider.diff("x", old, provider.check(old, inputs(name="Other")).inputs).replaces == ["name"]
    assert provider.diff("x", old, provider.check(old, inputs(label="L")).inputs).replaces == []


def test_read_shows_drift_and_a_deleted_app_is_gone(provider: OAuthClientAppProvider, org: FakeApps) -> None:
    created = provider.create(inputs())
    record = org.live[("external_client_app", "CXone_Presence_Sync")]
    org.live[("external_client_app", "CXone_Presence_Sync")] = record.model_copy(update={"callback_url": "https://x"})
    read = provider.read(created.id, outs(created))
    assert read.inputs is not None and read.inputs["callbackUrl"] == "https://x"
    assert read.outs is not None and read.outs["consumerSecret"] == "shown-once"  # kept from the state
    provider.delete(created.id, outs(created))
    assert provider.read(created.id, outs(created)).id == ""

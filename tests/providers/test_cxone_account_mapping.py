"""The CXone account mapping provider on a fake proxy: the access-key user checked at plan time, the
access key's secret kept from the create, the consumer secret sent only when it changed (or CXone lacks it),
a new access-key user as a replace, drift and deletion."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from presence_sync.clients.cxone_account_mapping import (
    AccountMapping,
    AccountMappingSpec,
    CreatedAccountMapping,
    SalesforceEnvironment,
)
from providers.base import ProviderError
from providers.cxone_account_mapping import CxoneAccountMappingProvider
from tests.providers.fakes import FakeDirectory, FakeVendor, outs, unavailable


class FakeMappings(FakeVendor):
    """AccountMappingProxy's contract over a dict of mapping id -> mapping; remembers the secrets sent."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, AccountMapping] = {}
        self.secrets_sent: list[str | None] = []

    def put(self, spec: AccountMappingSpec, mapping_id: str | None = None, has_secret: bool = True) -> AccountMapping:
        env = spec.salesforce_environment
        mapping = AccountMapping(
            mapping_id=mapping_id or str(self.new_id("{}")),
            name=spec.name,
            access_key_agent_id=spec.access_key_agent_id,
            access_key_id="AK-1",
            salesforce_environment=SalesforceEnvironment(
                name=env.name,
                instance_url=env.instance_url,
                consumer_key=env.consumer_key,
                has_consumer_secret=has_secret,
            ),
            is_selected=spec.is_selected,
        )
        self.live[str(mapping.mapping_id)] = mapping
        return mapping

    def cached_account_mappings(self) -> list[AccountMapping]:
        return list(self.live.values())

    def create_account_mapping(self, spec: AccountMappingSpec) -> CreatedAccountMapping:
        self.write(f"create {spec.name}")
        secret = spec.salesforce_environment.consumer_secret
        self.secrets_sent.append(secret.get_secret_value() if secret else None)
        return CreatedAccountMapping(mapping=self.put(spec), access_key_secret=SecretStr("ak-secret-once"))

    def update_account_mapping(self, mapping_id: int | str, spec: AccountMappingSpec) -> AccountMapping:
        self.write(f"update {mapping_id}")
        secret = spec.salesforce_environment.consumer_secret
        self.secrets_sent.append(secret.get_secret_value() if secret else None)
        return self.put(spec, str(mapping_id))

    def delete_account_mapping(self, mapping_id: int | str) -> None:
        self.write(f"delete {mapping_id}")
        self.live.pop(str(mapping_id), None)


def inputs(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "Salesforce Production",
        "accessKeyUser": "ada@example.com",
        "salesforceEnvironment": {"name": "Production", "instanceUrl": "https://example.my.salesforce.com"},
        "consumerKey": "3MVG-key",
        "consumerSecret": "app-secret",
        "isSelected": True,
        "adopt": False,
        "providerVersion": CxoneAccountMappingProvider.version,
        "specLocation": "stacks/dev.yaml:40:3: cxone.accountMapping",
    }
    return {**base, **changes}


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> FakeMappings:
    FakeDirectory().install(monkeypatch)
    return FakeMappings()


@pytest.fixture
def provider(tenant: FakeMappings) -> CxoneAccountMappingProvider:
    return CxoneAccountMappingProvider(tenant)  # type: ignore[arg-type]


def test_check_needs_an_active_access_key_user(provider: CxoneAccountMappingProvider) -> None:
    assert provider.check({}, inputs()).failures == []
    [unknown] = provider.check({}, inputs(accessKeyUser="nobody@example.com")).failures
    assert "accessKeyUser: CXone user 'nobody@example.com' does not exist" in unknown.reason
    [inactive] = provider.check({}, inputs(accessKeyUser="gone@example.com")).failures
    assert inactive.reason.startswith("stacks/dev.yaml:40:3: cxone.accountMapping: ")
    assert "is deactivated; name an active user" in inactive.reason


def test_check_refuses_an_unmanaged_mapping_of_that_name_unless_adopted(
    provider: CxoneAccountMappingProvider, tenant: FakeMappings
) -> None:
    tenant.put(CxoneAccountMappingProvider().parse(inputs()).to_spec(100001, send_secret=False))
    [failure] = provider.check({}, inputs()).failures
    assert "already exists in the tenant" in failure.reason
    assert provider.check({}, inputs(adopt=True)).failures == []


def test_create_keeps_the_access_key_secret_that_only_the_create_returns(
    provider: CxoneAccountMappingProvider, tenant: FakeMappings
) -> None:
    created = provider.create(inputs())
    assert outs(created)["accessKeySecret"] == "ak-secret-once"
    assert outs(created)["accessKeyAgentId"] == 100001 and outs(created)["hasConsumerSecret"] is True
    assert tenant.secrets_sent == ["app-secret"]
    updated = provider.update(created.id, {**outs(created), **inputs()}, inputs(name="Renamed"))
    assert outs(updated)["accessKeySecret"] == "ak-secret-once"  # kept from the state: CXone never repeats it


def test_the_consumer_secret_is_sent_only_when_it_changed_or_cxone_has_none(
    provider: CxoneAccountMappingProvider, tenant: FakeMappings
) -> None:
    created = provider.create(inputs())
    state = {**outs(created), **inputs()}
    provider.update(created.id, state, inputs(isSelected=True))
    provider.update(created.id, state, inputs(consumerSecret="rotated"))
    assert tenant.secrets_sent == ["app-secret", None, "rotated"]
    provider.update(created.id, {**state, "hasConsumerSecret": False}, inputs())
    assert tenant.secrets_sent[-1] == "app-secret"


def test_a_new_access_key_user_replaces_the_mapping(provider: CxoneAccountMappingProvider) -> None:
    old = provider.check({}, inputs()).inputs
    assert provider.diff("1", old, inputs(accessKeyUser="grace@example.com")).replaces == ["accessKeyUser"]
    assert provider.diff("1", old, inputs(name="Other")).replaces == []


def test_an_unknown_consumer_key_in_a_preview_is_no_change(provider: CxoneAccountMappingProvider) -> None:
    from pulumi.runtime.rpc import UNKNOWN

    old = provider.check({}, inputs()).inputs
    assert provider.diff("1", old, {**old, "consumerKey": UNKNOWN}).changes is False


def test_read_shows_drift_as_inputs_and_a_gone_mapping_as_no_id(
    provider: CxoneAccountMappingProvider, tenant: FakeMappings
) -> None:
    created = provider.create(inputs())
    by_hand = tenant.live[created.id].model_copy(update={"name": "Renamed by hand"})
    tenant.live[created.id] = by_hand
    read = provider.read(created.id, {**outs(created), **inputs()})
    assert read.inputs is not None and read.inputs["name"] == "Renamed by hand"
    assert read.inputs["accessKeyUser"] == "ada@example.com"
    tenant.live.clear()
    assert provider.read(created.id, inputs()).id == ""


def test_delete_and_a_refused_call(provider: CxoneAccountMappingProvider, tenant: FakeMappings) -> None:
    created = provider.create(inputs())
    tenant.fail_next = unavailable("delete_account_mapping", "cxone")
    with pytest.raises(ProviderError, match=r"CXone account mapping .*: deleting: .*HTTP 503"):
        provider.delete(created.id, inputs())
    provider.delete(created.id, inputs())
    provider.delete(created.id, inputs())  # already gone: fine
    assert tenant.live == {}

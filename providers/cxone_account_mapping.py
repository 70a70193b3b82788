"""CXone account mapping to the Salesforce org (Adapters > Account Mapping): an access key for a chosen CXone
user, created with the mapping, and the Salesforce environment registered with the OAuth app's consumer key
and secret, selected as the active mapping.

The access key's secret is returned once, at creation: it is a write-only output, marked secret by the
resource. The consumer secret is an input that arrives as a Pulumi secret from the OAuth app; CXone never
returns it, so a changed secret is sent on update and kept otherwise. Changing the access-key user needs a
new mapping (CXone cannot move a key), so it replaces the resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pydantic import BaseModel, SecretStr

from presence_sync.clients.cxone_account_mapping import (
    AccountMapping,
    AccountMappingProxy,
    AccountMappingSpec,
    SalesforceEnvironmentSpec,
)
from providers import context, lookups
from providers.base import CheckContext, ProviderError, ProviderInputs, SpecProvider, Written


class EnvironmentInputs(BaseModel):
    name: str
    instanceUrl: str


class CxoneAccountMappingInputs(ProviderInputs):
    name: str
    access_key_user: str
    salesforce_environment: EnvironmentInputs
    consumer_key: str | None = None
    consumer_secret: str | None = None
    is_selected: bool = True

    def to_spec(self, agent_id: int, *, send_secret: bool) -> AccountMappingSpec:
        if not self.consumer_key:
            raise ProviderError(
                f"CXone account mapping {self.name!r}: the OAuth app's consumer key is unknown. "
                "If the app was adopted, its key and secret cannot be read back: re-create the app or set them."
            )
        secret = SecretStr(self.consumer_secret) if (send_secret and self.consumer_secret) else None
        return AccountMappingSpec(
            name=self.name,
            access_key_agent_id=agent_id,
            salesforce_environment=SalesforceEnvironmentSpec(
                name=self.salesforce_environment.name,
                instance_url=self.salesforce_environment.instanceUrl,
                consumer_key=self.consumer_key,
                consumer_secret=secret,
            ),
            is_selected=self.is_selected,
        )


def mapping_outputs(mapping: AccountMapping) -> dict[str, Any]:
    environment = mapping.salesforce_environment
    return {
        "mappingId": str(mapping.mapping_id),
        "name": mapping.name,
        "accessKeyAgentId": mapping.access_key_agent_id,
        "accessKeyId": mapping.access_key_id,
        "salesforceEnvironment": {"name": environment.name, "instanceUrl": environment.instance_url},
        "consumerKey": environment.consumer_key,
        "hasConsumerSecret": environment.has_consumer_secret,
        "isSelected": mapping.is_selected,
    }


class CxoneAccountMappingProvider(SpecProvider[CxoneAccountMappingInputs, AccountMappingProxy]):
    kind = "CXone account mapping"
    vendor = "tenant"
    version = "1"
    inputs_model = CxoneAccountMappingInputs
    replace_on = ("accessKeyUser",)
    write_only_outputs = ("accessKeySecret",)
    derived_inputs = ("consumerKey", "consumerSecret")

    def make_proxy(self) -> AccountMappingProxy:
        return AccountMappingProxy(context.cxone())

    def describe(self, inputs: CxoneAccountMappingInputs) -> str:
        return f"{self.kind} {inputs.name!r}"

    def plan_checks(self, inputs: CxoneAccountMappingInputs, found: CheckContext) -> list[CheckFailure]:
        # Needs the access-key user only: runs while the OAuth app's key and secret are still unknown.
        try:
            agent = lookups.agent_by_email(inputs.access_key_user)
        except ProviderError as error:
            return [CheckFailure("", f"{self.describe(inputs)}: accessKeyUser: {error}")]
        if not agent.is_active:
            return [
                CheckFailure(
                    "",
                    f"{self.describe(inputs)}: accessKeyUser: CXone user "
                    f"{inputs.access_key_user} is deactivated; name an active user",
                )
            ]
        return []

    def find_existing(self, inputs: CxoneAccountMappingInputs) -> tuple[str, dict[str, Any]] | None:
        found = [m for m in self.proxy.cached_account_mappings() if m.name == inputs.name]
        return None if not found else (str(found[0].mapping_id), mapping_outputs(found[0]))

    def create_object(self, inputs: CxoneAccountMappingInputs) -> Written:
        agent = lookups.agent_by_email(inputs.access_key_user)
        created = self.proxy.create_account_mapping(inputs.to_spec(agent.agent_id, send_secret=True))
        secret = created.access_key_secret.get_secret_value() if created.access_key_secret else None
        return Written(str(created.mapping.mapping_id), {"accessKeySecret": secret})

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: CxoneAccountMappingInputs) -> Written:
        agent = lookups.agent_by_email(inputs.access_key_user)
        # Send the consumer secret when it changed, or when CXone has none (adopted, or lost by hand).
        send_secret = old.get("consumerSecret") != inputs.consumer_secret or not old.get("hasConsumerSecret")
        self.proxy.update_account_mapping(id_, inputs.to_spec(agent.agent_id, send_secret=send_secret))
        return Written(id_)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        found = [m for m in self.proxy.cached_account_mappings() if str(m.mapping_id) == id_]
        if not found:
            return None
        outputs = mapping_outputs(found[0])
        owner = next((a for a in lookups.agents() if a.agent_id == found[0].access_key_agent_id), None)
        outputs["accessKeyUser"] = owner.email if owner and owner.email else props.get("accessKeyUser")
        return outputs

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        self.proxy.delete_account_mapping(id_)

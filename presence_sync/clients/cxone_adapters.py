"""CXone Presence Sync configuration: account mappings and presence rules. A MODEL, not a public API.

NICE publishes no REST API for the Adapters app's Presence Sync settings (vendor-apis.md §7g): they
are configured in the UI. presence-sync models them in the shape NICE's own SDK reads
(``adapter-apis/v1/{partner}/...``, ``publisherStateMap``, ``subscriberStateMap``) so that this one
module can be pointed at the real service if it is ever exposed; the sandbox implements exactly this
contract. Nothing outside this module knows these paths or payloads.

Paths, under ``{api_base}/adapter-apis/v1/{partner}/`` (``api_base`` = the CXone API host root):

* ``account-mappings``              GET list ``{"accountMappings": [...]}`` / POST create (201)
* ``account-mappings/{mappingId}``  GET (never returns secrets) / PUT (``consumerSecret`` optional =
                                     keep; ``accessKeyAgentId`` immutable -> 400) / DELETE
* ``presence-rules``                GET list ``{"presenceRules": [...]}`` / POST create (201)
* ``presence-rules/{ruleId}``       GET / PUT / DELETE

An account mapping's create answer is the only one carrying ``accessKeySecret`` (the access key CXone
made for the mapping's user); it is returned as a ``SecretStr`` beside the mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from presence_sync.clients.errors import NotFound

if TYPE_CHECKING:
    from presence_sync.clients.cxone import CxoneClient

__all__ = [
    "AccountMapping",
    "AccountMappingSpec",
    "AcdState",
    "CreatedAccountMapping",
    "ExternalStatus",
    "PresenceRule",
    "PresenceRuleSpec",
    "PresenceSyncConfig",
    "PreviousState",
    "PublisherMapping",
    "SalesforceEnvironment",
    "SalesforceEnvironmentSpec",
    "SubscriberMapping",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class AcdState(_Model):
    """A CXone (ACD) state: ``Available``, ``Unavailable`` with an unavailable code id, or (publisher
    sources only) another platform state name such as ``InboundContact``."""

    state: str
    out_state_id: int | None = Field(default=None, alias="outStateId")


class ExternalStatus(_Model):
    """A Salesforce presence status: its id (``0N5...``) and developer name."""

    status_id: str = Field(alias="statusId")
    developer_name: str = Field(alias="developerName")


class PreviousState(_Model):
    """Mapping target meaning "return to the state before the last synced change"."""

    previous_state: Literal[True] = Field(alias="previousState")


class PublisherMapping(_Model):
    """CXone state -> Salesforce status (CXone publishes)."""

    from_: AcdState = Field(alias="from")
    to: ExternalStatus | PreviousState


class SubscriberMapping(_Model):
    """Salesforce status -> CXone state (CXone subscribes)."""

    from_: ExternalStatus = Field(alias="from")
    to: AcdState | PreviousState


class PresenceRuleSpec(_Model):
    name: str
    priority: int = 0
    publisher_state_map: list[PublisherMapping] = Field(default_factory=list, alias="publisherStateMap")
    subscriber_state_map: list[SubscriberMapping] = Field(default_factory=list, alias="subscriberStateMap")
    team_ids: list[int] = Field(default_factory=list, alias="teamIds")
    agent_ids: list[int] = Field(default_factory=list, alias="agentIds")


class PresenceRule(PresenceRuleSpec):
    rule_id: int | str = Field(alias="ruleId")
    last_modified: str | None = Field(default=None, alias="lastModified")

    def spec(self) -> PresenceRuleSpec:
        return PresenceRuleSpec.model_validate(self.model_dump(exclude={"rule_id", "last_modified"}))


class SalesforceEnvironmentSpec(_Model):
    """The Salesforce org an account mapping connects to; ``consumer_secret`` None on update = keep."""

    name: str
    instance_url: str = Field(alias="instanceUrl")
    consumer_key: str = Field(alias="consumerKey")
    consumer_secret: SecretStr | None = Field(default=None, alias="consumerSecret")

    def payload(self) -> dict[str, Any]:
        body = super().payload()
        body.pop("consumerSecret", None)
        if self.consumer_secret is not None:
            body["consumerSecret"] = self.consumer_secret.get_secret_value()
        return body


class SalesforceEnvironment(_Model):
    """As read back: whether a consumer secret is stored, never the secret."""

    name: str
    instance_url: str = Field(alias="instanceUrl")
    consumer_key: str = Field(alias="consumerKey")
    has_consumer_secret: bool = Field(default=False, alias="hasConsumerSecret")


class AccountMappingSpec(_Model):
    name: str
    access_key_agent_id: int = Field(alias="accessKeyAgentId")
    salesforce_environment: SalesforceEnvironmentSpec = Field(alias="salesforceEnvironment")
    is_selected: bool = Field(default=True, alias="isSelected")

    def payload(self) -> dict[str, Any]:
        body = super().payload()
        body["salesforceEnvironment"] = self.salesforce_environment.payload()
        return body


class AccountMapping(_Model):
    mapping_id: int | str = Field(alias="mappingId")
    name: str
    access_key_agent_id: int = Field(alias="accessKeyAgentId")
    access_key_id: str | None = Field(default=None, alias="accessKeyId")
    salesforce_environment: SalesforceEnvironment = Field(alias="salesforceEnvironment")
    is_selected: bool = Field(default=False, alias="isSelected")
    last_modified: str | None = Field(default=None, alias="lastModified")


class CreatedAccountMapping(_Model):
    mapping: AccountMapping
    access_key_secret: SecretStr | None = None


class PresenceSyncConfig:
    """Account mappings and presence rules for one partner platform, through a ``CxoneClient``."""

    def __init__(self, client: CxoneClient, partner: str = "salesforce") -> None:
        self._client = client
        self.partner = partner

    def _url(self, path: str) -> str:
        return f"{self._client.api_base}/adapter-apis/v1/{self.partner}/{path}"

    def _call(self, method: str, path: str, operation: str, about: str, body: Any = None) -> Any:
        return self._client.request(method, self._url(path), operation, about, body=body)

    # -- account mappings -----------------------------------------------------------------------

    def list_account_mappings(self) -> list[AccountMapping]:
        body = self._call("GET", "account-mappings", "list_account_mappings", "account mappings")
        return [AccountMapping.model_validate(row) for row in (body or {}).get("accountMappings") or []]

    def get_account_mapping(self, mapping_id: int | str) -> AccountMapping | None:
        try:
            body = self._call(
                "GET", f"account-mappings/{mapping_id}", "get_account_mapping", f"account mapping {mapping_id}"
            )
        except NotFound:
            return None
        return AccountMapping.model_validate(body)

    def find_account_mapping(self, name: str) -> AccountMapping | None:
        return next((m for m in self.list_account_mappings() if m.name == name), None)

    def create_account_mapping(self, spec: AccountMappingSpec) -> CreatedAccountMapping:
        about = f"account mapping {spec.name!r}"
        secret = spec.salesforce_environment.consumer_secret
        if secret is not None:
            self._client._redact.add(secret.get_secret_value())
        body = self._call("POST", "account-mappings", "create_account_mapping", about, spec.payload())
        access_key_secret = (body or {}).get("accessKeySecret")
        self._client._redact.add(access_key_secret)
        return CreatedAccountMapping(
            mapping=AccountMapping.model_validate(body),
            access_key_secret=SecretStr(access_key_secret) if access_key_secret else None,
        )

    def update_account_mapping(self, mapping_id: int | str, spec: AccountMappingSpec) -> AccountMapping:
        """Replace name, environment and selection; a None consumer secret keeps the stored one."""
        about = f"account mapping {mapping_id} ({spec.name!r})"
        secret = spec.salesforce_environment.consumer_secret
        if secret is not None:
            self._client._redact.add(secret.get_secret_value())
        body = self._call("PUT", f"account-mappings/{mapping_id}", "update_account_mapping", about, spec.payload())
        return AccountMapping.model_validate(body)

    def delete_account_mapping(self, mapping_id: int | str) -> None:
        """Delete; already gone is success."""
        try:
            self._call(
                "DELETE", f"account-mappings/{mapping_id}", "delete_account_mapping", f"account mapping {mapping_id}"
            )
        except NotFound:
            return

    # -- presence rules -------------------------------------------------------------------------

    def list_presence_rules(self) -> list[PresenceRule]:
        body = self._call("GET", "presence-rules", "list_presence_rules", "presence rules")
        return [PresenceRule.model_validate(row) for row in (body or {}).get("presenceRules") or []]

    def get_presence_rule(self, rule_id: int | str) -> PresenceRule | None:
        try:
            body = self._call("GET", f"presence-rules/{rule_id}", "get_presence_rule", f"presence rule {rule_id}")
        except NotFound:
            return None
        return PresenceRule.model_validate(body)

    def find_presence_rule(self, name: str) -> PresenceRule | None:
        return next((r for r in self.list_presence_rules() if r.name == name), None)

    def create_presence_rule(self, spec: PresenceRuleSpec) -> PresenceRule:
        body = self._call(
            "POST", "presence-rules", "create_presence_rule", f"presence rule {spec.name!r}", spec.payload()
        )
        return PresenceRule.model_validate(body)

    def update_presence_rule(self, rule_id: int | str, spec: PresenceRuleSpec) -> PresenceRule:
        about = f"presence rule {rule_id} ({spec.name!r})"
        body = self._call("PUT", f"presence-rules/{rule_id}", "update_presence_rule", about, spec.payload())
        return PresenceRule.model_validate(body)

    def delete_presence_rule(self, rule_id: int | str) -> None:
        """Delete; already gone is success."""
        try:
            self._call("DELETE", f"presence-rules/{rule_id}", "delete_presence_rule", f"presence rule {rule_id}")
        except NotFound:
            return

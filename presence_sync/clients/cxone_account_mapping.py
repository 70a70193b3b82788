"""CXone account mappings (Adapters > Account Mapping): the only code that reads or writes them. A MODEL, not a
public API: see ``cxone_adapters`` for why, and for the paths under ``{api_base}/adapter-apis/v1/{partner}/``:

* ``account-mappings``              GET list ``{"accountMappings": [...]}`` / POST create (201)
* ``account-mappings/{mappingId}``  GET (never returns secrets) / PUT (``consumerSecret`` optional =
                                     keep; ``accessKeyAgentId`` immutable -> 400) / DELETE

An account mapping's create answer is the only one carrying ``accessKeySecret`` (the access key CXone made for
the mapping's user); it is returned as a ``SecretStr`` beside the mapping, and redacted from every error.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr

from presence_sync.clients.cxone_session import AdapterModel, CxoneSession

__all__ = [
    "AccountMapping",
    "AccountMappingProxy",
    "AccountMappingSpec",
    "CreatedAccountMapping",
    "SalesforceEnvironment",
    "SalesforceEnvironmentSpec",
]

_CACHE_KEY = "account-mappings"


class SalesforceEnvironmentSpec(AdapterModel):
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


class SalesforceEnvironment(AdapterModel):
    """As read back: whether a consumer secret is stored, never the secret."""

    name: str
    instance_url: str = Field(alias="instanceUrl")
    consumer_key: str = Field(alias="consumerKey")
    has_consumer_secret: bool = Field(default=False, alias="hasConsumerSecret")


class AccountMappingSpec(AdapterModel):
    name: str
    access_key_agent_id: int = Field(alias="accessKeyAgentId")
    salesforce_environment: SalesforceEnvironmentSpec = Field(alias="salesforceEnvironment")
    is_selected: bool = Field(default=True, alias="isSelected")

    def payload(self) -> dict[str, Any]:
        body = super().payload()
        body["salesforceEnvironment"] = self.salesforce_environment.payload()
        return body


class AccountMapping(AdapterModel):
    mapping_id: int | str = Field(alias="mappingId")
    name: str
    access_key_agent_id: int = Field(alias="accessKeyAgentId")
    access_key_id: str | None = Field(default=None, alias="accessKeyId")
    salesforce_environment: SalesforceEnvironment = Field(alias="salesforceEnvironment")
    is_selected: bool = Field(default=False, alias="isSelected")
    last_modified: str | None = Field(default=None, alias="lastModified")


class CreatedAccountMapping(AdapterModel):
    mapping: AccountMapping
    access_key_secret: SecretStr | None = None


class AccountMappingProxy:
    """Account mappings for one partner platform (the session's ``partner``)."""

    def __init__(self, session: CxoneSession) -> None:
        self.session = session

    def cached_account_mappings(self) -> list[AccountMapping]:
        """``list_account_mappings`` once per process; dropped by this proxy's writes."""
        return self.session.cached(_CACHE_KEY, self.list_account_mappings)

    def list_account_mappings(self) -> list[AccountMapping]:
        about = "account mappings"
        body = self.session.adapters_call("GET", "account-mappings", "list_account_mappings", about, listed=_CACHE_KEY)
        return [AccountMapping.model_validate(row) for row in (body or {}).get("accountMappings") or []]

    def get_account_mapping(self, mapping_id: int | str) -> AccountMapping | None:
        path, about = f"account-mappings/{mapping_id}", f"account mapping {mapping_id}"
        body = self.session.adapters_get_or_gone(path, "get_account_mapping", about, listed=_CACHE_KEY)
        return None if body is None else AccountMapping.model_validate(body)

    def find_account_mapping(self, name: str) -> AccountMapping | None:
        return next((m for m in self.list_account_mappings() if m.name == name), None)

    def create_account_mapping(self, spec: AccountMappingSpec) -> CreatedAccountMapping:
        about = f"account mapping {spec.name!r}"
        secret = spec.salesforce_environment.consumer_secret
        if secret is not None:
            self.session.redact_secret(secret.get_secret_value())
        body = self.session.adapters_call(
            "POST", "account-mappings", "create_account_mapping", about, spec.payload(), listed=_CACHE_KEY
        )
        access_key_secret = (body or {}).get("accessKeySecret")
        self.session.redact_secret(access_key_secret)
        return CreatedAccountMapping(
            mapping=AccountMapping.model_validate(body),
            access_key_secret=SecretStr(access_key_secret) if access_key_secret else None,
        )

    def update_account_mapping(self, mapping_id: int | str, spec: AccountMappingSpec) -> AccountMapping:
        """Replace name, environment and selection; a None consumer secret keeps the stored one."""
        about = f"account mapping {mapping_id} ({spec.name!r})"
        secret = spec.salesforce_environment.consumer_secret
        if secret is not None:
            self.session.redact_secret(secret.get_secret_value())
        path = f"account-mappings/{mapping_id}"
        body = self.session.adapters_call(
            "PUT", path, "update_account_mapping", about, spec.payload(), listed=_CACHE_KEY
        )
        return AccountMapping.model_validate(body)

    def delete_account_mapping(self, mapping_id: int | str) -> None:
        """Delete; already gone is success."""
        path, about = f"account-mappings/{mapping_id}", f"account mapping {mapping_id}"
        self.session.adapters_delete(path, "delete_account_mapping", about, listed=_CACHE_KEY)

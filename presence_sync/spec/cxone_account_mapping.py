"""The CXone account mapping in the spec (``cxone.accountMapping``): its model, its checks, and how a live mapping
becomes a spec entry. The same name in every layer: the tenant's calls are in
``presence_sync/clients/cxone_account_mapping.py``, the provider in ``providers/``, the resource in ``resources/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .base import Issue, Path, SpecModel, StrictBool, blank, email_issue, url_issue

if TYPE_CHECKING:
    from presence_sync.clients.cxone_account_mapping import AccountMapping as LiveMapping

__all__ = [
    "AccountMapping",
    "MappingChoiceError",
    "SalesforceEnvironment",
    "check_account_mapping",
    "chosen_mapping",
    "exported_mapping",
]


class SalesforceEnvironment(SpecModel):
    name: str = Field(description="Name of the Salesforce environment in the CXone account mapping.")
    instance_url: str = Field(description="https URL of the org, e.g. https://example.my.salesforce.com.")


class AccountMapping(SpecModel):
    """CXone Adapters > Account Mapping to the Salesforce org."""

    name: str = Field(description="Account mapping name.")
    access_key_user: str = Field(
        description="E-mail of the CXone user the access key belongs to; must stay active, or the mapping stops."
    )
    salesforce_environment: SalesforceEnvironment
    adopt: StrictBool = Field(default=False, description="Take over a mapping that already exists instead of failing.")


def check_account_mapping(mapping: AccountMapping) -> list[Issue]:
    at: Path = ("cxone", "accountMapping")
    issues: list[Issue] = []
    if blank(mapping.name):
        issues.append(Issue((*at, "name"), "account mapping name is empty"))
    issues += email_issue((*at, "accessKeyUser"), mapping.access_key_user, "accessKeyUser")
    env = mapping.salesforce_environment
    if blank(env.name):
        issues.append(Issue((*at, "salesforceEnvironment", "name"), "Salesforce environment name is empty"))
    issues += url_issue((*at, "salesforceEnvironment", "instanceUrl"), env.instance_url, "instanceUrl")
    return issues


class MappingChoiceError(ValueError):
    """The tenant's mappings do not say which one the spec is about; the message says how to name it."""


def chosen_mapping(mappings: Sequence[LiveMapping], name: str | None) -> LiveMapping:
    """The mapping to export: the one named, else the only one, else the only selected one."""
    known = ", ".join(sorted(m.name for m in mappings)) or "none"
    if name is not None:
        found = [m for m in mappings if m.name == name]
        if not found:
            raise MappingChoiceError(f"no CXone account mapping named {name!r}; mappings: {known}")
        return found[0]
    if len(mappings) == 1:
        return mappings[0]
    selected = [m for m in mappings if m.is_selected]
    if len(selected) == 1:
        return selected[0]
    raise MappingChoiceError(
        f"cannot tell which CXone account mapping to export (mappings: {known}); name one with --account-mapping"
    )


def exported_mapping(mapping: LiveMapping, emails: Mapping[int, str | None]) -> dict[str, Any]:
    """The live mapping as a spec entry that adopts it; its access-key user by e-mail."""
    access_key_user = emails.get(mapping.access_key_agent_id)
    if not access_key_user:
        raise MappingChoiceError(
            f"account mapping {mapping.name!r}: its access-key user (agent {mapping.access_key_agent_id}) has "
            "no e-mail in CXone, and the spec names that user by e-mail"
        )
    return {
        "adopt": True,
        "name": mapping.name,
        "accessKeyUser": access_key_user,
        "salesforceEnvironment": {
            "name": mapping.salesforce_environment.name,
            "instanceUrl": mapping.salesforce_environment.instance_url,
        },
    }

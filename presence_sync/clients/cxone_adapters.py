"""CXone Presence Sync configuration: account mappings and presence rules. A MODEL, not a public API.

NICE publishes no REST API for the Adapters app's Presence Sync settings (vendor-apis.md §7g): they
are configured in the UI. presence-sync models them in the shape NICE's own SDK reads
(``adapter-apis/v1/{partner}/rule/{partnerId}``: ``publisherStateMap``/``subscriberStateMap`` of
``{incontactAgentState, partnerAgentState}``) so that this one
module can be pointed at the real service if it is ever exposed; the sandbox implements exactly this
contract. Each kind's paths and payloads live in its proxy: ``cxone_account_mapping`` and ``presence_rule``;
this module gathers them under the names tools and benchmarks use.

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

from presence_sync.clients.cxone_account_mapping import (
    AccountMapping,
    AccountMappingProxy,
    AccountMappingSpec,
    CreatedAccountMapping,
    SalesforceEnvironment,
    SalesforceEnvironmentSpec,
)
from presence_sync.clients.presence_rule import (
    PresenceRule,
    PresenceRuleProxy,
    PresenceRuleSpec,
    StateMapping,
)

__all__ = [
    "AccountMapping",
    "AccountMappingSpec",
    "CreatedAccountMapping",
    "PresenceRule",
    "PresenceRuleSpec",
    "PresenceSyncConfig",
    "SalesforceEnvironment",
    "SalesforceEnvironmentSpec",
    "StateMapping",
]


class PresenceSyncConfig(AccountMappingProxy, PresenceRuleProxy):
    """Both kinds' proxies on one CXone session (account mappings and presence rules of one partner)."""

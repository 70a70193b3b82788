"""CXone presence rules (the Adapters app's Presence Sync rules): the only code that reads or writes them.

The rule's shape is the one NICE's own agent SDK reads (``@nice-devone/agent-sdk``,
``PresenceSyncService.getPresenceSyncRule``: ``GET /adapter-apis/v1/{partner}/rule/{partnerId}``, parsing
``publisherStateMap[]`` / ``subscriberStateMap[]`` items ``{incontactAgentState, partnerAgentState}``;
docs/apis.md). The writes are OUR MODEL (NICE publishes none; see ``cxone_adapters``), shaped like that read.
Paths under ``{api_base}/adapter-apis/v1/{partner}/``:

* ``presence-rules``                GET list ``{"presenceRules": [...]}`` / POST create (201)
* ``presence-rules/{ruleId}``       GET / PUT / DELETE

The strings (a decision where the SDK only passes them through, docs/presence-rules.md): ``incontactAgentState``
is a CXone state name (``Available``, ``Unavailable``, ``LoggedOut``, ...) or an unavailable code's name;
``partnerAgentState`` is a ServicePresenceStatus id; ``PreviousState`` as a target is "the state before the rule
last changed it". ``isActive`` false: stored, but NICE's engine does not apply it (``runtime.engine:
presence-sync``).
"""

from __future__ import annotations

from pydantic import Field

from presence_sync.clients.cxone_session import AdapterModel, CxoneSession

__all__ = [
    "PresenceRule",
    "PresenceRuleProxy",
    "PresenceRuleSpec",
    "StateMapping",
]

_CACHE_KEY = "presence-rules"


class StateMapping(AdapterModel):
    """One line of a rule's map, as NICE's SDK reads it."""

    incontact_agent_state: str = Field(alias="incontactAgentState")
    partner_agent_state: str = Field(alias="partnerAgentState")


class PresenceRuleSpec(AdapterModel):
    name: str
    priority: int = 0
    is_active: bool = Field(default=True, alias="isActive")
    publisher_state_map: list[StateMapping] = Field(default_factory=list, alias="publisherStateMap")
    subscriber_state_map: list[StateMapping] = Field(default_factory=list, alias="subscriberStateMap")
    team_ids: list[int] = Field(default_factory=list, alias="teamIds")
    agent_ids: list[int] = Field(default_factory=list, alias="agentIds")


class PresenceRule(PresenceRuleSpec):
    rule_id: int | str = Field(alias="ruleId")
    last_modified: str | None = Field(default=None, alias="lastModified")

    def spec(self) -> PresenceRuleSpec:
        return PresenceRuleSpec.model_validate(self.model_dump(exclude={"rule_id", "last_modified"}))


class PresenceRuleProxy:
    """Presence rules for one partner platform (the session's ``partner``)."""

    def __init__(self, session: CxoneSession) -> None:
        self.session = session

    def cached_presence_rules(self) -> list[PresenceRule]:
        """``list_presence_rules`` once per process; dropped by this proxy's writes."""
        return self.session.cached(_CACHE_KEY, self.list_presence_rules)

    def list_presence_rules(self) -> list[PresenceRule]:
        about = "presence rules"
        body = self.session.adapters_call("GET", "presence-rules", "list_presence_rules", about, listed=_CACHE_KEY)
        return [PresenceRule.model_validate(row) for row in (body or {}).get("presenceRules") or []]

    def get_presence_rule(self, rule_id: int | str) -> PresenceRule | None:
        path, about = f"presence-rules/{rule_id}", f"presence rule {rule_id}"
        body = self.session.adapters_get_or_gone(path, "get_presence_rule", about, listed=_CACHE_KEY)
        return None if body is None else PresenceRule.model_validate(body)

    def find_presence_rule(self, name: str) -> PresenceRule | None:
        return next((r for r in self.list_presence_rules() if r.name == name), None)

    def create_presence_rule(self, spec: PresenceRuleSpec) -> PresenceRule:
        about = f"presence rule {spec.name!r}"
        body = self.session.adapters_call(
            "POST", "presence-rules", "create_presence_rule", about, spec.payload(), listed=_CACHE_KEY
        )
        return PresenceRule.model_validate(body)

    def update_presence_rule(self, rule_id: int | str, spec: PresenceRuleSpec) -> PresenceRule:
        about = f"presence rule {rule_id} ({spec.name!r})"
        path, payload = f"presence-rules/{rule_id}", spec.payload()
        body = self.session.adapters_call("PUT", path, "update_presence_rule", about, payload, listed=_CACHE_KEY)
        return PresenceRule.model_validate(body)

    def delete_presence_rule(self, rule_id: int | str) -> None:
        """Delete; already gone is success."""
        path, about = f"presence-rules/{rule_id}", f"presence rule {rule_id}"
        self.session.adapters_delete(path, "delete_presence_rule", about, listed=_CACHE_KEY)

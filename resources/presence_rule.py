"""`cxone:PresenceRule`: one presence rule of the spec, in the spec's own notation."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.models import PresenceRule as PresenceRuleSpec
from providers.presence_rule import PresenceRuleProvider
from resources.profile_presence_access import slug


class PresenceRule(Resource, module="cxone", name="PresenceRule"):
    @property
    def rule_id(self) -> pulumi.Output[str]:
        return self.ruleId  # type: ignore[attr-defined]

    def __init__(
        self,
        rule: PresenceRuleSpec,
        opts: pulumi.ResourceOptions | None = None,
        *,
        location: str | None = None,
        active: bool = True,
    ) -> None:
        """``active``: whether NICE's engine applies the rule (``runtime.engine: nice``); false stores it inactive."""
        props: dict[str, Any] = {
            "name": rule.name,
            "priority": rule.priority,
            "active": active,
            "publisher": [{"acd": line.acd, "salesforce": line.salesforce} for line in rule.publisher],
            "subscriber": [{"acd": line.acd, "salesforce": line.salesforce} for line in rule.subscriber],
            "teams": list(rule.teams),  # the provider's check normalises (sorts, de-duplicates) them
            "users": list(rule.users),
            "adopt": rule.adopt,
            "providerVersion": PresenceRuleProvider.version,
            "specLocation": location,  # for messages only (never compared)
            "ruleId": None,
            "teamIds": None,
            "agentIds": None,
        }
        super().__init__(PresenceRuleProvider(), f"rule-{slug(rule.name)}", props, opts)

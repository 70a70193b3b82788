"""CXone presence rule: which ACD states show which Salesforce status (publisher), which Salesforce status sets
which ACD state (subscriber), with "previous state" targets, for teams and users.

Inputs keep the spec's notation (``Available``, ``Unavailable:Break``, ``previous``; status developer names;
team names; user e-mails) so that previews and drift read like the spec. Names are resolved to CXone ids at
plan time (``check``), failing with the valid names, and a rule may only use unavailable codes assigned to
every team it covers (CXone: "agent states are unavailable codes; you must apply these codes to teams").
Salesforce status ids are resolved when writing, because a status created in the same run has no id at
plan time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pydantic import BaseModel, field_validator

from presence_sync.clients.presence_rule import PresenceRule, PresenceRuleProxy, PresenceRuleSpec, StateMapping
from presence_sync.gitops.fingerprint import APPLIED_INPUTS
from presence_sync.spec.acd import PREVIOUS, AcdNotationError, parse_acd
from presence_sync.spec.presence_rule import PREVIOUS_STATE, acd_item, acd_notation, status_name
from providers import context, lookups
from providers.base import CheckContext, ProviderError, ProviderInputs, SpecProvider, Written


class MapLine(BaseModel):
    acd: str
    salesforce: str


class PresenceRuleInputs(ProviderInputs):
    name: str
    priority: int = 0
    active: bool = True  # for NICE's engine: runtime.engine nice (false: stored, not applied)
    publisher: list[MapLine] = []
    subscriber: list[MapLine] = []
    teams: list[str] = []
    users: list[str] = []

    @field_validator("teams", "users")
    @classmethod
    def _sorted(cls, names: list[str]) -> list[str]:
        return sorted(set(names))


# -- spec notation <-> the rule as NICE's SDK reads it ------------------------------------------------------


def to_payload(inputs: PresenceRuleInputs) -> PresenceRuleSpec:
    """Spec notation -> the live rule: ACD states by state or code name, statuses by id (resolved now, because a
    status created in the same run has no id at plan time)."""
    names = sorted({line.salesforce for line in [*inputs.publisher, *inputs.subscriber]} - {PREVIOUS})
    ids = {**lookups.salesforce_status_ids(names), PREVIOUS: PREVIOUS_STATE}
    for side in ("publisher", "subscriber"):
        lines = getattr(inputs, side)
        wrong = "salesforce" if side == "subscriber" else "acd"
        if any(getattr(line, wrong) == PREVIOUS for line in lines):
            raise ProviderError(f"presence rule {inputs.name!r}: 'previous' cannot be a {side} source")
    return PresenceRuleSpec(
        name=inputs.name,
        priority=inputs.priority,
        is_active=inputs.active,
        publisher_state_map=[
            StateMapping(incontact_agent_state=acd_item(line.acd), partner_agent_state=ids[line.salesforce])
            for line in inputs.publisher
        ],
        subscriber_state_map=[
            StateMapping(incontact_agent_state=acd_item(line.acd), partner_agent_state=ids[line.salesforce])
            for line in inputs.subscriber
        ],
        team_ids=sorted(lookups.team_by_name(team).team_id for team in inputs.teams),
        agent_ids=sorted(lookups.agent_by_email(user).agent_id for user in inputs.users),
    )


def status_names(names: Iterable[str]) -> dict[str, str]:
    """Status id -> developer name, for the statuses among ``names`` (those the spec or the state speaks of) that
    exist; an id outside them reads back as ``#<id>``, which shows as drift."""
    found: dict[str, str] = {}
    for name in sorted(set(names) - {PREVIOUS}):
        try:
            found.update(lookups.salesforce_status_ids([name]))
        except ProviderError:
            continue  # gone from the org: the rule's id for it reads back as #<id>
    return {status_id: name for name, status_id in found.items()}


def rule_outputs(rule: PresenceRule, names: Iterable[str]) -> dict[str, Any]:
    """The live rule in the spec's notation; ``names``: the status developer names to read its ids back as."""
    teams = {team.team_id: team.team_name for team in lookups.teams()}
    emails = {agent.agent_id: agent.email for agent in lookups.agents()}
    statuses = status_names(names)

    def lines(items: list[StateMapping]) -> list[dict[str, str]]:
        return [
            {"acd": acd_notation(m.incontact_agent_state), "salesforce": status_name(m.partner_agent_state, statuses)}
            for m in items
        ]

    return {
        "ruleId": str(rule.rule_id),
        "name": rule.name,
        "priority": rule.priority,
        "active": rule.is_active,
        "publisher": lines(rule.publisher_state_map),
        "subscriber": lines(rule.subscriber_state_map),
        "teams": sorted(teams.get(team_id, f"#{team_id}") for team_id in rule.team_ids),
        "users": sorted(emails.get(agent_id) or f"#{agent_id}" for agent_id in rule.agent_ids),
        "teamIds": sorted(rule.team_ids),
        "agentIds": sorted(rule.agent_ids),
    }


def _names(props: Mapping[str, Any]) -> list[str]:
    return [line["salesforce"] for side in ("publisher", "subscriber") for line in props.get(side) or []]


def dangling_named(outputs: Mapping[str, Any], applied: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """A line whose status id is not the id of the status applied there (``#<id>``) says which status and which
    ids: ``Busy (id X no longer exists)``, or ``Busy (id X, not Busy's id Y)`` when Busy was made again. It is
    drift, and `up` repairs it by writing the id the status of that name has now."""
    named: dict[str, list[dict[str, str]]] = {}
    for side in ("publisher", "subscriber"):
        before = [line.get("salesforce") for line in applied.get(side) or [] if isinstance(line, Mapping)]
        lines = []
        for index, line in enumerate(outputs[side]):
            value = line["salesforce"]
            was = before[index] if index < len(before) else None
            if value.startswith("#") and isinstance(was, str) and not was.startswith("#") and was != PREVIOUS:
                value = _stale(was.split(" (id ")[0], value[1:])
            lines.append({**line, "salesforce": value})
        named[side] = lines
    return named


def _stale(name: str, status_id: str) -> str:
    try:
        now = lookups.salesforce_status_ids([name])[name]
    except ProviderError:
        return f"{name} (id {status_id} no longer exists)"
    return f"{name} (id {status_id}, not {name}'s id {now})"


# -- the provider -------------------------------------------------------------------------------------


class PresenceRuleProvider(SpecProvider[PresenceRuleInputs, PresenceRuleProxy]):
    kind = "CXone presence rule"
    vendor = "tenant"
    version = "2"  # 2: the rule in the shape NICE's agent SDK reads, and isActive
    inputs_model = PresenceRuleInputs

    def make_proxy(self) -> PresenceRuleProxy:
        return PresenceRuleProxy(context.cxone())

    def describe(self, inputs: PresenceRuleInputs) -> str:
        return f"{self.kind} {inputs.name!r}"

    def plan_checks(self, inputs: PresenceRuleInputs, found: CheckContext) -> list[CheckFailure]:
        failures: list[CheckFailure] = []
        team_ids: list[int] = []
        for team in inputs.teams:
            try:
                team_ids.append(lookups.team_by_name(team).team_id)
            except ProviderError as error:
                failures.append(CheckFailure("", f"{self.describe(inputs)}: teams: {error}"))
        for user in inputs.users:
            try:
                agent = lookups.agent_by_email(user)
            except ProviderError as error:
                failures.append(CheckFailure("", f"{self.describe(inputs)}: users: {error}"))
                continue
            if agent.team_id is not None:
                team_ids.append(agent.team_id)
        for side in ("publisher", "subscriber"):
            for index, line in enumerate(getattr(inputs, side)):
                failures += self._check_acd(
                    f"{self.describe(inputs)}: {side}[{index}].acd", line.acd, sorted(set(team_ids))
                )
        return failures

    @staticmethod
    def _check_acd(path: str, notation: str, team_ids: list[int]) -> list[CheckFailure]:
        try:
            target = parse_acd(notation)
        except AcdNotationError as error:
            return [CheckFailure("", f"{path}: {error}")]
        if target == PREVIOUS or isinstance(target, str) or target.code is None:
            return []
        try:
            code = lookups.code_by_name(target.code)
        except ProviderError as error:
            return [CheckFailure("", f"{path}: {error}")]
        teams = {team.team_id: team.team_name for team in lookups.teams()}
        missing = [teams.get(t, f"#{t}") for t in team_ids if code.id not in lookups.team_code_ids(t)]
        if missing:
            return [
                CheckFailure(
                    "",
                    f"{path}: unavailable code {target.code!r} is not assigned to team(s) {', '.join(missing)}; "
                    "assign it to them in CXone (ACD > Teams > Unavailable Codes) or use another code",
                )
            ]
        return []

    def find_existing(self, inputs: PresenceRuleInputs) -> tuple[str, dict[str, Any]] | None:
        found = [rule for rule in self.proxy.cached_presence_rules() if rule.name == inputs.name]
        return None if not found else (str(found[0].rule_id), rule_outputs(found[0], _names(inputs.model_dump())))

    def create_object(self, inputs: PresenceRuleInputs) -> Written:
        rule = self.proxy.create_presence_rule(to_payload(inputs))
        return Written(str(rule.rule_id))

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: PresenceRuleInputs) -> Written:
        self.proxy.update_presence_rule(id_, to_payload(inputs))
        return Written(id_)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        found = [rule for rule in self.proxy.cached_presence_rules() if str(rule.rule_id) == id_]
        if not found:
            return None
        applied = props.get(APPLIED_INPUTS) or {}
        outputs = rule_outputs(found[0], [*_names(props), *_names(applied)])
        return {**outputs, **dangling_named(outputs, applied or props)}

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        self.proxy.delete_presence_rule(id_)

"""A CXone presence rule in the spec (``cxone.presenceRules[]``): its model, its checks (maps, sources, targets,
codes, precedence, oscillation), and how a live rule becomes a spec entry. The same name in every layer: the
tenant's calls are in ``presence_sync/clients/presence_rule.py``, the provider in ``providers/``, the resource in
``resources/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .acd import PREVIOUS, SYSTEM_STATES, AcdNotationError, AcdState, AcdTarget, parse_acd
from .base import (
    Issue,
    Path,
    SpecModel,
    StatusNames,
    StrictBool,
    StrictInt,
    blank,
    duplicates,
    email_issue,
    suggest,
    unknown_status,
)
from .oscillation import find_cycles
from .text import shown as _q

if TYPE_CHECKING:
    from presence_sync.clients.presence_rule import PresenceRule as LiveRule

__all__ = [
    "PREVIOUS_STATE",
    "MapEntry",
    "PresenceRule",
    "ResolvedRule",
    "acd_item",
    "acd_notation",
    "check_rules",
    "exported_rule",
    "status_name",
]

_ACD_PATTERN = "^(previous|" + "|".join(SYSTEM_STATES) + "|Unavailable:\\S(.*\\S)?)$"


class MapEntry(SpecModel):
    """One line of a state map. In `publisher` the ACD state is the source, in `subscriber` the target."""

    acd: str = Field(
        description="ACD state: a system state (Available, ...), 'Unavailable:<code name>', or 'previous'.",
        json_schema_extra={"pattern": _ACD_PATTERN},
    )
    salesforce: str = Field(description="Presence status developer name, or 'previous'.")

    @property
    def acd_state(self) -> AcdTarget:
        """The parsed ACD side (valid once the spec has passed `checks`)."""
        return parse_acd(self.acd)


class ResolvedRule(BaseModel):
    """A rule as plain data for providers and the runtime: maps keyed by source, in spec order."""

    model_config = ConfigDict(frozen=True)

    name: str
    priority: int
    direction: Literal["publisher", "subscriber", "bidirectional"]
    publisher: dict[str, str]  # ACD state (notation) -> status developer name or "previous"
    subscriber: dict[str, str]  # status developer name -> ACD state (notation) or "previous"
    teams: tuple[str, ...]
    users: tuple[str, ...]


class PresenceRule(SpecModel):
    """A CXone presence rule: which states map between the systems, for which teams and users."""

    name: str = Field(description="Rule name, unique in the spec.")
    priority: StrictInt = Field(
        default=0,
        ge=0,
        description="Lower wins when several team rules cover one agent. User-level rules beat team rules.",
    )
    publisher: tuple[MapEntry, ...] = Field(default=(), description="CXone ACD state -> Salesforce status.")
    subscriber: tuple[MapEntry, ...] = Field(default=(), description="Salesforce status -> CXone ACD state.")
    teams: tuple[str, ...] = Field(default=(), description="CXone team names the rule applies to.")
    users: tuple[str, ...] = Field(default=(), description="CXone user e-mails the rule applies to (beats team rules).")
    adopt: StrictBool = Field(default=False, description="Take over a rule that already exists instead of failing.")

    @property
    def direction(self) -> Literal["publisher", "subscriber", "bidirectional", "none"]:
        if self.publisher and self.subscriber:
            return "bidirectional"
        if self.publisher:
            return "publisher"
        return "subscriber" if self.subscriber else "none"

    def publisher_map(self) -> dict[AcdState, str]:
        """ACD source -> status developer name or "previous" (sources are never "previous" once checked)."""
        return {state: e.salesforce for e in self.publisher if isinstance(state := e.acd_state, AcdState)}

    def subscriber_map(self) -> dict[str, AcdTarget]:
        return {e.salesforce: e.acd_state for e in self.subscriber if e.salesforce != PREVIOUS}

    def resolved(self) -> ResolvedRule:
        direction = self.direction
        if direction == "none":
            raise ValueError(f"rule {self.name!r} has no map")
        return ResolvedRule(
            name=self.name,
            priority=self.priority,
            direction=direction,
            publisher={e.acd: e.salesforce for e in self.publisher},
            subscriber={e.salesforce: e.acd for e in self.subscriber},
            teams=self.teams,
            users=self.users,
        )


def check_rules(rules: Sequence[PresenceRule], codes: Sequence[str], statuses: StatusNames | None) -> list[Issue]:
    """cxone.presenceRules: each rule, unique names, one priority per team or user. ``statuses`` is None when
    the salesforce section did not parse: status references are then not checked."""
    issues: list[Issue] = []
    for i, rule in enumerate(rules):
        issues += _check_rule(("cxone", "presenceRules", i), rule, codes, statuses)
    names = [rule.name for rule in rules]
    for i, first in duplicates(names):
        issues.append(
            Issue(
                ("cxone", "presenceRules", i, "name"),
                f"rule name {_q(names[i])} is used twice (also presenceRules[{first}])",
                "rule names are unique; rename one",
            )
        )
    issues += _check_precedence(rules, "teams", "team")
    issues += _check_precedence(rules, "users", "user")
    return issues


def _parse(path: Path, text: str, issues: list[Issue]) -> AcdTarget | None:
    try:
        return parse_acd(text)
    except AcdNotationError as exc:
        issues.append(Issue(path, exc.message, exc.hint))
        return None


def _check_code_known(path: Path, state: AcdTarget | None, codes: Sequence[str]) -> list[Issue]:
    if not isinstance(state, AcdState) or state.code is None or state.code in codes:
        return []
    return [
        Issue(
            path,
            f"unavailable code {_q(state.code)} is not listed in cxone.existingUnavailableCodes",
            suggest(state.code, codes, f"Add {_q(state.code)} to cxone.existingUnavailableCodes if the tenant has it"),
        )
    ]


def _check_rule(at: Path, rule: PresenceRule, codes: Sequence[str], statuses: StatusNames | None) -> list[Issue]:
    issues: list[Issue] = []
    if blank(rule.name):
        issues.append(Issue((*at, "name"), "rule name is empty"))
    if rule.direction == "none":
        issues.append(
            Issue(
                at,
                f"rule {_q(rule.name)} has neither a publisher nor a subscriber map",
                "add publisher (CXone -> Salesforce) and/or subscriber (Salesforce -> CXone) entries",
            )
        )
    if not rule.teams and not rule.users:
        issues.append(
            Issue(at, f"rule {_q(rule.name)} applies to no team and no user", "add teams: [...] and/or users: [...]")
        )
    for k, team in enumerate(rule.teams):
        if blank(team):
            issues.append(Issue((*at, "teams", k), "team name is empty"))
    for k, user in enumerate(rule.users):
        issues += email_issue((*at, "users", k), user, "user")
    for field, values in (("teams", rule.teams), ("users", rule.users)):
        for k, first in duplicates(values):
            issues.append(Issue((*at, field, k), f"{_q(values[k])} is listed twice (also {field}[{first}])"))

    before = len(issues)
    issues += _check_publisher(at, rule, codes, statuses)
    issues += _check_subscriber(at, rule, codes, statuses)
    if len(issues) == before and rule.publisher and rule.subscriber:
        for cycle in find_cycles(rule.publisher_map(), rule.subscriber_map()):
            issues.append(
                Issue(
                    at,
                    f"rule {_q(rule.name)}: publisher and subscriber maps never settle: {cycle.explain()}",
                    "map the states involved back to each other (make the pair inverse), drop one direction "
                    "for one of them, or use 'previous' as a target; see docs/presence-rules.md",
                )
            )
    return issues


def _check_publisher(at: Path, rule: PresenceRule, codes: Sequence[str], statuses: StatusNames | None) -> list[Issue]:
    issues: list[Issue] = []
    first: dict[AcdState, int] = {}
    for k, entry in enumerate(rule.publisher):
        here: Path = (*at, "publisher", k)
        state = _parse((*here, "acd"), entry.acd, issues)
        if state == PREVIOUS:
            issues.append(
                Issue(
                    (*here, "acd"),
                    "'previous' is a target only; it can't be a publisher source",
                    f"use an ACD state: {', '.join(SYSTEM_STATES)} or 'Unavailable:<code name>'",
                )
            )
        elif isinstance(state, AcdState):
            issues += _check_code_known((*here, "acd"), state, codes)
            if state in first:
                issues.append(
                    Issue(
                        (*here, "acd"),
                        f"ACD state {_q(entry.acd)} is mapped twice in publisher (also publisher[{first[state]}])",
                        "a source maps to one target; remove one entry",
                    )
                )
            else:
                first[state] = k
        if entry.salesforce != PREVIOUS and statuses is not None:
            issues += unknown_status((*here, "salesforce"), entry.salesforce, statuses, "Salesforce status")
    return issues


def _check_subscriber(at: Path, rule: PresenceRule, codes: Sequence[str], statuses: StatusNames | None) -> list[Issue]:
    issues: list[Issue] = []
    first: dict[str, int] = {}
    for k, entry in enumerate(rule.subscriber):
        here: Path = (*at, "subscriber", k)
        if entry.salesforce == PREVIOUS:
            issues.append(
                Issue(
                    (*here, "salesforce"),
                    "'previous' is a target only; it can't be a subscriber source",
                    "use a presence status developer name",
                )
            )
        else:
            if statuses is not None:
                issues += unknown_status((*here, "salesforce"), entry.salesforce, statuses, "Salesforce status")
            if entry.salesforce in first:
                issues.append(
                    Issue(
                        (*here, "salesforce"),
                        f"Salesforce status {_q(entry.salesforce)} is mapped twice in "
                        f"subscriber (also subscriber[{first[entry.salesforce]}])",
                        "a source maps to one target; remove one entry",
                    )
                )
            else:
                first[entry.salesforce] = k
        state = _parse((*here, "acd"), entry.acd, issues)
        if isinstance(state, AcdState):
            if not state.settable:
                issues.append(
                    Issue(
                        (*here, "acd"),
                        f"CXone can't put an agent into {_q(entry.acd)}: its agent API sets only "
                        "Available or Unavailable (with an optional code); the other states belong to the platform",
                        "map to Available, Unavailable, 'Unavailable:<code name>' or previous",
                    )
                )
            issues += _check_code_known((*here, "acd"), state, codes)
    return issues


def _check_precedence(rules: Sequence[PresenceRule], field: str, what: str) -> list[Issue]:
    """Two rules covering one team (or one user) at the same level need different priorities."""
    issues: list[Issue] = []
    owners: dict[tuple[str, int], int] = {}  # (target, priority) -> rule index
    for i, rule in enumerate(rules):
        values: tuple[str, ...] = getattr(rule, field)
        for k, value in enumerate(values):
            key = (value.casefold(), rule.priority)
            if key in owners and owners[key] != i:
                other = rules[owners[key]]
                issues.append(
                    Issue(
                        ("cxone", "presenceRules", i, field, k),
                        f"{what} {_q(value)} is covered by rules {_q(other.name)} and {_q(rule.name)} "
                        f"with the same priority {rule.priority}",
                        "give the rules different priorities (the lower number wins), or remove the "
                        f"{what} from one of them",
                    )
                )
            else:
                owners.setdefault(key, i)
    return issues


# -- export -----------------------------------------------------------------------------------------------


PREVIOUS_STATE = "PreviousState"
"""The live rules' word for a ``previous`` target (see ``presence_sync/clients/presence_rule.py``)."""


def acd_item(notation: str) -> str:
    """The spec's ACD notation as the live rule's ``incontactAgentState``: a state name, or for Unavailable with a
    code the code's name (as NICE's agent-state events carry it in ``reason``); ``previous`` -> PreviousState."""
    target = parse_acd(notation)
    if target == PREVIOUS:
        return PREVIOUS_STATE
    assert isinstance(target, AcdState)
    return target.state if target.code is None else target.code


def acd_notation(item: str) -> str:
    """The live rule's ``incontactAgentState`` in the spec's notation (the inverse of ``acd_item``)."""
    if item == PREVIOUS_STATE:
        return PREVIOUS
    return item if item in SYSTEM_STATES else f"Unavailable:{item}"


def status_name(item: str, status_names: Mapping[str, str]) -> str:
    """The live rule's ``partnerAgentState`` (a status id, compared on its 15-character form) as a developer name;
    ``PreviousState`` -> previous; an id the org does not know -> ``#<id>``."""
    if item == PREVIOUS_STATE:
        return PREVIOUS
    names = {status_id[:15]: name for status_id, name in status_names.items()}
    return names.get(item[:15], f"#{item}")


def exported_rule(
    rule: LiveRule,
    teams: Mapping[int, str],
    emails: Mapping[int, str | None],
    status_names: Mapping[str, str],
) -> dict[str, Any]:
    """The live rule as a spec entry that adopts it: teams by name, users by e-mail, statuses by developer name."""

    missing_users = [agent_id for agent_id in rule.agent_ids if not emails.get(agent_id)]
    if missing_users:
        raise ValueError(f"presence rule {rule.name!r}: CXone user(s) {missing_users} have no e-mail")
    entry: dict[str, Any] = {
        "adopt": True,
        "name": rule.name,
        "priority": rule.priority,
        # Map lines in the vendor's order: the provider compares them in order, so sorting them here would
        # make adoption rewrite the rule.
        "publisher": [
            {
                "acd": acd_notation(m.incontact_agent_state),
                "salesforce": status_name(m.partner_agent_state, status_names),
            }
            for m in rule.publisher_state_map
        ],
        "subscriber": [
            {
                "salesforce": status_name(m.partner_agent_state, status_names),
                "acd": acd_notation(m.incontact_agent_state),
            }
            for m in rule.subscriber_state_map
        ],
        "teams": sorted(teams.get(team_id, f"#{team_id}") for team_id in rule.team_ids),
        "users": sorted(str(emails[agent_id]) for agent_id in rule.agent_ids),
    }
    return {key: value for key, value in entry.items() if value != []}

"""Building the runtime's config from a spec: names resolved to ids through the vendor clients, agents matched.

``build_config(spec, resolver)`` resolves names to ids through the clients: status developer names to
``0N5...`` ids, team names to team ids, user e-mails to agent ids, and matches every CXone agent to a
Salesforce user (e-mail, case-insensitive, unless an override says otherwise). An agent that maps to
nothing is listed in ``unmatched`` -- reported, never guessed. The models it builds are in
``presence_sync/runtime_config.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, Protocol

from presence_sync.spec import PREVIOUS, PresenceSpec

from .runtime_config import (
    AgentLink,
    Budgets,
    PostgresStoreConfig,
    RuleConfig,
    RuntimeConfig,
    StatusRef,
    UnmatchedAgent,
    UserOverrideConfig,
)

__all__ = ["ClientResolver", "ConfigError", "ConfigResolver", "build_config", "match_agents"]


class _Agent(Protocol):
    agent_id: int
    email: str | None
    team_id: int | None
    is_active: bool


class _User(Protocol):
    id: str
    username: str
    email: str | None
    is_active: bool


class _Status(Protocol):
    id: str
    developer_name: str


class _Named(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


class _Team(Protocol):
    team_id: int
    team_name: str


class ConfigResolver(Protocol):
    """Where names are looked up: ``ClientResolver`` below (the vendor clients), or a fake in tests."""

    def statuses(self) -> Iterable[_Status]: ...
    def users(self) -> Iterable[_User]: ...
    def agents(self) -> Iterable[_Agent]: ...
    def teams(self) -> Iterable[_Team]: ...
    def unavailable_codes(self) -> Iterable[_Named]: ...


class ClientResolver:
    """A ``ConfigResolver`` over the two vendor clients (cached list reads where the client offers them)."""

    def __init__(self, salesforce: Any, cxone: Any) -> None:
        self._sf = salesforce
        self._cx = cxone

    def statuses(self) -> Iterable[_Status]:
        return self._sf.cached_list_presence_statuses()

    def users(self) -> Iterable[_User]:
        return self._sf.cached_list_users()

    def agents(self) -> Iterable[_Agent]:
        return self._cx.list_agents()

    def teams(self) -> Iterable[_Team]:
        return self._cx.list_teams()

    def unavailable_codes(self) -> Iterable[_Named]:
        return self._cx.list_unavailable_codes()


class ConfigError(ValueError):
    """A name in the spec resolves to nothing in the org or tenant."""


def build_config(spec: PresenceSpec, resolver: ConfigResolver, **overrides: object) -> RuntimeConfig:
    """Resolve ``spec``'s rules and user matching through ``resolver`` into a ``RuntimeConfig``.

    ``overrides`` set the fields the spec doesn't carry (``store_path``, ``metrics_port``, ``workers``...).
    Raises ``ConfigError`` naming every status, team or user that doesn't exist.
    """
    agents = list(resolver.agents())
    rules = _resolve_rules(spec, resolver, agents)
    runtime = spec.runtime
    overrides_cfg = tuple(UserOverrideConfig(cxone=o.cxone, salesforce=o.salesforce) for o in runtime.user_overrides)
    links, unmatched = match_agents(agents, list(resolver.users()), overrides_cfg)
    values: dict[str, object] = {
        "engine": runtime.engine,
        "rules": rules,
        "agents": links,
        "unmatched": unmatched,
        "unavailable_codes": {c.id: c.name for c in resolver.unavailable_codes()},
        "user_matching": runtime.user_matching,
        "user_overrides": overrides_cfg,
        "poll_interval_seconds": float(runtime.poll_interval_seconds),
        "resync_interval_seconds": float(runtime.resync_interval_seconds),
        "echo_window_seconds": float(runtime.echo_window_seconds),
        "salesforce_topic": runtime.salesforce_changes.topic,
        "salesforce_poll_fallback": runtime.salesforce_changes.poll_fallback,
        "api_budget_per_minute": Budgets(
            salesforce=runtime.api_budget_per_minute.salesforce, cxone=runtime.api_budget_per_minute.cxone
        ),
    }
    store = getattr(runtime, "store", None)
    if store is not None and store.kind == "postgres":
        values["postgres"] = PostgresStoreConfig(
            dsn_env=store.dsn_env, shards=store.shards, lease_seconds=float(store.lease_seconds)
        )
    values.update(overrides)
    return RuntimeConfig.model_validate(values)


def _resolve_rules(spec: PresenceSpec, resolver: ConfigResolver, agents: list[_Agent]) -> tuple[RuleConfig, ...]:
    """Every presence rule with its statuses, teams and users resolved to ids; ``ConfigError`` lists what is not
    there."""
    statuses = {s.developer_name: s.id for s in resolver.statuses()}
    teams = {t.team_name: t.team_id for t in resolver.teams()}
    agent_by_email = {a.email.lower(): a for a in agents if a.email}
    problems: list[str] = []

    def status(name: str) -> StatusRef | Literal["previous"]:
        if name == PREVIOUS:
            return PREVIOUS
        if name not in statuses:
            problems.append(f"presence status {name!r} does not exist in Salesforce")
            return StatusRef(status_id=f"<missing {name}>", developer_name=name)
        return StatusRef(status_id=statuses[name], developer_name=name)

    rules: list[RuleConfig] = []
    for rule in spec.cxone.presence_rules:
        publisher = {entry.acd: status(entry.salesforce) for entry in rule.publisher}
        subscriber: dict[str, str] = {}
        for entry in rule.subscriber:
            ref = status(entry.salesforce)
            if isinstance(ref, StatusRef):
                subscriber[ref.status_id] = entry.acd
        missing_teams = [team for team in rule.teams if team not in teams]
        problems += [f"rule {rule.name!r}: CXone team {team!r} does not exist" for team in missing_teams]
        missing_users = [email for email in rule.users if email.lower() not in agent_by_email]
        problems += [f"rule {rule.name!r}: no CXone agent has the e-mail {email!r}" for email in missing_users]
        rules.append(
            RuleConfig(
                name=rule.name,
                priority=rule.priority,
                publisher=publisher,
                subscriber=subscriber,
                team_ids=tuple(teams[team] for team in rule.teams if team in teams),
                agent_ids=tuple(agent_by_email[e.lower()].agent_id for e in rule.users if e.lower() in agent_by_email),
            )
        )
    if problems:
        raise ConfigError("; ".join(problems))
    return tuple(rules)


def match_agents(
    agents: Iterable[_Agent], users: Iterable[_User], overrides: Iterable[UserOverrideConfig] = ()
) -> tuple[tuple[AgentLink, ...], tuple[UnmatchedAgent, ...]]:
    """CXone agents to Salesforce users: an override (CXone e-mail -> Salesforce username) first, then the
    same e-mail (case-insensitive). Ambiguity and absence are reported, not guessed."""
    active_users = [u for u in users if u.is_active]
    by_username = {u.username.lower(): u for u in active_users}
    by_email: dict[str, list[_User]] = {}
    for user in active_users:
        if user.email:
            by_email.setdefault(user.email.lower(), []).append(user)
    forced = {o.cxone.lower(): o.salesforce.lower() for o in overrides}
    links: list[AgentLink] = []
    unmatched: list[UnmatchedAgent] = []
    for agent in agents:
        if not agent.is_active:
            continue
        email = (agent.email or "").lower()
        if email in forced:
            forced_user = by_username.get(forced[email])
            if forced_user is None:
                unmatched.append(
                    UnmatchedAgent(
                        agent_id=agent.agent_id,
                        email=agent.email,
                        reason=f"override names Salesforce user {forced[email]!r}, which does not exist or is inactive",
                    )
                )
                continue
            user = forced_user
        else:
            candidates = by_email.get(email, []) if email else []
            if len(candidates) != 1:
                reason = (
                    "no Salesforce user has this e-mail"
                    if not candidates
                    else (f"{len(candidates)} Salesforce users have this e-mail; add a userOverride")
                )
                unmatched.append(UnmatchedAgent(agent_id=agent.agent_id, email=agent.email, reason=reason))
                continue
            user = candidates[0]
        links.append(
            AgentLink(agent_id=agent.agent_id, salesforce_user_id=user.id, team_id=agent.team_id, email=agent.email)
        )
    return tuple(links), tuple(unmatched)

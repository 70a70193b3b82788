"""The runtime's configuration file: the spec's rules resolved to vendor ids, agents matched across systems.

``RuntimeConfig`` is what the SyncRuntime resource renders (jinja2) into ``config.json`` and what
``python -m runtime --config config.json`` reads. Vendor connections are *not* in it: they come from the
environment (``SF_*``, ``CXONE_*``, ``REQUESTS_CA_BUNDLE``, see ``presence_sync.clients.settings``).

``presence_sync/runtime_config_build.py`` builds it from a spec (``build_config``): names resolved to ids
through the vendor clients, agents matched across systems.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from presence_sync.spec import AcdState, parse_acd

__all__ = [
    "AgentLink",
    "Budgets",
    "PostgresStoreConfig",
    "RuleConfig",
    "RuntimeConfig",
    "StatusRef",
    "UnmatchedAgent",
    "UserOverrideConfig",
    "load_config",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusRef(_Model):
    """A Salesforce presence status, by id (what commands carry) and developer name (for people)."""

    status_id: str = Field(description="ServicePresenceStatus Id (0N5...).")
    developer_name: str = Field(description="Its DeveloperName, for logs and review.")


class RuleConfig(_Model):
    """One presence rule with every name resolved to an id."""

    name: str
    priority: int = Field(ge=0, description="Lower wins among team rules; user-level rules beat team rules.")
    publisher: dict[str, StatusRef | Literal["previous"]] = Field(
        default_factory=dict, description="ACD state (notation, e.g. 'Unavailable:Break') -> status, or 'previous'."
    )
    subscriber: dict[str, str] = Field(
        default_factory=dict, description="Status id -> ACD state (notation) or 'previous'."
    )
    team_ids: tuple[int, ...] = Field(default=(), description="CXone team ids the rule covers.")
    agent_ids: tuple[int, ...] = Field(default=(), description="CXone agent ids the rule covers (user level).")

    @model_validator(mode="after")
    def _check_notation(self) -> RuleConfig:
        for source in self.publisher:
            if not isinstance(parse_acd(source), AcdState):
                raise ValueError(f"rule {self.name!r}: 'previous' cannot be a publisher source")
        for target in self.subscriber.values():
            parse_acd(target)
        return self

    def publisher_sources(self) -> dict[AcdState, StatusRef | Literal["previous"]]:
        return {
            parsed: target
            for source, target in self.publisher.items()
            if isinstance(parsed := parse_acd(source), AcdState)
        }


class AgentLink(_Model):
    """A CXone agent and the Salesforce user they are, as matched at build time."""

    agent_id: int
    salesforce_user_id: str
    team_id: int | None = None
    email: str | None = Field(default=None, description="For logs only.")


class UnmatchedAgent(_Model):
    agent_id: int
    email: str | None
    reason: str


class UserOverrideConfig(_Model):
    cxone: str = Field(description="CXone user e-mail.")
    salesforce: str = Field(description="Salesforce username.")


class Budgets(_Model):
    salesforce: int = Field(default=20, ge=1, description="Salesforce polling calls per minute (fallback feed).")
    cxone: int = Field(default=120, ge=1, description="CXone polling calls per minute (agent states feed).")


class PostgresStoreConfig(_Model):
    """The runtime's state in PostgreSQL, shared by several replicas that split the agents into shards."""

    dsn_env: str = Field(
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Name of the environment variable holding the connection string (never the DSN itself).",
    )
    shards: int = Field(
        default=32, ge=1, le=1024, description="Agents are split into this many shards (fixed per database)."
    )
    lease_seconds: float = Field(
        default=4.0,
        ge=1,
        le=60,
        description="A shard's lease lasts this long without renewal: a lost replica's agents wait at most about "
        "this long (plus a third of it) for a new owner.",
    )
    pool_size: int = Field(default=16, ge=2, le=256, description="Connections each replica keeps to PostgreSQL.")


class RuntimeConfig(_Model):
    """The sync service's configuration (config.json). Connections come from the environment, never from here."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="presence-sync runtime config")

    version: Literal[1] = 1
    engine: Literal["presence-sync", "nice"] = Field(
        default="presence-sync",
        description="presence-sync: the runtime writes; nice: NICE's engine syncs and the runtime only observes "
        "(no vendor writes; disagreements are logged and counted). From the spec's runtime.engine.",
    )
    rules: tuple[RuleConfig, ...] = Field(default=(), description="Presence rules, resolved to ids.")
    agents: tuple[AgentLink, ...] = Field(default=(), description="Matched agents: CXone agent <-> Salesforce user.")
    unmatched: tuple[UnmatchedAgent, ...] = Field(default=(), description="Agents that matched nothing (reported).")
    unavailable_codes: dict[int, str] = Field(
        default_factory=dict, description="CXone unavailable code id -> name (reasons are set by name)."
    )
    user_matching: Literal["email"] = "email"
    user_overrides: tuple[UserOverrideConfig, ...] = ()
    # 2 s: bench/runtime_sync.py at 1,000 agents puts CXone -> Omni p99 at 1.2-1.5 s (1.5 s at 1 s, 4.0 s at 5 s),
    # for 30 idle polls a minute of the 120 budgeted (docs/runtime.md, "At the shipped defaults").
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=3600, description="CXone agent-state poll interval.")
    stream_wait_seconds: float = Field(
        default=5.0, ge=0, le=30, description="Longest wait for the next Salesforce change event per read."
    )
    resync_interval_seconds: float = Field(default=300.0, gt=0, description="Full reconcile of every agent.")
    echo_window_seconds: float = Field(default=30.0, gt=0, description="How long a write of ours is recognised.")
    clock_skew_seconds: float = Field(
        default=1.0,
        ge=0,
        le=30,
        description="Largest difference between a vendor's clock and ours assumed until it is measured (from our "
        "own writes and their echoes, see runtime/clocks.py). It must exceed the real skew: an echo of ours "
        "older than this bound is taken for the agent's own change.",
    )
    reread_after_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="A write decided longer ago than this (an outage, a backoff) re-reads its side first.",
    )
    durability: Literal["normal", "full"] = Field(
        default="normal",
        description="SQLite synchronous mode of the store: normal survives a process crash; full also survives "
        "power loss (one fsync per transaction).",
    )
    api_budget_per_minute: Budgets = Field(default_factory=Budgets)
    workers: int = Field(
        default=128,
        ge=1,
        le=256,
        description="Reconcile worker threads: writes wait on the vendor, "
        "so concurrent writes = changes per second x write latency.",
    )
    omni_publish_calls_in_flight: int = Field(
        default=4,
        ge=1,
        le=25,
        description="Omni command publishes under way at once; commands that arrive "
        "meanwhile leave together in the next composite call (up to 25 each). Fewer means bigger batches.",
    )
    salesforce_feed: Literal["stream", "poll"] = Field(
        default="stream",
        description="stream: change events from the Pub/Sub API (salesforce_topic); poll: UserServicePresence "
        "by LastModifiedDate within the API budget (seconds late, logouts unseen).",
    )
    salesforce_topic: str = Field(
        default="/data/UserServicePresenceChangeEvent",
        pattern=r"^/data/(UserServicePresenceChangeEvent|[A-Za-z][A-Za-z0-9_]*__chn)$",
        description="Pub/Sub topic of UserServicePresence change events: the standard channel, or a custom "
        "channel /data/<Name>__chn that has UserServicePresence as a member.",
    )
    salesforce_poll_fallback: bool = Field(
        default=False,
        description="When the org refuses the topic (Change Data Capture not enabled for UserServicePresence): "
        "poll UserServicePresence instead of failing. Off: the runtime reports the setting to enable.",
    )
    store_path: str = Field(default="presence-sync-runtime.sqlite3", description="SQLite file of the durable state.")
    postgres: PostgresStoreConfig | None = Field(
        default=None, description="Set: the state is in PostgreSQL and replicas shard the agents (store_path unused)."
    )
    metrics_host: str = Field(default="127.0.0.1", description="Address of /healthz, /readyz, /metrics.")
    metrics_port: int = Field(default=9464, ge=0, le=65535, description="Port of the same (0: pick a free one).")
    live_view_token_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Name of the environment variable holding the live view's token (never the token itself). "
        "Set: the page and /api/v1 need it (Authorization: Bearer, or the page's cookie). Unset: they are served "
        "on a loopback bind only.",
    )

    def status_names(self) -> dict[str, str]:
        """Status id -> developer name, from every rule."""
        names: dict[str, str] = {}
        for rule in self.rules:
            for target in rule.publisher.values():
                if isinstance(target, StatusRef):
                    names[target.status_id] = target.developer_name
        return names

    def dump(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def load_config(path: str | Path) -> RuntimeConfig:
    return RuntimeConfig.model_validate_json(Path(path).read_text())

"""The typed model of a spec file (stacks/<env>.yaml).

The models check *shape*: keys, types, enums and ranges (unknown keys are errors). Everything that needs a
rule of Salesforce or CXone, or looks across fields -- developer names, references, URLs, the oscillation
check -- lives in `checks.py`, so that one file's problems are all reported together with friendly messages.
A `PresenceSpec` you get from `load_spec` has passed both.

YAML keys are camelCase; the Python attributes are the same names in snake_case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import ConfigDict, Field, PrivateAttr

from .base import Issue, SpecModel, StrictBool, StrictInt
from .change_event_channel import CUSTOM_CHANNEL_TOPIC, ChangeEventChannel, check_topic
from .cxone_account_mapping import AccountMapping, SalesforceEnvironment
from .oauth_client_app import OAuthApp
from .presence_rule import MapEntry, PresenceRule, ResolvedRule
from .presence_status import PresenceStatus
from .profile_presence_access import ProfileAccess
from .runtime_store import RuntimeStore, SqliteStore
from .service_channel import ServiceChannel

__all__ = [
    "AccountMapping",
    "ApiBudget",
    "CxoneSpec",
    "KubernetesTarget",
    "MapEntry",
    "OAuthApp",
    "PresenceRule",
    "PresenceSpec",
    "PresenceStatus",
    "ProfileAccess",
    "ResolvedRule",
    "RuntimeSpec",
    "SalesforceEnvironment",
    "SalesforceSpec",
    "ServiceChannel",
    "UserOverride",
]


# Patterns and lengths given as `json_schema_extra` are for editors only (YAML language servers flag a bad name
# while typing); `checks.py` enforces them with an explained error.


# --------------------------------------------------------------------------------------------- Salesforce


class SalesforceSpec(SpecModel):
    service_channels: tuple[ServiceChannel, ...] = Field(
        default=(), description="Service channels this spec manages (statuses may also name the org's own)."
    )
    statuses: tuple[PresenceStatus, ...] = Field(default=(), description="Presence statuses this spec manages.")
    existing_statuses: tuple[str, ...] = Field(
        default=(),
        description="Developer names of statuses the org already has and this spec only refers to "
        "(grants, rules). The providers check that they exist.",
    )
    profile_access: tuple[ProfileAccess, ...] = Field(default=(), description="Status grants per profile.")
    oauth_app: OAuthApp

    def status_by_developer_name(self) -> dict[str, PresenceStatus]:
        return {status.name: status for status in self.statuses}

    def known_status_names(self) -> set[str]:
        """Developer names that grants and rules may use: managed statuses and existing ones."""
        return {status.name for status in self.statuses} | set(self.existing_statuses)

    def planned_channel_names(self) -> set[str]:
        """Service channels this spec creates itself: a status may name them before the org has them."""
        return {channel.developer_name for channel in self.service_channels}


# ------------------------------------------------------------------------------------------------- CXone


class CxoneSpec(SpecModel):
    existing_unavailable_codes: tuple[str, ...] = Field(
        default=(),
        description="Unavailable code names the tenant already has and rules may use as 'Unavailable:<name>'. "
        "The providers check that they exist and are assigned to the rules' teams.",
    )
    account_mapping: AccountMapping
    presence_rules: tuple[PresenceRule, ...] = Field(default=(), description="Presence rules.")

    def resolved_rules(self) -> tuple[ResolvedRule, ...]:
        return tuple(rule.resolved() for rule in self.presence_rules)


# ----------------------------------------------------------------------------------------------- runtime


class UserOverride(SpecModel):
    """An agent whose e-mails differ between the systems."""

    cxone: str = Field(description="CXone user e-mail.")
    salesforce: str = Field(description="Salesforce username.")


class ApiBudget(SpecModel):
    salesforce: StrictInt = Field(default=20, ge=1, description="Salesforce API calls per minute the runtime may make.")
    cxone: StrictInt = Field(
        default=120,
        ge=1,
        description="CXone agent-state feed calls a minute (polls and their pages; writes are not counted).",
    )


class KubernetesTarget(SpecModel):
    namespace: str = Field(default="presence-sync", description="Namespace to deploy the runtime into.")


class SalesforceChanges(SpecModel):
    """Where the runtime reads Omni-Channel presence changes: change events from the Pub/Sub API."""

    topic: str = Field(
        default="/data/UserServicePresenceChangeEvent",
        json_schema_extra={"pattern": r"^/data/UserServicePresenceChangeEvent$|" + CUSTOM_CHANNEL_TOPIC},
        description="The change event channel: the standard one (UserServicePresence selected for Change Data Capture "
        "in Setup) or a custom channel /data/<Name>__chn, which the stack creates with UserServicePresenceChangeEvent "
        "as its member (PlatformEventChannel + PlatformEventChannelMember).",
    )
    adopt_channel: StrictBool = Field(
        default=False,
        description="Take over the custom channel the topic names when the org already has it (it is then left in "
        "the org on destroy), instead of failing.",
    )
    poll_fallback: StrictBool = Field(
        default=False,
        description="When the org refuses the channel, poll UserServicePresence (seconds late, logouts unseen, API "
        "calls from the daily allowance) instead of reporting what to enable.",
    )

    @classmethod
    def check_entries(cls, entries: Sequence[SalesforceChanges]) -> list[Issue]:
        """runtime.salesforceChanges.topic: the standard channel or a custom one Salesforce would accept."""
        return [issue for changes in entries for issue in check_topic(changes.topic)]

    def custom_channel(self) -> ChangeEventChannel | None:
        """The custom channel the stack creates for the topic (None: the standard channel)."""
        return ChangeEventChannel.for_topic(self.topic, adopt=self.adopt_channel)


class RuntimeSpec(SpecModel):
    """The generated sync service."""

    target: Literal["local", "kubernetes"] = Field(
        default="local", description="local: a supervised process (sandbox default); kubernetes: a Deployment."
    )
    kubernetes: KubernetesTarget | None = Field(default=None, description="Settings for target: kubernetes.")
    engine: Literal["presence-sync", "nice"] = Field(
        default="presence-sync",
        description="Who syncs presence. presence-sync: this runtime writes, and the CXone presence rules are stored "
        "inactive for NICE's engine. nice: CXone Agent Embedded applies the CXone rules in the agent's browser, and "
        "this runtime only observes (no vendor writes) and reports where the two sides disagree.",
    )
    user_matching: Literal["email"] = Field(
        default="email", description="How agents are matched: CXone e-mail = Salesforce user e-mail (case-insensitive)."
    )
    user_overrides: tuple[UserOverride, ...] = Field(
        default=(), description="Explicit matches that beat e-mail matching."
    )
    poll_interval_seconds: StrictInt = Field(
        default=2, ge=1, le=3600, description="How often CXone agent states are polled."
    )
    resync_interval_seconds: StrictInt = Field(
        default=300, ge=30, le=86400, description="How often every agent is reconciled even without a change."
    )
    echo_window_seconds: StrictInt = Field(
        default=30, ge=1, le=600, description="How long the runtime recognises a change as its own write."
    )
    api_budget_per_minute: ApiBudget = Field(default_factory=ApiBudget)
    salesforce_changes: SalesforceChanges = Field(
        default_factory=SalesforceChanges, description="How Omni-Channel presence changes reach the runtime."
    )
    store: RuntimeStore = Field(
        default_factory=SqliteStore, description="Where the runtime keeps its state: sqlite (one replica) or postgres."
    )


# ------------------------------------------------------------------------------------------------- spec


class PresenceSpec(SpecModel):
    """One environment's presence-sync setup."""

    model_config = ConfigDict(title="presence-sync spec")

    version: Literal[1] = Field(description="Spec format version.")
    sandbox: StrictBool = Field(
        default=False,
        description="This spec targets the local sandbox emulators; allows http://localhost callback URLs.",
    )
    salesforce: SalesforceSpec
    cxone: CxoneSpec
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)

    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The file this spec was loaded from, if any."""
        return self._source

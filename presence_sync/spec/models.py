"""The typed model of a spec file (stacks/<env>.yaml).

The models check *shape*: keys, types, enums and ranges (unknown keys are errors). Everything that needs a
rule of Salesforce or CXone, or looks across fields -- developer names, references, URLs, the oscillation
check -- lives in `checks.py`, so that one file's problems are all reported together with friendly messages.
A `PresenceSpec` you get from `load_spec` has passed both.

YAML keys are camelCase; the Python attributes are the same names in snake_case.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .acd import PREVIOUS, SYSTEM_STATES, AcdState, AcdTarget, parse_acd
from .base import SpecModel, StrictBool, StrictInt
from .names import (
    CONNECTED_APP_NAME_MAX,
    DEVELOPER_NAME_PATTERN,
    EXTERNAL_CLIENT_APP_NAME_MAX,
)
from .presence_status import PresenceStatus
from .scopes import SCOPES, metadata_scopes

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
    "UserOverride",
]

_ACD_PATTERN = "^(previous|" + "|".join(SYSTEM_STATES) + "|Unavailable:\\S(.*\\S)?)$"


# Patterns and lengths given as `json_schema_extra` are for editors only (YAML language servers flag a bad name
# while typing); `checks.py` enforces them with an explained error.


# --------------------------------------------------------------------------------------------- Salesforce


class ProfileAccess(SpecModel):
    """Profile > Enabled Service Presence Status Access."""

    profile: str = Field(description="Profile name, e.g. 'Custom Support Profile'.")
    statuses: tuple[str, ...] = Field(description="Developer names of statuses to grant.")


class OAuthApp(SpecModel):
    """The OAuth client app CXone uses to reach Salesforce."""

    app_type: Literal["external_client_app", "connected_app"] = Field(
        default="external_client_app",
        alias="type",
        description="external_client_app (default) or connected_app (legacy: new orgs can't create these "
        "since Spring '26).",
    )
    name: str = Field(
        description=f"Developer name (External Client App: at most {EXTERNAL_CLIENT_APP_NAME_MAX} characters).",
        json_schema_extra={"pattern": DEVELOPER_NAME_PATTERN, "maxLength": CONNECTED_APP_NAME_MAX},
    )
    label: str = Field(description="Name shown in Setup.")
    contact_email: str = Field(description="Contact e-mail required by Salesforce.")
    description: str | None = Field(default=None, description="Optional description shown in Setup.")
    callback_url: str = Field(
        description="OAuth callback URL. https; http://localhost or 127.0.0.1 only in a sandbox spec."
    )
    scopes: tuple[str, ...] = Field(
        description="OAuth scope names as Setup shows them.",
        json_schema_extra={"items": {"enum": list(SCOPES)}},
    )
    require_secret_for_web_server_flow: StrictBool = Field(default=True, description="Setup checkbox of that name.")
    require_secret_for_refresh_token_flow: StrictBool = Field(default=True, description="Setup checkbox of that name.")
    adopt: StrictBool = Field(default=False, description="Take over an app that already exists instead of failing.")

    def metadata_scopes(self) -> tuple[str, ...]:
        """`ConnectedAppOauthAccessScope` values for the metadata ("Full", "Api", "Web", "RefreshToken", ...).
        An External Client App joins them with ", " into `commaSeparatedOauthScopes`."""
        return metadata_scopes(self.scopes)

    @property
    def is_consumer_secret_optional(self) -> bool:
        """Metadata flag `isConsumerSecretOptional`: the inverse of "Require Secret for Web Server Flow"."""
        return not self.require_secret_for_web_server_flow

    @property
    def name_max_length(self) -> int:
        return EXTERNAL_CLIENT_APP_NAME_MAX if self.app_type == "external_client_app" else CONNECTED_APP_NAME_MAX


class SalesforceSpec(SpecModel):
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


# ------------------------------------------------------------------------------------------------- CXone


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
    cxone: StrictInt = Field(default=120, ge=1, description="CXone API calls per minute the runtime may make.")


class KubernetesTarget(SpecModel):
    namespace: str = Field(default="presence-sync", description="Namespace to deploy the runtime into.")


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
        default=5, ge=1, le=3600, description="How often CXone agent states are polled."
    )
    resync_interval_seconds: StrictInt = Field(
        default=300, ge=30, le=86400, description="How often every agent is reconciled even without a change."
    )
    echo_window_seconds: StrictInt = Field(
        default=30, ge=1, le=600, description="How long the runtime recognises a change as its own write."
    )
    api_budget_per_minute: ApiBudget = Field(default_factory=ApiBudget)


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

"""The presence spec: the typed, validated model of stacks/<env>.yaml that every other part consumes.

    from presence_sync.spec import load_spec, SpecError

    spec = load_spec("stacks/sandbox.yaml")          # raises SpecError(.problems) listing every problem
    spec.salesforce.status_by_developer_name()       # {"Available_for_Chats": PresenceStatus, ...}
    spec.salesforce.oauth_app.metadata_scopes()      # ("Full", "Api", "Web", "RefreshToken", "OfflineAccess")
    spec.cxone.resolved_rules()                      # rules as plain data (maps keyed by source)

Field reference: docs/spec.md. Rule semantics: docs/presence-rules.md.
"""

from __future__ import annotations

from .acd import PREVIOUS, SETTABLE_STATES, SYSTEM_STATES, AcdNotationError, AcdState, AcdTarget, parse_acd
from .loader import Problem, SpecError, format_path, load_spec, load_spec_text
from .models import (
    AccountMapping,
    ApiBudget,
    CxoneSpec,
    KubernetesTarget,
    MapEntry,
    OAuthApp,
    PresenceRule,
    PresenceSpec,
    PresenceStatus,
    ProfileAccess,
    ResolvedRule,
    RuntimeSpec,
    SalesforceEnvironment,
    SalesforceSpec,
    UserOverride,
)
from .names import derive_developer_name, developer_name_problems
from .oscillation import Cycle, find_cycles
from .schema import export_schema, schema_json
from .scopes import SCOPES, metadata_scopes

__all__ = [
    "PREVIOUS",
    "SCOPES",
    "SETTABLE_STATES",
    "SYSTEM_STATES",
    "AccountMapping",
    "AcdNotationError",
    "AcdState",
    "AcdTarget",
    "ApiBudget",
    "CxoneSpec",
    "Cycle",
    "KubernetesTarget",
    "MapEntry",
    "OAuthApp",
    "PresenceRule",
    "PresenceSpec",
    "PresenceStatus",
    "Problem",
    "ProfileAccess",
    "ResolvedRule",
    "RuntimeSpec",
    "SalesforceEnvironment",
    "SalesforceSpec",
    "SpecError",
    "UserOverride",
    "derive_developer_name",
    "developer_name_problems",
    "export_schema",
    "find_cycles",
    "format_path",
    "load_spec",
    "load_spec_text",
    "metadata_scopes",
    "parse_acd",
    "schema_json",
]

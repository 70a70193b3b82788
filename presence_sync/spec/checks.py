"""Checks that need Salesforce's or CXone's rules, or look across fields; each problem names its path.

Every check returns `Issue`s with a path in YAML keys (``("salesforce", "statuses", 2, "channels", 0)``);
the loader turns them into `Problem`s with the file name and line. The section checks take the sections
they need, so the loader can still run them when another section of the file failed to parse.
Nothing here talks to an API: whether a profile, channel or team exists is the providers' (online) check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .acd import PREVIOUS, SYSTEM_STATES, AcdNotationError, AcdState, AcdTarget, parse_acd
from .base import (
    Issue,
    Path,
    StatusNames,
    blank,
    duplicates,
    email_issue,
    guess_budget,
    name_issues,
    suggest,
    unknown_status,
    url_issue,
)
from .models import (
    AccountMapping,
    CxoneSpec,
    OAuthApp,
    PresenceRule,
    PresenceSpec,
    RuntimeSpec,
    SalesforceSpec,
)
from .names import STATUS_NAME_MAX
from .oscillation import find_cycles
from .presence_status import check_statuses
from .scopes import SCOPES
from .text import shown as _q

__all__ = ["Issue", "check_cxone", "check_runtime", "check_salesforce", "check_spec"]


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@guess_budget
def check_spec(spec: PresenceSpec) -> list[Issue]:
    return [
        *check_salesforce(spec.salesforce, sandbox=spec.sandbox),
        *check_cxone(spec.cxone, spec.salesforce),
        *check_runtime(spec.runtime, sandbox=spec.sandbox),
    ]


# --------------------------------------------------------------------------------------------- Salesforce


def _status_names(sf: SalesforceSpec) -> StatusNames:
    """The status names references may use, computed once per check (a spec may hold many references)."""
    return StatusNames.of(((status.name, status.label) for status in sf.statuses), sf.existing_statuses)


@guess_budget
def check_salesforce(sf: SalesforceSpec, *, sandbox: bool) -> list[Issue]:
    issues = check_statuses(sf.statuses)
    issues += _check_existing_statuses(sf)
    issues += _check_profile_access(sf)
    issues += _check_oauth_app(sf.oauth_app, sandbox=sandbox)
    return issues


def _check_existing_statuses(sf: SalesforceSpec) -> list[Issue]:
    issues: list[Issue] = []
    managed = {status.name.casefold(): i for i, status in enumerate(sf.statuses)}
    for k, name in enumerate(sf.existing_statuses):
        at: Path = ("salesforce", "existingStatuses", k)
        issues += name_issues(at, name, STATUS_NAME_MAX, "developer name", namespace=True)
        if name.casefold() in managed:
            issues.append(
                Issue(
                    at,
                    f"{_q(name)} is managed by this spec (salesforce.statuses[{managed[name.casefold()]}]) "
                    "and also listed as an existing status",
                    "remove it here; to take over a status the org already has, set adopt: true on the status",
                )
            )
    for k, first in duplicates(sf.existing_statuses):
        issues.append(
            Issue(
                ("salesforce", "existingStatuses", k),
                f"{_q(sf.existing_statuses[k])} is listed twice (also existingStatuses[{first}])",
            )
        )
    return issues


def _check_profile_access(sf: SalesforceSpec) -> list[Issue]:
    issues: list[Issue] = []
    profiles = [grant.profile for grant in sf.profile_access]
    statuses = _status_names(sf)
    for i, grant in enumerate(sf.profile_access):
        at: Path = ("salesforce", "profileAccess", i)
        if blank(grant.profile):
            issues.append(Issue((*at, "profile"), "profile name is empty", "e.g. profile: Custom Support Profile"))
        if not grant.statuses:
            issues.append(Issue((*at, "statuses"), "grants no status", "list developer names, or remove the entry"))
        for k, name in enumerate(grant.statuses):
            issues += unknown_status((*at, "statuses", k), name, statuses, "status")
        for k, first in duplicates(grant.statuses, fold=False):
            issues.append(
                Issue((*at, "statuses", k), f"status {_q(grant.statuses[k])} is granted twice (also statuses[{first}])")
            )
    for i, first in duplicates(profiles):
        issues.append(
            Issue(
                ("salesforce", "profileAccess", i, "profile"),
                f"profile {_q(profiles[i])} has a second entry (also profileAccess[{first}])",
                "merge the two entries' statuses into one",
            )
        )
    return issues


def _check_oauth_app(app: OAuthApp, *, sandbox: bool) -> list[Issue]:
    at: Path = ("salesforce", "oauthApp")
    kind = "External Client App" if app.app_type == "external_client_app" else "Connected App"
    issues = name_issues((*at, "name"), app.name, app.name_max_length, f"{kind} name")
    if blank(app.label):
        issues.append(Issue((*at, "label"), "label is empty", "e.g. label: CXone Presence Sync"))
    issues += email_issue((*at, "contactEmail"), app.contact_email, "contactEmail")
    issues += url_issue((*at, "callbackUrl"), app.callback_url, "callbackUrl", local_http=True, sandbox=sandbox)
    if not app.scopes:
        issues.append(Issue((*at, "scopes"), "lists no OAuth scope", "e.g. scopes: [api, refresh_token]"))
    valid = ", ".join(SCOPES)
    for k, scope in enumerate(app.scopes):
        if scope not in SCOPES:
            issues.append(
                Issue(
                    (*at, "scopes", k),
                    f"unknown OAuth scope {_q(scope)}",
                    suggest(scope, SCOPES, f"Valid scopes: {valid}"),
                )
            )
    for k, first in duplicates(app.scopes, fold=False):
        issues.append(Issue((*at, "scopes", k), f"scope {_q(app.scopes[k])} is listed twice (also scopes[{first}])"))
    return issues


# ------------------------------------------------------------------------------------------------- CXone


@guess_budget
def check_cxone(cx: CxoneSpec, sf: SalesforceSpec | None) -> list[Issue]:
    """`sf` is None when the salesforce section didn't parse: status references are then not checked."""
    issues = _check_codes(cx.existing_unavailable_codes)
    issues += _check_account_mapping(cx.account_mapping)
    statuses = _status_names(sf) if sf is not None else None
    for i, rule in enumerate(cx.presence_rules):
        issues += _check_rule(("cxone", "presenceRules", i), rule, cx.existing_unavailable_codes, statuses)
    names = [rule.name for rule in cx.presence_rules]
    for i, first in duplicates(names):
        issues.append(
            Issue(
                ("cxone", "presenceRules", i, "name"),
                f"rule name {_q(names[i])} is used twice (also presenceRules[{first}])",
                "rule names are unique; rename one",
            )
        )
    issues += _check_precedence(cx.presence_rules, "teams", "team")
    issues += _check_precedence(cx.presence_rules, "users", "user")
    return issues


def _check_codes(codes: Sequence[str]) -> list[Issue]:
    issues: list[Issue] = []
    for k, code in enumerate(codes):
        at: Path = ("cxone", "existingUnavailableCodes", k)
        if blank(code):
            issues.append(Issue(at, "unavailable code name is empty"))
        elif code != code.strip():
            issues.append(Issue(at, f"unavailable code {_q(code)} has spaces around it", f"write {_q(code.strip())}"))
    for k, first in duplicates(codes):
        issues.append(
            Issue(
                ("cxone", "existingUnavailableCodes", k),
                f"unavailable code {_q(codes[k])} is listed twice (also existingUnavailableCodes[{first}])",
            )
        )
    return issues


def _check_account_mapping(mapping: AccountMapping) -> list[Issue]:
    at: Path = ("cxone", "accountMapping")
    issues: list[Issue] = []
    if blank(mapping.name):
        issues.append(Issue((*at, "name"), "account mapping name is empty"))
    issues += email_issue((*at, "accessKeyUser"), mapping.access_key_user, "accessKeyUser")
    env = mapping.salesforce_environment
    if blank(env.name):
        issues.append(Issue((*at, "salesforceEnvironment", "name"), "Salesforce environment name is empty"))
    issues += url_issue((*at, "salesforceEnvironment", "instanceUrl"), env.instance_url, "instanceUrl")
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


# ----------------------------------------------------------------------------------------------- runtime


@guess_budget
def check_runtime(rt: RuntimeSpec, *, sandbox: bool) -> list[Issue]:
    issues: list[Issue] = []
    if sandbox and rt.target == "kubernetes":
        issues.append(
            Issue(
                ("runtime", "target"),
                "a sandbox spec runs the runtime locally, next to the emulators",
                "use target: local",
            )
        )
    if rt.kubernetes is not None:
        if rt.target != "kubernetes":
            issues.append(
                Issue(
                    ("runtime", "kubernetes"),
                    "kubernetes settings are given, but target is local",
                    "set target: kubernetes, or remove the kubernetes block",
                )
            )
        elif not _DNS_LABEL.match(rt.kubernetes.namespace):
            issues.append(
                Issue(
                    ("runtime", "kubernetes", "namespace"),
                    f"namespace {_q(rt.kubernetes.namespace)} is not a "
                    "DNS label (lower-case letters, digits and '-', at most 63)",
                )
            )
    calls = math.ceil(60 / rt.poll_interval_seconds)
    if calls > rt.api_budget_per_minute.cxone:
        issues.append(
            Issue(
                ("runtime", "pollIntervalSeconds"),
                f"polling every {rt.poll_interval_seconds} s takes {calls} CXone calls a minute, more than "
                f"apiBudgetPerMinute.cxone ({rt.api_budget_per_minute.cxone})",
                "poll less often, or raise the budget",
            )
        )
    for k, override in enumerate(rt.user_overrides):
        issues += email_issue(("runtime", "userOverrides", k, "cxone"), override.cxone, "CXone user")
    for field in ("cxone", "salesforce"):
        values = [getattr(override, field) for override in rt.user_overrides]
        for k, first in duplicates(values):
            issues.append(
                Issue(
                    ("runtime", "userOverrides", k, field),
                    f"{_q(values[k])} has two overrides (also userOverrides[{first}])",
                    "an agent matches one user on the other side",
                )
            )
    return issues

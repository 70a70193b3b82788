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
from .cxone_account_mapping import check_account_mapping
from .models import (
    CxoneSpec,
    OAuthApp,
    PresenceSpec,
    RuntimeSpec,
    SalesforceSpec,
)
from .names import STATUS_NAME_MAX
from .presence_rule import check_rules
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
    issues += check_account_mapping(cx.account_mapping)
    issues += check_rules(cx.presence_rules, cx.existing_unavailable_codes, _status_names(sf) if sf else None)
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

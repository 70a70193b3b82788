"""Checks that need Salesforce's or CXone's rules, or look across fields; each problem names its path.

Every check returns `Issue`s with a path in YAML keys (``("salesforce", "statuses", 2, "channels", 0)``);
the loader turns them into `Problem`s with the file name and line. The section checks take the sections
they need, so the loader can still run them when another section of the file failed to parse.
Nothing here talks to an API: whether a profile, channel or team exists is the providers' (online) check.
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Sequence

from pydantic import BaseModel

from .base import (
    Issue,
    Path,
    StatusNames,
    blank,
    duplicates,
    email_issue,
    guess_budget,
    name_issues,
)
from .cxone_account_mapping import check_account_mapping
from .models import (
    CxoneSpec,
    PresenceSpec,
    RuntimeSpec,
    SalesforceSpec,
)
from .names import STATUS_NAME_MAX
from .oauth_client_app import check_oauth_app
from .presence_rule import check_rules
from .presence_status import check_statuses
from .profile_presence_access import check_profile_access
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
    issues += check_profile_access(sf.profile_access, _status_names(sf))
    issues += check_oauth_app(sf.oauth_app, sandbox=sandbox)
    return issues + own_checks(sf)


def own_checks(section: BaseModel) -> list[Issue]:
    """The checks of the kinds whose entries need nothing but themselves: a kind's spec model says so with a
    classmethod ``check_entries(entries) -> list[Issue]`` (paths in full), run here for each field of the section
    holding that model, so a new kind's checks need no line in this file."""
    issues: list[Issue] = []
    for name, info in type(section).model_fields.items():
        args = typing.get_args(info.annotation)
        item = args[0] if args else info.annotation
        check = getattr(item, "check_entries", None)
        if check is not None:
            value = getattr(section, name)
            issues += check(value if isinstance(value, tuple) else (value,))
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


# ------------------------------------------------------------------------------------------------- CXone


@guess_budget
def check_cxone(cx: CxoneSpec, sf: SalesforceSpec | None) -> list[Issue]:
    """`sf` is None when the salesforce section didn't parse: status references are then not checked."""
    issues = _check_codes(cx.existing_unavailable_codes)
    issues += check_account_mapping(cx.account_mapping)
    issues += check_rules(cx.presence_rules, cx.existing_unavailable_codes, _status_names(sf) if sf else None)
    return issues + own_checks(cx)


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
    return issues + own_checks(rt)

"""Checks that need Salesforce's or CXone's rules, or look across fields; each problem names its path.

Every check returns `Issue`s with a path in YAML keys (``("salesforce", "statuses", 2, "channels", 0)``);
the loader turns them into `Problem`s with the file name and line. The section checks take the sections
they need, so the loader can still run them when another section of the file failed to parse.
Nothing here talks to an API: whether a profile, channel or team exists is the providers' (online) check.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ParamSpec
from urllib.parse import urlsplit

from .acd import PREVIOUS, SYSTEM_STATES, AcdNotationError, AcdState, AcdTarget, parse_acd
from .models import (
    AccountMapping,
    CxoneSpec,
    OAuthApp,
    PresenceRule,
    PresenceSpec,
    RuntimeSpec,
    SalesforceSpec,
)
from .names import LABEL_MAX, STATUS_NAME_MAX, derive_developer_name, developer_name_problems
from .oscillation import find_cycles
from .scopes import SCOPES
from .text import shown as _q

__all__ = ["Issue", "check_cxone", "check_runtime", "check_salesforce", "check_spec"]

Path = tuple[str | int, ...]
_P = ParamSpec("_P")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_URL_SHOWN = 200  # URLs are quoted longer than other values: the hint repeats one with a fix
# "did you mean" compares with difflib, whose cost grows with both lengths: only for names of a sane length,
# against a sane number of candidates (past that, only the case-insensitive match is offered).
_GUESS_MAX_CHARS = 100
_GUESS_MAX_CANDIDATES = 200
# ... and for the first _GUESS_BUDGET unknown names of one check only: a spec with 50,000 typos would
# otherwise spend minutes on suggestions nobody reads (the loader lists the first 100 problems).
_GUESS_BUDGET = 200
_guesses_left: ContextVar[int | None] = ContextVar("_guesses_left", default=None)


def _guess_budget(check: Callable[_P, list[Issue]]) -> Callable[_P, list[Issue]]:
    """Give the outermost check call a fresh budget of difflib guesses (nested calls share it)."""

    @functools.wraps(check)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> list[Issue]:
        if _guesses_left.get() is not None:
            return check(*args, **kwargs)
        token = _guesses_left.set(_GUESS_BUDGET)
        try:
            return check(*args, **kwargs)
        finally:
            _guesses_left.reset(token)

    return run


@dataclass(frozen=True)
class Issue:
    path: Path
    message: str
    hint: str | None = None


@_guess_budget
def check_spec(spec: PresenceSpec) -> list[Issue]:
    return [
        *check_salesforce(spec.salesforce, sandbox=spec.sandbox),
        *check_cxone(spec.cxone, spec.salesforce),
        *check_runtime(spec.runtime, sandbox=spec.sandbox),
    ]


# ------------------------------------------------------------------------------------------------ helpers


def _did_you_mean(value: str, candidates: Iterable[str]) -> str | None:
    options = list(candidates)
    folded = {c.casefold(): c for c in options}
    if value.casefold() in folded:
        return folded[value.casefold()]
    left = _guesses_left.get()
    if len(value) > _GUESS_MAX_CHARS or len(options) > _GUESS_MAX_CANDIDATES or left == 0:
        return None
    if left is not None:
        _guesses_left.set(left - 1)
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _suggest(value: str, candidates: Iterable[str], otherwise: str | None = None) -> str | None:
    guess = _did_you_mean(value, candidates)
    if guess is None:
        return otherwise
    return f"did you mean {guess!r}?" + (f" Otherwise {otherwise[0].lower()}{otherwise[1:]}" if otherwise else "")


def _duplicates(values: Sequence[str], *, fold: bool = True) -> list[tuple[int, int]]:
    """(index of a repeat, index of its first occurrence) for each repeated value."""
    first: dict[str, int] = {}
    repeats = []
    for index, value in enumerate(values):
        key = value.casefold() if fold else value
        if key in first:
            repeats.append((index, first[key]))
        else:
            first[key] = index
    return repeats


def _blank(value: str) -> bool:
    return not value.strip()


def _email_issue(path: Path, value: str, what: str) -> list[Issue]:
    if _EMAIL.match(value):
        return []
    if "@" not in value:  # maybe not meant for this key at all (a pasted key or secret): not repeated
        return [Issue(path, f"{what} is not an e-mail address (it has no '@')", "e.g. ada.lovelace@example.com")]
    return [Issue(path, f"{what} {_q(value)} is not an e-mail address", "e.g. ada.lovelace@example.com")]


def _url_issue(path: Path, url: str, what: str, *, local_http: bool = False, sandbox: bool = False) -> list[Issue]:
    """https required; http to localhost only when `local_http` is allowed for this URL and the spec is a
    sandbox spec. Fragments are refused (RFC 6749 §3.1.2 for redirect URIs; meaningless for an instance)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme not in ("https", "http") or not host:
        return [
            Issue(
                path,
                f"{what} {_q(url, _URL_SHOWN)} is not an absolute http(s) URL",
                "e.g. https://example.com/callback",
            )
        ]
    if parts.fragment:
        return [
            Issue(
                path,
                f"{what} {_q(url, _URL_SHOWN)} must not contain a fragment ('#...')",
                "remove the part from '#' on",
            )
        ]
    if parts.scheme == "https":
        return []
    if local_http and host in _LOCAL_HOSTS:
        if sandbox:
            return []
        return [
            Issue(
                path,
                f"{what} {_q(url, _URL_SHOWN)} uses plain http; that is allowed only for localhost in a sandbox spec",
                "use https, or mark a spec for the local sandbox with 'sandbox: true' at the top",
            )
        ]
    local = " (plain http is allowed only for localhost/127.0.0.1 in a sandbox spec)" if local_http else ""
    return [
        Issue(
            path,
            f"{what} {_q(url, _URL_SHOWN)} must use https{local}",
            f"write {_q('https' + url[len('http') :], _URL_SHOWN)}",
        )
    ]


def _name_issues(path: Path, name: str, max_length: int, what: str, *, namespace: bool = False) -> list[Issue]:
    problems = developer_name_problems(name, max_length, allow_namespace=namespace)
    if not problems:
        return []
    fixed = derive_developer_name(name, max_length)
    hint = f"e.g. {fixed!r}" if fixed and fixed != name else "use letters, digits and single underscores"
    return [Issue(path, f"{what} {_q(name)} " + "; ".join(problems), hint)]


# --------------------------------------------------------------------------------------------- Salesforce


@_guess_budget
def check_salesforce(sf: SalesforceSpec, *, sandbox: bool) -> list[Issue]:
    issues = _check_statuses(sf)
    issues += _check_existing_statuses(sf)
    issues += _check_profile_access(sf)
    issues += _check_oauth_app(sf.oauth_app, sandbox=sandbox)
    return issues


def _check_statuses(sf: SalesforceSpec) -> list[Issue]:
    issues: list[Issue] = []
    first_seen: dict[str, int] = {}
    for i, status in enumerate(sf.statuses):
        at: Path = ("salesforce", "statuses", i)
        name_at: Path = (*at, "developerName") if status.developer_name is not None else (*at, "label")
        if _blank(status.label):
            issues.append(Issue((*at, "label"), "label is empty", "give the Status Name agents see"))
        elif len(status.label) > LABEL_MAX:
            issues.append(
                Issue((*at, "label"), f"label is {len(status.label)} characters long; the limit is {LABEL_MAX}")
            )
        name = status.name
        if status.developer_name is not None:
            issues += _name_issues(name_at, name, STATUS_NAME_MAX, "developer name")
        elif not name and not _blank(status.label):
            issues.append(
                Issue(
                    name_at,
                    f"no developer name can be derived from label {_q(status.label)}: it has no letters or digits",
                    "set developerName explicitly",
                )
            )
        if name.casefold() == PREVIOUS:
            issues.append(
                Issue(
                    name_at,
                    "developer name 'previous' is reserved for the rule target 'previous state'",
                    "choose another developer name",
                )
            )
        if name and name.casefold() in first_seen:
            other = first_seen[name.casefold()]
            derived = "" if status.developer_name is not None else f" (derived from label {_q(status.label)})"
            issues.append(
                Issue(
                    name_at,
                    f"duplicate developer name {_q(name)}{derived}: salesforce.statuses[{other}] has it too",
                    "developer names are unique in the org, ignoring case; rename one or set developerName",
                )
            )
        elif name:
            first_seen[name.casefold()] = i
        issues += _check_channels(at, status.kind, status.channels)
    return issues


def _check_channels(at: Path, kind: str, channels: Sequence[str]) -> list[Issue]:
    if kind == "busy" and channels:
        return [
            Issue(
                (*at, "channels", 0),
                "a busy status has no channels (Salesforce makes a status without channels the busy kind)",
                "remove the channels, or make it kind: online",
            )
        ]
    if kind == "online" and not channels:
        return [
            Issue(
                (*at, "channels"),
                "an online status needs at least one service channel",
                "e.g. channels: [sfdc_livemessage]; or make it kind: busy",
            )
        ]
    issues: list[Issue] = []
    for k, channel in enumerate(channels):
        issues += _name_issues((*at, "channels", k), channel, STATUS_NAME_MAX, "channel", namespace=True)
    for k, first in _duplicates(channels):
        issues.append(
            Issue((*at, "channels", k), f"channel {_q(channels[k])} is listed twice (also channels[{first}])")
        )
    return issues


def _check_existing_statuses(sf: SalesforceSpec) -> list[Issue]:
    issues: list[Issue] = []
    managed = {status.name.casefold(): i for i, status in enumerate(sf.statuses)}
    for k, name in enumerate(sf.existing_statuses):
        at: Path = ("salesforce", "existingStatuses", k)
        issues += _name_issues(at, name, STATUS_NAME_MAX, "developer name", namespace=True)
        if name.casefold() in managed:
            issues.append(
                Issue(
                    at,
                    f"{_q(name)} is managed by this spec (salesforce.statuses[{managed[name.casefold()]}]) "
                    "and also listed as an existing status",
                    "remove it here; to take over a status the org already has, set adopt: true on the status",
                )
            )
    for k, first in _duplicates(sf.existing_statuses):
        issues.append(
            Issue(
                ("salesforce", "existingStatuses", k),
                f"{_q(sf.existing_statuses[k])} is listed twice (also existingStatuses[{first}])",
            )
        )
    return issues


@dataclass(frozen=True)
class _Statuses:
    """The status names references may use, computed once per check (a spec may hold many references)."""

    known: frozenset[str]
    by_label: dict[str, str]  # label, casefolded -> developer name

    @classmethod
    def of(cls, sf: SalesforceSpec) -> _Statuses:
        by_label = {status.label.casefold(): status.name for status in sf.statuses}
        return cls(frozenset(sf.known_status_names()), by_label)


def _unknown_status(path: Path, value: str, statuses: _Statuses, what: str) -> list[Issue]:
    if value in statuses.known:
        return []
    if value.casefold() in statuses.by_label:
        name = statuses.by_label[value.casefold()]
        return [
            Issue(
                path, f"{what} {_q(value)} is a label; statuses are referred to by developer name", f"write {_q(name)}"
            )
        ]
    otherwise = "Define it in salesforce.statuses, or list it in salesforce.existingStatuses if the org already has it"
    return [
        Issue(
            path,
            f"{what} {_q(value)} is not a status this spec defines or lists as existing",
            _suggest(value, statuses.known, otherwise),
        )
    ]


def _check_profile_access(sf: SalesforceSpec) -> list[Issue]:
    issues: list[Issue] = []
    profiles = [grant.profile for grant in sf.profile_access]
    statuses = _Statuses.of(sf)
    for i, grant in enumerate(sf.profile_access):
        at: Path = ("salesforce", "profileAccess", i)
        if _blank(grant.profile):
            issues.append(Issue((*at, "profile"), "profile name is empty", "e.g. profile: Custom Support Profile"))
        if not grant.statuses:
            issues.append(Issue((*at, "statuses"), "grants no status", "list developer names, or remove the entry"))
        for k, name in enumerate(grant.statuses):
            issues += _unknown_status((*at, "statuses", k), name, statuses, "status")
        for k, first in _duplicates(grant.statuses, fold=False):
            issues.append(
                Issue((*at, "statuses", k), f"status {_q(grant.statuses[k])} is granted twice (also statuses[{first}])")
            )
    for i, first in _duplicates(profiles):
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
    issues = _name_issues((*at, "name"), app.name, app.name_max_length, f"{kind} name")
    if _blank(app.label):
        issues.append(Issue((*at, "label"), "label is empty", "e.g. label: CXone Presence Sync"))
    issues += _email_issue((*at, "contactEmail"), app.contact_email, "contactEmail")
    issues += _url_issue((*at, "callbackUrl"), app.callback_url, "callbackUrl", local_http=True, sandbox=sandbox)
    if not app.scopes:
        issues.append(Issue((*at, "scopes"), "lists no OAuth scope", "e.g. scopes: [api, refresh_token]"))
    valid = ", ".join(SCOPES)
    for k, scope in enumerate(app.scopes):
        if scope not in SCOPES:
            issues.append(
                Issue(
                    (*at, "scopes", k),
                    f"unknown OAuth scope {_q(scope)}",
                    _suggest(scope, SCOPES, f"Valid scopes: {valid}"),
                )
            )
    for k, first in _duplicates(app.scopes, fold=False):
        issues.append(Issue((*at, "scopes", k), f"scope {_q(app.scopes[k])} is listed twice (also scopes[{first}])"))
    return issues


# ------------------------------------------------------------------------------------------------- CXone


@_guess_budget
def check_cxone(cx: CxoneSpec, sf: SalesforceSpec | None) -> list[Issue]:
    """`sf` is None when the salesforce section didn't parse: status references are then not checked."""
    issues = _check_codes(cx.existing_unavailable_codes)
    issues += _check_account_mapping(cx.account_mapping)
    statuses = _Statuses.of(sf) if sf is not None else None
    for i, rule in enumerate(cx.presence_rules):
        issues += _check_rule(("cxone", "presenceRules", i), rule, cx.existing_unavailable_codes, statuses)
    names = [rule.name for rule in cx.presence_rules]
    for i, first in _duplicates(names):
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
        if _blank(code):
            issues.append(Issue(at, "unavailable code name is empty"))
        elif code != code.strip():
            issues.append(Issue(at, f"unavailable code {_q(code)} has spaces around it", f"write {_q(code.strip())}"))
    for k, first in _duplicates(codes):
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
    if _blank(mapping.name):
        issues.append(Issue((*at, "name"), "account mapping name is empty"))
    issues += _email_issue((*at, "accessKeyUser"), mapping.access_key_user, "accessKeyUser")
    env = mapping.salesforce_environment
    if _blank(env.name):
        issues.append(Issue((*at, "salesforceEnvironment", "name"), "Salesforce environment name is empty"))
    issues += _url_issue((*at, "salesforceEnvironment", "instanceUrl"), env.instance_url, "instanceUrl")
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
            _suggest(state.code, codes, f"Add {_q(state.code)} to cxone.existingUnavailableCodes if the tenant has it"),
        )
    ]


def _check_rule(at: Path, rule: PresenceRule, codes: Sequence[str], statuses: _Statuses | None) -> list[Issue]:
    issues: list[Issue] = []
    if _blank(rule.name):
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
        if _blank(team):
            issues.append(Issue((*at, "teams", k), "team name is empty"))
    for k, user in enumerate(rule.users):
        issues += _email_issue((*at, "users", k), user, "user")
    for field, values in (("teams", rule.teams), ("users", rule.users)):
        for k, first in _duplicates(values):
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


def _check_publisher(at: Path, rule: PresenceRule, codes: Sequence[str], statuses: _Statuses | None) -> list[Issue]:
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
            issues += _unknown_status((*here, "salesforce"), entry.salesforce, statuses, "Salesforce status")
    return issues


def _check_subscriber(at: Path, rule: PresenceRule, codes: Sequence[str], statuses: _Statuses | None) -> list[Issue]:
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
                issues += _unknown_status((*here, "salesforce"), entry.salesforce, statuses, "Salesforce status")
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


@_guess_budget
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
        issues += _email_issue(("runtime", "userOverrides", k, "cxone"), override.cxone, "CXone user")
    for field in ("cxone", "salesforce"):
        values = [getattr(override, field) for override in rt.user_overrides]
        for k, first in _duplicates(values):
            issues.append(
                Issue(
                    ("runtime", "userOverrides", k, field),
                    f"{_q(values[k])} has two overrides (also userOverrides[{first}])",
                    "an agent matches one user on the other side",
                )
            )
    return issues

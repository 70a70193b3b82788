"""What every kind's spec model and checks are made of: the model base (camelCase keys, nothing unknown, frozen),
the `Issue` a check returns, and the helpers the checks share (did-you-mean, duplicates, e-mail, URL and
developer-name checks, references to statuses)."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, ParamSpec
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Strict
from pydantic.alias_generators import to_camel

from .names import derive_developer_name, developer_name_problems
from .text import shown as _q

Path = tuple[str | int, ...]
_P = ParamSpec("_P")

StrictBool = Annotated[bool, Strict()]
StrictInt = Annotated[int, Strict()]


class SpecModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        frozen=True,
    )


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
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


def guess_budget(check: Callable[_P, list[Issue]]) -> Callable[_P, list[Issue]]:
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


def did_you_mean(value: str, candidates: Iterable[str]) -> str | None:
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


def suggest(value: str, candidates: Iterable[str], otherwise: str | None = None) -> str | None:
    guess = did_you_mean(value, candidates)
    if guess is None:
        return otherwise
    return f"did you mean {guess!r}?" + (f" Otherwise {otherwise[0].lower()}{otherwise[1:]}" if otherwise else "")


def duplicates(values: Sequence[str], *, fold: bool = True) -> list[tuple[int, int]]:
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


def blank(value: str) -> bool:
    return not value.strip()


def email_issue(path: Path, value: str, what: str) -> list[Issue]:
    if _EMAIL.match(value):
        return []
    if "@" not in value:  # maybe not meant for this key at all (a pasted key or secret): not repeated
        return [Issue(path, f"{what} is not an e-mail address (it has no '@')", "e.g. ada.lovelace@example.com")]
    return [Issue(path, f"{what} {_q(value)} is not an e-mail address", "e.g. ada.lovelace@example.com")]


def url_issue(path: Path, url: str, what: str, *, local_http: bool = False, sandbox: bool = False) -> list[Issue]:
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


def name_issues(path: Path, name: str, max_length: int, what: str, *, namespace: bool = False) -> list[Issue]:
    problems = developer_name_problems(name, max_length, allow_namespace=namespace)
    if not problems:
        return []
    fixed = derive_developer_name(name, max_length)
    hint = f"e.g. {fixed!r}" if fixed and fixed != name else "use letters, digits and single underscores"
    return [Issue(path, f"{what} {_q(name)} " + "; ".join(problems), hint)]


@dataclass(frozen=True)
class StatusNames:
    """The status names references may use, computed once per check (a spec may hold many references)."""

    known: frozenset[str]
    by_label: dict[str, str]  # label, casefolded -> developer name
    derived: tuple[tuple[int, str, str], ...] = ()
    """(index in salesforce.statuses, developer name, label) of the statuses whose name is derived from the label:
    a label edit renames them, so an unknown reference may be the old name of one."""

    @classmethod
    def of(cls, managed: Iterable[tuple[str, str]], existing: Iterable[str]) -> StatusNames:
        """From the managed statuses' (developer name, label) pairs and the existing statuses' names."""
        pairs = list(managed)
        by_label = {label.casefold(): name for name, label in pairs}
        derived = tuple(
            (index, name, label) for index, (name, label) in enumerate(pairs) if derive_developer_name(label) == name
        )
        return cls(frozenset(name for name, _ in pairs) | frozenset(existing), by_label, derived)


def unknown_status(path: Path, value: str, statuses: StatusNames, what: str) -> list[Issue]:
    if value in statuses.known:
        return []
    if value.casefold() in statuses.by_label:
        name = statuses.by_label[value.casefold()]
        return [
            Issue(
                path, f"{what} {_q(value)} is a label; statuses are referred to by developer name", f"write {_q(name)}"
            )
        ]
    relabelled = relabelled_status(value, statuses)
    if relabelled is not None:
        return [Issue(path, f"{what} {_q(value)} is not a status this spec defines or lists as existing", relabelled)]
    otherwise = "Define it in salesforce.statuses, or list it in salesforce.existingStatuses if the org already has it"
    return [
        Issue(
            path,
            f"{what} {_q(value)} is not a status this spec defines or lists as existing",
            suggest(value, statuses.known, otherwise),
        )
    ]


def relabelled_status(value: str, statuses: StatusNames) -> str | None:
    """The pin to add when ``value`` looks like the old developer name of a status whose label was edited: its
    name is derived from the label, so the edit renamed it, and Salesforce replaces a renamed status (grants,
    rules and agents in it stay with the old one, which is deleted)."""
    if did_you_mean(value, statuses.known) is not None:
        return None  # a typo of a name the spec has: `suggest` says which
    names = {name: (index, label) for index, name, label in statuses.derived}
    close = difflib.get_close_matches(value, list(names), n=1, cutoff=0.3)
    if not close:
        return None
    index, label = names[close[0]]
    return (
        f"salesforce.statuses[{index}] (label {_q(label)}) derives developerName {_q(close[0])} from its label; if "
        f"it is the status {_q(value)} relabelled, pin `developerName: {value}` on it to keep the status (a new "
        f"developer name replaces the status in the org); otherwise define {_q(value)} or list it in "
        "salesforce.existingStatuses"
    )

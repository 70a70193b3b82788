"""YAML file -> `PresenceSpec`, or a `SpecError` listing every problem, one line each, with file, line, path
and a hint.

Order of work:

1. read at most `MAX_SPEC_BYTES` (a spec is a few kilobytes; a bigger file is refused unread);
2. parse with libyaml (`yaml.CSafeLoader`) when PyYAML has it, else the pure-Python `SafeLoader`, and compose
   the node graph ourselves with limits: nesting depth (`MAX_DEPTH`, aliases included), aliases
   (`MAX_ALIASES`) and nodes after alias expansion (`MAX_NODES`), so an alias bomb or 1,000 nested
   brackets are one problem, not a hang or a RecursionError. A syntax error stops here, with its line;
3. walk the graph once (an alias is walked where it is defined, not again where it is used): keys given
   twice in one mapping (PyYAML would silently keep the last; `<<` merge keys are allowed), values longer than
   `MAX_VALUE_CHARS` or holding a control character (see `text.py`), and keys that look like credentials
   (refused with a hint about Pulumi secrets, never a "did you mean", and never echoing the value);
4. build Python data (merge keys resolved). A value refused in step 3 stops here (with the other problems
   of step 3): it would otherwise be repeated, or change what is said about others (a label's derived
   developer name). Otherwise validate the shape with pydantic and run `checks`. When the shape is wrong
   somewhere, each top-level section that is fine on its own is still checked, so one typo doesn't hide
   the other problems. Problems at or under a credential-looking key are dropped: the walk reported it.

Problems quote values with `text.shown` (a short prefix of a long value). At most `MAX_PROBLEMS` are
listed; a last one says how many more there are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import Node

from .checks import Issue, check_cxone, check_runtime, check_salesforce, check_spec
from .explain import describe, looks_like_secret
from .models import CxoneSpec, PresenceSpec, RuntimeSpec, SalesforceSpec
from .text import describe_character, one_line, shown
from .yaml_nodes import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_NODES,
    MAX_VALUE_CHARS,
    Composer,
    Loader,
    PathT,
    Refused,
    Walk,
    locate,
)

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_PROBLEMS",
    "MAX_SPEC_BYTES",
    "MAX_VALUE_CHARS",
    "Problem",
    "SpecError",
    "format_path",
    "load_spec",
    "load_spec_text",
    "looks_like_secret",
    "one_line",
    "positions_in",
]

# Limits (the YAML composer's are in yaml_nodes): a spec is a few kilobytes.
MAX_SPEC_BYTES = 1024 * 1024
MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec file: where (file, YAML path, line), what, and how to fix it."""

    file: str
    path: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        """One line: ``file:line:column: path: message; hint: hint``."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return text + (f"; hint: {self.hint}" if self.hint else "")


class SpecError(Exception):
    """A spec file failed validation; `problems` lists what was found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)  # args hold the problems, so the error survives pickling

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the spec"
        return "\n".join([head + ":", *(str(problem) for problem in self.problems)])


def load_spec(path: str | Path) -> PresenceSpec:
    """Read and validate one spec file. Raises `SpecError`."""
    file = str(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError([Problem(file, "", "no such file")]) from None
    except OSError as exc:
        raise SpecError([Problem(file, "", f"can't read the file: {exc.strerror or exc}")]) from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError([_too_big(file)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError([Problem(file, "", "the file is not UTF-8 text", "save it as UTF-8", line=line)]) from None
    return load_spec_text(text, file)


def load_spec_text(text: str, file: str = "<string>") -> PresenceSpec:
    """Validate spec YAML given as text; `file` names it in problems. Raises `SpecError`."""
    if len(text) > MAX_SPEC_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError([_too_big(file)])
    spec, problems = _validate(text, file)
    if problems or spec is None:
        raise SpecError(problems)
    spec._source = file
    return spec


def format_path(path: PathT) -> str:
    """("salesforce", "statuses", 2, "channels", 0) -> "salesforce.statuses[2].channels[0]". A key that
    is long or not plain text is quoted with `shown`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _PLAIN_KEY.match(part) else shown(part)
        text += f".{name}" if text else name
    return text


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_<-]{1,40}$")


def _too_big(file: str) -> Problem:
    return Problem(
        file,
        "",
        f"the file is larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a few kilobytes",
        "is this the right file? A spec names statuses, rules and settings, never data or credentials",
    )


# ------------------------------------------------------------------------------------------- validation


def _validate(text: str, file: str) -> tuple[PresenceSpec | None, list[Problem]]:
    loader = Loader(text)
    try:
        root = Composer(loader).document()
        walked = Walk(root) if root is not None else None
        data = loader.construct_document(root) if root is not None else None
    except Refused as exc:
        line, column = _line_column(exc.mark)
        return None, [_problem(file, format_path(exc.path), exc.message, exc.hint, line, column)]
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        message = f"the file contains {describe_character(chr(exc.character))}, which YAML does not allow"
        return None, [_problem(file, "", message, "remove it", line, None)]
    except yaml.YAMLError as exc:
        return None, [_problem(file, "", f"YAML error: {exc}", None, None, None)]
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp-looking value that is no date
        return None, [_problem(file, "", f"a value can't be read: {exc}", "quote it to make it text", None, None)]
    finally:
        loader.dispose()
    if root is None or walked is None or data is None:
        return None, [Problem(file, "", "the file is empty", "start from stacks/sandbox.yaml", line=1)]
    if not isinstance(data, dict):
        return None, [
            Problem(
                file,
                "",
                "the top level must be a mapping (version: 1, salesforce: ..., ...)",
                line=root.start_mark.line + 1,
            )
        ]

    if walked.values:  # a refused value could change what validation says about others (a derived name)
        found_first = [*walked.values, *walked.secrets, *walked.duplicates]
        return None, _listed([_located(file, root, path, msg, hint) for path, msg, hint in found_first])

    located: list[tuple[PathT, str, str | None]] = [*walked.secrets, *walked.duplicates]
    spec: PresenceSpec | None = None
    try:
        # YAML keys are the camelCase aliases only; Python names stay valid for code that builds models.
        spec = PresenceSpec.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        found = [describe(error) for error in exc.errors(include_url=False)]
        issues = _check_sections(data)
    else:
        found = []
        issues = check_spec(spec)
    found += [(issue.path, issue.message, issue.hint) for issue in issues]
    # A key the walk refused is reported once, by the walk: nothing else about it (nor under it).
    refused = {path for path, _, _ in walked.secrets}
    located += [item for item in found if not any(item[0][:n] in refused for n in range(len(item[0]) + 1))]

    problems: dict[tuple[str, str], Problem] = {}
    for path, message, hint in located:
        problem = _located(file, root, path, message, hint)
        problems.setdefault((problem.path, problem.message), problem)
    ordered = _listed(list(problems.values()))
    return (spec if not ordered else None), ordered


def positions_in(file: str | None) -> Callable[[PathT], tuple[int, int] | None]:
    """path -> (line, column) of that entry in the spec file, for messages about a spec already loaded (so within
    the limits above); None for every path when there is no file or it cannot be read again."""
    root: Node | None = None
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8")
            loader = Loader(text)
            try:
                root = Composer(loader).document()
            finally:
                loader.dispose()
        except (OSError, UnicodeError, yaml.YAMLError, Refused):
            root = None

    def position(path: PathT) -> tuple[int, int] | None:
        if root is None:
            return None
        mark = locate(root, path)
        return mark.line + 1, mark.column + 1

    return position


def _located(file: str, root: Node, path: PathT, message: str, hint: str | None) -> Problem:
    mark = locate(root, path)
    return _problem(file, format_path(path), message, hint, mark.line + 1, mark.column + 1)


def _problem(file: str, path: str, message: str, hint: str | None, line: int | None, column: int | None) -> Problem:
    return Problem(file, path, one_line(message), one_line(hint) if hint else None, line, column)


def _listed(problems: list[Problem]) -> list[Problem]:
    """In file order, at most MAX_PROBLEMS of them and a last line saying how many more there are."""
    ordered = sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
    if len(ordered) <= MAX_PROBLEMS:
        return ordered
    rest = len(ordered) - MAX_PROBLEMS
    last = ordered[MAX_PROBLEMS - 1]
    more = Problem(
        last.file,
        "",
        f"{rest:,} more problem{'s' if rest != 1 else ''} not listed",
        "fix the ones above first; many of the rest may be the same mistake",
        last.line,
    )
    return [*ordered[:MAX_PROBLEMS], more]


def _line_column(mark: Any) -> tuple[int | None, int | None]:
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


def _check_sections(data: dict[str, Any]) -> list[Issue]:
    """Checks for the sections that are valid on their own, when the whole spec is not."""

    def section(model: type[BaseModel], key: str, default: Any = None) -> Any:
        try:
            return model.model_validate(data.get(key, default), by_alias=True, by_name=False)
        except ValidationError:
            return None

    sandbox = data.get("sandbox") is True
    sf: SalesforceSpec | None = section(SalesforceSpec, "salesforce")
    cx: CxoneSpec | None = section(CxoneSpec, "cxone")
    rt: RuntimeSpec | None = section(RuntimeSpec, "runtime", {})
    issues: list[Issue] = []
    if sf is not None:
        issues += check_salesforce(sf, sandbox=sandbox)
    if cx is not None:
        issues += check_cxone(cx, sf)
    if rt is not None:
        issues += check_runtime(rt, sandbox=sandbox)
    return issues


def _syntax_problem(file: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    message = f"YAML syntax error: {exc.problem or exc.context}"
    hint = None
    if exc.context and exc.context_mark is not None and exc.problem:
        hint = f"{exc.context} (line {exc.context_mark.line + 1})"
    if exc.problem and "mapping values are not allowed" in exc.problem:
        hint = "a value containing ': ' must be quoted, e.g. \"Unavailable:Break\""
    if exc.problem and "maximum nesting depth" in exc.problem:  # libyaml's own limit, met before ours
        message = f"YAML nesting is deeper than {MAX_DEPTH} levels"
        hint = "a spec is a few levels deep; look for unbalanced [ or {"
    line, column = _line_column(mark)
    return _problem(file, "", message, hint, line, column)

"""YAML file -> `PresenceSpec`, or a `SpecError` listing every problem with file, line, path and a hint.

Order of work: parse the YAML (a syntax error stops here, with its line and column); report keys that
appear twice in one mapping (PyYAML would silently keep the last); validate the shape with pydantic; run
`checks`. When the shape is wrong somewhere, each top-level section that is fine on its own is still checked,
so one typo doesn't hide the other problems.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .checks import Issue, check_cxone, check_runtime, check_salesforce, check_spec
from .models import CxoneSpec, PresenceSpec, RuntimeSpec, SalesforceSpec

__all__ = ["Problem", "SpecError", "format_path", "load_spec", "load_spec_text"]

PathT = tuple[str | int, ...]


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
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")


class SpecError(Exception):
    """A spec file failed validation; `problems` lists all that was found, in file order."""

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
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(file, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(file, "", f"can't read the file: {exc}")]) from None
    return load_spec_text(text, file)


def load_spec_text(text: str, file: str = "<string>") -> PresenceSpec:
    """Validate spec YAML given as text; `file` names it in problems. Raises `SpecError`."""
    spec, problems = _validate(text, file)
    if problems or spec is None:
        raise SpecError(problems)
    spec._source = file
    return spec


def format_path(path: PathT) -> str:
    """("salesforce", "statuses", 2, "channels", 0) -> "salesforce.statuses[2].channels[0]"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# ------------------------------------------------------------------------------------------- validation


def _validate(text: str, file: str) -> tuple[PresenceSpec | None, list[Problem]]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    except yaml.YAMLError as exc:
        return None, [Problem(file, "", f"YAML error: {exc}")]
    finally:
        loader.dispose()
    if root is None or data is None:
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

    located: list[tuple[PathT, str, str | None]] = list(_duplicate_keys(root, ()))
    spec: PresenceSpec | None = None
    try:
        # YAML keys are the camelCase aliases only; Python names stay valid for code that builds models.
        spec = PresenceSpec.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        located += [_describe(error) for error in exc.errors(include_url=False)]
        issues = _check_sections(data)
    else:
        issues = check_spec(spec)
    located += [(issue.path, issue.message, issue.hint) for issue in issues]

    problems: dict[tuple[str, str], Problem] = {}
    for path, message, hint in located:
        mark = _locate(root, path)
        problem = Problem(file, format_path(path), message, hint, mark.line + 1, mark.column + 1)
        problems.setdefault((problem.path, message), problem)
    ordered = sorted(problems.values(), key=lambda p: (p.line or 0, p.column or 0))
    return (spec if not ordered else None), ordered


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
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem(file, "", message, hint, line, column)


def _duplicate_keys(node: Node, path: PathT) -> Iterator[tuple[PathT, str, str | None]]:
    if isinstance(node, MappingNode):
        first_line: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value != "<<":
                if key.value in first_line:
                    yield (
                        (*path, key.value),
                        f"key {key.value!r} appears twice in this mapping (also line {first_line[key.value]})",
                        "YAML keeps only the last one; remove or merge the other",
                    )
                first_line.setdefault(key.value, key.start_mark.line + 1)
                yield from _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def _locate(root: Node, path: PathT) -> yaml.Mark:
    """The position of `path` in the file: a key's position for mappings, an item's for lists; for a path
    that doesn't exist (a missing key), the deepest part that does."""
    node, mark = root, root.start_mark
    for part in path:
        if isinstance(node, MappingNode) and isinstance(part, str):
            match = [(k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == part]
            if not match:
                break
            key, node = match[-1]
            mark = key.start_mark
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return mark


# ------------------------------------------------------------------------------ pydantic errors, explained


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model inside `annotation` (X, X | None, tuple[X, ...], Annotated[X, ...]), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation) if get_origin(annotation) is not None else ():
        if arg is not Ellipsis and (model := _model_of(arg)) is not None:
            return model
    return None


def _fields_at(path: PathT) -> dict[str, str]:
    """YAML key -> description for the model at `path` (list indices ignored); empty when not a model."""
    model: type[BaseModel] | None = PresenceSpec
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for name, f in model.model_fields.items() if (f.alias or name) == part), None)
        model = _model_of(field.annotation) if field is not None else None
    if model is None:
        return {}
    return {(f.alias or name): f.description or "" for name, f in model.model_fields.items()}


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    for kind, name in (
        (bool, "true/false"),
        (int, "a number"),
        (float, "a number"),
        (str, "text"),
        (list, "a list"),
        (dict, "a mapping"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _describe(error: Any) -> tuple[PathT, str, str | None]:
    loc: PathT = tuple(error["loc"])
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    got = _yaml_kind(value)
    if kind == "missing":
        key = str(loc[-1])
        description = _fields_at(loc[:-1]).get(key)
        return loc[:-1], f"missing required key {key!r}", description or None
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = list(_fields_at(loc[:-1]))
        folded = {a.replace("_", "").casefold(): a for a in allowed}
        guess = folded.get(key.replace("_", "").casefold()) or next(
            iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None
        )
        hint = f"did you mean {guess!r}?" if guess else f"allowed keys here: {', '.join(allowed)}"
        return loc, f"unknown key {key!r}", hint
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        if loc == ("version",):
            return loc, f"unsupported spec version {value!r}; this presence-sync reads version 1", None
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        guess = next(iter(difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)), None)
        return loc, f"{value!r} is not one of {expected}", (f"did you mean {guess!r}?" if guess else None)
    if kind == "string_type":
        return loc, f"must be text, not {got}", ("quote it" if isinstance(value, (bool, int, float)) else None)
    if kind == "int_type":
        return loc, f"must be a whole number, not {got}", None
    if kind == "bool_type":
        return loc, f"must be true or false, not {got}", None
    if kind in ("tuple_type", "list_type"):
        hint = f"write [{value}]" if isinstance(value, str) else "e.g. [a, b], or one '- item' per line"
        return loc, f"must be a list, not {got}", hint
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, f"must be a mapping of keys to values, not {got}", None
    if kind == "greater_than_equal":
        return loc, f"must be at least {ctx.get('ge')}, not {value!r}", None
    if kind == "less_than_equal":
        return loc, f"must be at most {ctx.get('le')}, not {value!r}", None
    return loc, str(error["msg"]), None

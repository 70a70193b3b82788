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

import difflib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .checks import Issue, check_cxone, check_runtime, check_salesforce, check_spec
from .models import CxoneSpec, PresenceSpec, RuntimeSpec, SalesforceSpec
from .text import bad_character, describe_character, shown

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

PathT = tuple[str | int, ...]

# Limits. The largest example spec (stacks/prod.yaml) is 3.6 kB, 7 levels deep, ~250 nodes, no alias.
MAX_SPEC_BYTES = 1024 * 1024
MAX_DEPTH = 32  # nested mappings/lists, counted after alias expansion
MAX_ALIASES = 1_000  # alias uses (*name) in one file
MAX_NODES = 100_000  # scalars, lists and mappings after alias expansion
MAX_VALUE_CHARS = 1_000  # any one value or key; Salesforce's longest field we write is far shorter
MAX_PROBLEMS = 100
_MESSAGE_MAX = 400  # a safety net: no message or hint line is longer, whatever went into it

# YAML's C loader when PyYAML was built with libyaml: ~50x faster on big input than the pure-Python one.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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

_SECRET_WORDS = re.compile(r"secret|passw(or)?d|passphrase|token|apikey|privatekey|credential|accesskey|pwd$")


def looks_like_secret(key: str) -> bool:
    """A key someone would put a credential under: *Secret, password, token, apiKey, accessKeyId, ...
    (case, '_' and '-' ignored). Keys the spec defines (requireSecretForRefreshTokenFlow) are not."""
    if key in _all_keys():
        return False
    return bool(_SECRET_WORDS.search(re.sub(r"[^a-z0-9]", "", key.casefold())))


def _too_big(file: str) -> Problem:
    return Problem(
        file,
        "",
        f"the file is larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a few kilobytes",
        "is this the right file? A spec names statuses, rules and settings, never data or credentials",
    )


# ------------------------------------------------------------------------------------------- validation


class _Refused(Exception):
    """The YAML can't be composed within the limits (or at all): one problem, and the parse stops."""

    def __init__(self, message: str, hint: str | None, mark: Any, path: PathT = ()) -> None:
        super().__init__(message)
        self.message, self.hint, self.mark, self.path = message, hint, mark, path


def _validate(text: str, file: str) -> tuple[PresenceSpec | None, list[Problem]]:
    loader = _Loader(text)
    try:
        root = _Composer(loader).document()
        walked = _Walk(root) if root is not None else None
        data = loader.construct_document(root) if root is not None else None
    except _Refused as exc:
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
        found = [_describe(error) for error in exc.errors(include_url=False)]
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
            loader = _Loader(text)
            try:
                root = _Composer(loader).document()
            finally:
                loader.dispose()
        except (OSError, UnicodeError, yaml.YAMLError, _Refused):
            root = None

    def position(path: PathT) -> tuple[int, int] | None:
        if root is None:
            return None
        mark = _locate(root, path)
        return mark.line + 1, mark.column + 1

    return position


def _located(file: str, root: Node, path: PathT, message: str, hint: str | None) -> Problem:
    mark = _locate(root, path)
    return _problem(file, format_path(path), message, hint, mark.line + 1, mark.column + 1)


def _problem(file: str, path: str, message: str, hint: str | None, line: int | None, column: int | None) -> Problem:
    return Problem(file, path, one_line(message), one_line(hint) if hint else None, line, column)


def one_line(text: str) -> str:
    """Messages are built to be one short line; this makes sure, whatever a library put into one."""
    text = " ".join(text[: _MESSAGE_MAX * 2].split())
    bad = bad_character(text)
    while bad is not None:
        text = text[: bad[0]] + f"\\u{ord(bad[1]):04x}" + text[bad[0] + 1 :]
        bad = bad_character(text)
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 3] + "..."


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


# ------------------------------------------------------------------------------------------ composing


class _Composer:
    """Events -> the node graph, like PyYAML's Composer, but bounded: depth, alias uses and the number of
    nodes after alias expansion are counted as the graph is built (with each anchored node's expanded size
    and height remembered, so the counting is linear however aliases nest), and the first limit crossed
    stops the parse. The recursion is at most MAX_DEPTH deep."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.anchors: dict[str, Node] = {}
        self.open: set[int] = set()  # ids of collections being composed (an alias to one is a cycle)
        self.size: dict[int, int] = {}  # id(anchored node) -> nodes after expansion
        self.height: dict[int, int] = {}  # id(anchored node) -> levels of collections in it, expanded
        self.aliases = 0
        self.nodes = 0

    def document(self) -> Node | None:
        loader = self.loader
        loader.get_event()  # StreamStartEvent
        if loader.check_event(StreamEndEvent):
            return None
        loader.get_event()  # DocumentStartEvent
        node, _, _ = self.node((), 0)
        loader.get_event()  # DocumentEndEvent
        if not loader.check_event(StreamEndEvent):
            mark = loader.peek_event().start_mark
            raise _Refused("the file holds more than one YAML document ('---')", "keep one spec per file", mark)
        return node

    def count(self, added: int, mark: Any, path: PathT) -> None:
        self.nodes += added
        if self.nodes > MAX_NODES:
            raise _Refused(
                f"the spec has more than {MAX_NODES:,} values once its aliases are expanded",
                "a spec this big is a mistake or an alias bomb; aliases (*name) may not multiply the content",
                mark,
                path,
            )

    def node(self, path: PathT, depth: int) -> tuple[Node, int, int]:
        """(node, its size after expansion, its height in collections)."""
        loader = self.loader
        if loader.check_event(AliasEvent):
            return self.alias(loader.get_event(), path, depth)
        event: Any = loader.peek_event()
        anchor = event.anchor
        start: Any = event.start_mark
        if anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].start_mark.line + 1
            raise _Refused(
                f"anchor &{shown(anchor)[1:-1]} is defined twice (also line {first})",
                "give each anchor its own name",
                event.start_mark,
                path,
            )
        if isinstance(event, ScalarEvent):
            loader.get_event()
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            end: Any = event.end_mark
            scalar = ScalarNode(tag, event.value, start, end, style=event.style)
            if anchor is not None:
                self.anchors[anchor] = scalar
                self.size[id(scalar)], self.height[id(scalar)] = 1, 0
            self.count(1, event.start_mark, path)
            return scalar, 1, 0
        if depth >= MAX_DEPTH:
            raise _Refused(
                f"nested more than {MAX_DEPTH} levels deep",
                "a spec is a few levels deep; look for unbalanced [ or { or a runaway indentation",
                event.start_mark,
                path,
            )
        loader.get_event()
        tag = event.tag
        collection: Node
        if isinstance(event, SequenceStartEvent):
            if tag is None or tag == "!":
                tag = loader.resolve(SequenceNode, None, event.implicit)
            collection = SequenceNode(tag, [], start, None, flow_style=event.flow_style)
        elif isinstance(event, MappingStartEvent):
            if tag is None or tag == "!":
                tag = loader.resolve(MappingNode, None, event.implicit)
            collection = MappingNode(tag, [], start, None, flow_style=event.flow_style)
        else:  # the parser only yields these; anything else is a bug in this composer
            raise _Refused(f"unexpected YAML event {type(event).__name__}", None, event.start_mark, path)
        if anchor is not None:
            self.anchors[anchor] = collection
        self.open.add(id(collection))
        self.count(1, event.start_mark, path)
        size, height = 1, 0
        if isinstance(collection, SequenceNode):
            index = 0
            while not loader.check_event(SequenceEndEvent):
                item, item_size, item_height = self.node((*path, index), depth + 1)
                collection.value.append(item)
                size, height, index = size + item_size, max(height, item_height), index + 1
        else:
            while not loader.check_event(MappingEndEvent):
                key, key_size, key_height = self.node(path, depth + 1)
                part = key.value if isinstance(key, ScalarNode) and isinstance(key.value, str) else "?"
                value, value_size, value_height = self.node((*path, part), depth + 1)
                collection.value.append((key, value))
                size += key_size + value_size
                height = max(height, key_height, value_height)
        collection.end_mark = loader.get_event().end_mark
        self.open.discard(id(collection))
        if anchor is not None:
            self.size[id(collection)], self.height[id(collection)] = size, height + 1
        return collection, size, height + 1

    def alias(self, event: Any, path: PathT, depth: int) -> tuple[Node, int, int]:
        name = shown(event.anchor)[1:-1]
        if event.anchor not in self.anchors:
            raise _Refused(
                f"alias *{name} refers to no anchor",
                f"define &{name} before its first use (anchors apply from where they are written)",
                event.start_mark,
                path,
            )
        node = self.anchors[event.anchor]
        if id(node) in self.open:
            raise _Refused(
                f"alias *{name} is inside the value it refers to (a cycle)",
                "an alias may only repeat a value that is complete where the alias is used",
                event.start_mark,
                path,
            )
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _Refused(
                f"more than {MAX_ALIASES:,} aliases (*name)",
                "a spec needs few if any; write the values out",
                event.start_mark,
                path,
            )
        size, height = self.size[id(node)], self.height[id(node)]
        if depth + height > MAX_DEPTH:
            raise _Refused(
                f"alias *{name} nests the spec more than {MAX_DEPTH} levels deep",
                "aliases of aliases multiply depth; write the values out",
                event.start_mark,
                path,
            )
        self.count(size, event.start_mark, path)
        return node, size, height


# -------------------------------------------------------------------------------------------- walking


@dataclass
class _Walk:
    """One pass over the composed graph, each node once (where it is first written, not again at each
    alias). `values` are values too long or holding a control character: the file is refused with them,
    before validation. `secrets` are keys that look like credentials (their values are never looked at),
    and `duplicates` keys given twice in one mapping: both are reported with whatever validation finds."""

    root: Node
    values: list[tuple[PathT, str, str | None]] = field(default_factory=list)
    secrets: list[tuple[PathT, str, str | None]] = field(default_factory=list)
    duplicates: list[tuple[PathT, str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seen: set[int] = set()
        self.visit(self.root, ())

    def visit(self, node: Node, path: PathT) -> None:
        if id(node) in self.seen:
            return
        self.seen.add(id(node))
        if isinstance(node, ScalarNode):
            self.scalar(node, path)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.visit(item, (*path, index))
        elif isinstance(node, MappingNode):
            self.mapping(node, path)

    def mapping(self, node: MappingNode, path: PathT) -> None:
        first_line: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.visit(key, path)  # an unhashable key: the constructor refuses it
                self.visit(value, path)
                continue
            name = key.value
            if name == "<<" and key.tag == "tag:yaml.org,2002:merge":
                # A merge key adds the keys of a mapping (or of each mapping in a list) to this one.
                items = value.value if isinstance(value, SequenceNode) else [value]
                for item in items:
                    self.visit(item, path)
                continue
            if self.scalar(key, (*path, name)):
                continue
            if looks_like_secret(name):
                self.secrets.append(_secret_problem((*path, name)))
                continue  # the value is not looked at, so nothing quotes it
            if name in first_line:
                self.duplicates.append(
                    (
                        (*path, name),
                        f"key {shown(name)} appears twice in this mapping (also line {first_line[name]})",
                        "YAML keeps only the last one; remove or merge the other",
                    )
                )
            first_line.setdefault(name, key.start_mark.line + 1)
            self.visit(value, (*path, name))

    def scalar(self, node: ScalarNode, path: PathT) -> bool:
        """True when the value is refused (a problem was added)."""
        value = node.value
        if len(value) > MAX_VALUE_CHARS:
            self.values.append(
                (
                    path,
                    f"value is {len(value):,} characters long; no spec value may be longer than {MAX_VALUE_CHARS:,}",
                    f"it starts {shown(value, 20)}; is something pasted here by mistake?",
                )
            )
            return True
        bad = bad_character(value)
        if bad is not None:
            index, char = bad
            what = describe_character(char)
            hint = (
                "write the value on one line (a '|' or '>' block adds line breaks; '>-' does not end with one)"
                if "line break" in what
                else "remove it; spec values are one line of printable text"
            )
            self.values.append((path, f"value contains {what} at position {index + 1}", hint))
            return True
        return False


def _secret_problem(path: PathT) -> tuple[PathT, str, str | None]:
    key = str(path[-1])
    return (
        path,
        f"key {shown(key)} looks like a credential; credentials never go in a spec (its value is not shown)",
        "remove it (and rotate it if it was ever committed); give it to `pulumi up` through the environment "
        "(e.g. CXONE_ACCESS_KEY_SECRET, see README 'Environment variables') or as a stack secret with "
        "`pulumi config set --secret <name>`",
    )


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


@functools.cache
def _all_keys() -> frozenset[str]:
    """Every YAML key of every model of the spec."""
    keys: set[str] = set()
    todo: list[type[BaseModel]] = [PresenceSpec]
    seen: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
            if (inner := _model_of(info.annotation)) is not None:
                todo.append(inner)
    return frozenset(keys)


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
        if looks_like_secret(key):
            return _secret_problem(loc)
        allowed = list(_fields_at(loc[:-1]))
        folded = {a.replace("_", "").casefold(): a for a in allowed}
        guess = folded.get(key.replace("_", "").casefold()) or next(
            iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None
        )
        hint = f"did you mean {guess!r}?" if guess else f"allowed keys here: {', '.join(allowed)}"
        return loc, f"unknown key {shown(key)}", hint
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        if loc == ("version",):
            if isinstance(value, str) and value.strip() == "1":
                return loc, f"version must be the number 1, not the text {value!r}", "write version: 1 without quotes"
            return (
                loc,
                f"unsupported spec version {shown(value)}; this presence-sync reads version 1",
                "write version: 1" if isinstance(value, str) else None,
            )
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        guess = None
        if isinstance(value, str) and len(value) <= 100:
            guess = next(iter(difflib.get_close_matches(value, options, n=1, cutoff=0.5)), None)
        return loc, f"{shown(value)} is not one of {expected}", (f"did you mean {guess!r}?" if guess else None)
    if kind == "string_type":
        return loc, f"must be text, not {got}", ("quote it" if isinstance(value, (bool, int, float)) else None)
    if kind == "int_type":
        return loc, f"must be a whole number, not {got}", None
    if kind == "bool_type":
        return loc, f"must be true or false, not {got}", None
    if kind in ("tuple_type", "list_type"):
        hint = (
            f"write [{value}]"
            if isinstance(value, str) and len(value) <= 60
            else "e.g. [a, b], or one '- item' per line"
        )
        return loc, f"must be a list, not {got}", hint
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, f"must be a mapping of keys to values, not {got}", None
    if kind == "greater_than_equal":
        return loc, f"must be at least {ctx.get('ge')}, not {shown(value)}", None
    if kind == "less_than_equal":
        return loc, f"must be at most {ctx.get('le')}, not {shown(value)}", None
    return loc, one_line(str(error["msg"])), None

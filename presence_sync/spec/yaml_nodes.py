"""The spec's YAML composed into a node graph within limits, and walked once for what must be refused before
validation. PyYAML's own composer has no limits (an alias bomb or deep nesting is a hang or a RecursionError),
so the events are composed here, counted as they come; see ``loader`` for the order of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
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

from .explain import looks_like_secret, secret_problem
from .text import bad_character, describe_character, shown

PathT = tuple[str | int, ...]

# Limits. The largest example spec (stacks/prod.yaml) is 3.6 kB, 7 levels deep, ~250 nodes, no alias.
MAX_DEPTH = 32  # nested mappings/lists, counted after alias expansion
MAX_ALIASES = 1_000  # alias uses (*name) in one file
MAX_NODES = 100_000  # scalars, lists and mappings after alias expansion
MAX_VALUE_CHARS = 1_000  # any one value or key; Salesforce's longest field we write is far shorter

# libyaml's parser when PyYAML was built with it (fast), else the pure-Python one: the same events either way.
Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Refused(Exception):
    """The YAML can't be composed within the limits (or at all): one problem, and the parse stops."""

    def __init__(self, message: str, hint: str | None, mark: Any, path: PathT = ()) -> None:
        super().__init__(message)
        self.message, self.hint, self.mark, self.path = message, hint, mark, path


class Composer:
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
            raise Refused("the file holds more than one YAML document ('---')", "keep one spec per file", mark)
        return node

    def count(self, added: int, mark: Any, path: PathT) -> None:
        self.nodes += added
        if self.nodes > MAX_NODES:
            raise Refused(
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
        if anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].start_mark.line + 1
            raise Refused(
                f"anchor &{shown(anchor)[1:-1]} is defined twice (also line {first})",
                "give each anchor its own name",
                event.start_mark,
                path,
            )
        if isinstance(event, ScalarEvent):
            return self.scalar(event, path)
        if depth >= MAX_DEPTH:
            raise Refused(
                f"nested more than {MAX_DEPTH} levels deep",
                "a spec is a few levels deep; look for unbalanced [ or { or a runaway indentation",
                event.start_mark,
                path,
            )
        return self.collection(event, path, depth)

    def scalar(self, event: Any, path: PathT) -> tuple[Node, int, int]:
        loader = self.loader
        loader.get_event()
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(ScalarNode, event.value, event.implicit)
        scalar = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        if event.anchor is not None:
            self.anchors[event.anchor] = scalar
            self.size[id(scalar)], self.height[id(scalar)] = 1, 0
        self.count(1, event.start_mark, path)
        return scalar, 1, 0

    def collection(self, event: Any, path: PathT, depth: int) -> tuple[Node, int, int]:
        loader, anchor, start = self.loader, event.anchor, event.start_mark
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
            raise Refused(f"unexpected YAML event {type(event).__name__}", None, event.start_mark, path)
        if anchor is not None:
            self.anchors[anchor] = collection
        self.open.add(id(collection))
        self.count(1, event.start_mark, path)
        size, height = self.items(collection, path, depth)
        collection.end_mark = loader.get_event().end_mark
        self.open.discard(id(collection))
        if anchor is not None:
            self.size[id(collection)], self.height[id(collection)] = size, height + 1
        return collection, size, height + 1

    def items(self, collection: Node, path: PathT, depth: int) -> tuple[int, int]:
        """Compose a collection's items (a mapping's keys and values); (its size, the height of its items)."""
        loader, size, height = self.loader, 1, 0
        if isinstance(collection, SequenceNode):
            index = 0
            while not loader.check_event(SequenceEndEvent):
                item, item_size, item_height = self.node((*path, index), depth + 1)
                collection.value.append(item)
                size, height, index = size + item_size, max(height, item_height), index + 1
            return size, height
        while not loader.check_event(MappingEndEvent):
            key, key_size, key_height = self.node(path, depth + 1)
            part = key.value if isinstance(key, ScalarNode) and isinstance(key.value, str) else "?"
            value, value_size, value_height = self.node((*path, part), depth + 1)
            collection.value.append((key, value))
            size += key_size + value_size
            height = max(height, key_height, value_height)
        return size, height

    def alias(self, event: Any, path: PathT, depth: int) -> tuple[Node, int, int]:
        name = shown(event.anchor)[1:-1]
        if event.anchor not in self.anchors:
            raise Refused(
                f"alias *{name} refers to no anchor",
                f"define &{name} before its first use (anchors apply from where they are written)",
                event.start_mark,
                path,
            )
        node = self.anchors[event.anchor]
        if id(node) in self.open:
            raise Refused(
                f"alias *{name} is inside the value it refers to (a cycle)",
                "an alias may only repeat a value that is complete where the alias is used",
                event.start_mark,
                path,
            )
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise Refused(
                f"more than {MAX_ALIASES:,} aliases (*name)",
                "a spec needs few if any; write the values out",
                event.start_mark,
                path,
            )
        size, height = self.size[id(node)], self.height[id(node)]
        if depth + height > MAX_DEPTH:
            raise Refused(
                f"alias *{name} nests the spec more than {MAX_DEPTH} levels deep",
                "aliases of aliases multiply depth; write the values out",
                event.start_mark,
                path,
            )
        self.count(size, event.start_mark, path)
        return node, size, height


@dataclass
class Walk:
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
                self.secrets.append(secret_problem((*path, name)))
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


def locate(root: Node, path: PathT) -> yaml.Mark:
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

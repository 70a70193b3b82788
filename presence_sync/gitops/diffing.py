"""Pure helpers for reports: masking secrets and turning two input dictionaries into field-level changes.

The engine's events carry each resource's old and new inputs and outputs. Our dynamic providers do not return a
detailed diff (and a refresh never has one), so the changed fields are computed here with deepdiff, the same way
for a preview (last applied -> spec) and for a refresh (last applied -> live). Secrets are masked before any
comparison; whether a secret changed comes from keyed fingerprints the providers compute (``fingerprint``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from presence_sync.gitops import fingerprint

SECRET = "[secret]"
UNKNOWN = "(known after apply)"

# The engine's marker for a secret value in state and events ({"4dabf18193072939515e22adb298388d": ...}).
SECRET_SIG = "4dabf18193072939515e22adb298388d"
# The engine's placeholder for an output that is not known during a preview.
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

IGNORED_KEYS = frozenset({"__provider", "specLocation"})
"""Bookkeeping, never a property of the vendor's object: the engine's pickled provider, and where in the spec file
an entry is (for error messages; it moves whenever a line above it is edited, and no provider diffs it)."""

_SECRET_NAME = re.compile(r"secret|password|passphrase|token|consumerkey|privatekey|apikey", re.IGNORECASE)


def secret_name(key: str) -> bool:
    """A property named like a credential (consumerSecret, accessKeySecret, password, token ...)."""
    return bool(_SECRET_NAME.search(key.replace("_", "")))


def mask(value: Any, key: str | None = None) -> Any:
    """The value with every secret replaced by ``[secret]``: Pulumi secrets, and any non-boolean value under a
    key named like a credential (``requireSecretForWebServerFlow: true`` is a flag, not a secret)."""
    if isinstance(value, Mapping):
        if SECRET_SIG in value:
            return SECRET
        return {str(k): mask(v, str(k)) for k, v in value.items() if k not in IGNORED_KEYS}
    if key is not None and secret_name(key) and value is not None and not isinstance(value, bool):
        return SECRET
    if isinstance(value, list | tuple):
        return [mask(item, key) for item in value]
    if value == UNKNOWN_SENTINEL:
        return UNKNOWN
    return value


@dataclass(frozen=True)
class FieldChange:
    """One changed property, dotted path (``subscriber[1].acd``), values already masked; ``note`` says in words
    what a value cannot (a secret changed: the values are then keyed fingerprints, never the secret)."""

    path: str
    old: Any
    new: Any
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        noted = {"note": self.note} if self.note else {}
        return {"path": self.path, "old": self.old, "new": self.new, **noted}


_MISSING: Any = object()


def field_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[FieldChange]:
    """Changed fields between two input dictionaries (masked first, so a secret never leaks into a path or a
    value), found by deepdiff. A change is reported where a reviewer reads it: maps by key, lists of maps of
    equal length by index (``subscriber[1].acd``), any other list whole (``channels``). Sorted by path."""
    before, after = mask(dict(old or {})), mask(dict(new or {}))
    tree = DeepDiff(before, after, ignore_order=False, view="tree", threshold_to_diff_deeper=0)
    paths = {
        _reported(tuple(level.path(output_format="list")), before, after)
        for levels in tree.values()
        for level in levels
    }
    changes = [FieldChange(_dotted(path), _at(before, path), _at(after, path)) for path in paths]
    return sorted(changes, key=lambda change: change.path)


def _reported(path: tuple[Any, ...], before: Any, after: Any) -> tuple[Any, ...]:
    """The path cut at the first list that is not a list of maps of the same length on both sides."""
    for depth, part in enumerate(path):
        if isinstance(part, int):
            old_list, new_list = _at(before, path[:depth], _MISSING), _at(after, path[:depth], _MISSING)
            if not _indexed(old_list, new_list):
                return path[:depth]
    return path


def _indexed(old: Any, new: Any) -> bool:
    return (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and all(isinstance(item, dict) for item in [*old, *new])
    )


def _at(value: Any, path: tuple[Any, ...], missing: Any = None) -> Any:
    for part in path:
        if not _has(value, part):
            return missing
        value = value[part]
    return value


def _has(value: Any, part: Any) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and part < len(value)


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def secret_changes(fingerprints: Any) -> list[FieldChange]:
    """Secrets whose live value is not the one the stack applied, from a provider's keyed fingerprints
    (``fingerprint.FINGERPRINTS``): the values shown are the fingerprints, the note says what changed."""
    return [
        FieldChange(
            name,
            fingerprints[name].get("applied"),
            fingerprints[name].get("live"),
            f"{words(name)} changed outside the stack",
        )
        for name in fingerprint.changed(fingerprints)
    ]


def words(name: str) -> str:
    """'consumerKey' -> 'consumer key'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower()


def show(value: Any) -> str:
    """A compact one-line rendering of a value for a report (strings bare, the rest as JSON)."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)

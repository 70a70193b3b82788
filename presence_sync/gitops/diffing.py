"""Pure helpers for reports: masking secrets and turning two input dictionaries into field-level changes.

The engine's events carry each resource's old and new *inputs*. Our dynamic providers do not return a
detailed diff (and a refresh never has one), so the changed fields are computed here, the same way for a
preview (last applied -> spec) and for a refresh (last applied -> live).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    """One changed property, dotted path (``subscriber[1].acd``), values already masked."""

    path: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}


_MISSING: Any = object()


def field_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[FieldChange]:
    """Changed fields between two input dictionaries (masked first, so a secret never leaks into a path or a
    value). Maps recurse by key; lists of equal length of maps recurse by index; other values are compared
    whole. Sorted by path."""
    changes: list[FieldChange] = []
    _walk("", mask(dict(old or {})), mask(dict(new or {})), changes)
    return sorted(changes, key=lambda change: change.path)


def _walk(path: str, old: Any, new: Any, out: list[FieldChange]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(f"{path}.{key}" if path else key, old.get(key, _MISSING), new.get(key, _MISSING), out)
        return
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and all(isinstance(item, dict) for item in [*old, *new])
    ):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            _walk(f"{path}[{index}]", before, after, out)
        return
    out.append(FieldChange(path, None if old is _MISSING else old, None if new is _MISSING else new))


def show(value: Any) -> str:
    """A compact one-line rendering of a value for a report (strings bare, the rest as JSON)."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)

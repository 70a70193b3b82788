"""The emulated org: the store plus the sObject catalogue (standard objects and deployed platform events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .errors import ApiError
from .ids import ORG_ID
from .platform_events import platform_event_object
from .schema import STANDARD_OBJECTS, ObjectDef
from .store import Store

__all__ = ["DEFAULT_SETTINGS", "Org", "format_datetime", "parse_datetime"]

# Org settings the operator can change (GET/PUT /__sandbox/salesforce/settings).
DEFAULT_SETTINGS: dict[str, Any] = {
    # Spring '26: "Connected apps creation is restricted"; an org must allow it explicitly.
    "allowConnectedAppCreation": False,
    # ExternalClientAppSettings.enableClientSecretInRestApiAccess (API 62.0+), off unless enabled.
    "enableClientSecretInRestApiAccess": False,
    "sessionTtlSeconds": 7200,
    "dailyApiRequestLimit": 100_000,
}


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's REST dateTime format: ``2024-05-01T12:00:00.000+0000`` (always UTC)."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(value: str) -> dt.datetime:
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return dt.datetime.fromisoformat(text)


class Org:
    def __init__(self, store: Store, base_url: str) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.org_id = ORG_ID
        self._events: dict[str, ObjectDef] = {}
        # Called with (event name, event fields, publishing user id) when a platform event is published.
        self.event_listeners: list[Callable[[str, dict[str, Any], str], None]] = []
        self._usage_day = ""
        self.published_events = 0
        self._usage = 0
        self.reload_events()

    def count_api_call(self) -> tuple[int, int]:
        """Count one API request against the daily limit; returns (used, limit). Kept in memory only."""
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        if today != self._usage_day:
            self._usage_day, self._usage = today, 0
        self._usage += 1
        return self._usage, int(self.setting("dailyApiRequestLimit"))

    def api_usage(self) -> int:
        return self._usage

    def setting(self, key: str) -> Any:
        return self.store.settings.get(key, DEFAULT_SETTINGS[key])

    def now(self) -> str:
        return format_datetime(dt.datetime.now(dt.UTC))

    # -- catalogue -----------------------------------------------------------------------------------------
    def reload_events(self) -> None:
        """Rebuild the sObject view of deployed platform events from their CustomObject metadata."""
        events: dict[str, ObjectDef] = {}
        for component in self.store.metadata_all("CustomObject"):
            name = component["fullName"][0]
            if not name.endswith("__e"):
                continue
            fields = [
                {key: (values[0] if values else None) for key, values in f.items()}
                for f in component.get("fields", [])
                if isinstance(f, dict)
            ]
            for f in fields:
                f["required"] = str(f.get("required")).lower() == "true"
            events[name] = platform_event_object(
                name,
                _first(component, "label", name),
                _first(component, "pluralLabel", name),
                fields,
                component["_keyPrefix"],
            )
        self._events = events

    def objects(self) -> list[ObjectDef]:
        return [*STANDARD_OBJECTS.values(), *self._events.values()]

    def object_def(self, name: str) -> ObjectDef | None:
        lowered = name.lower()
        for candidate in self.objects():
            if candidate.name.lower() == lowered:
                return candidate
        return None

    def require_object(self, name: str) -> ObjectDef:
        found = self.object_def(name)
        if found is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return found

    def live(self, sobject: str) -> list[dict[str, Any]]:
        return [r for r in self.store.table(sobject).values() if not r.get("IsDeleted")]

    def find_live(self, sobject: str, **criteria: Any) -> dict[str, Any] | None:
        for record in self.store.table(sobject).values():
            if record.get("IsDeleted"):
                continue
            if all(_match(record.get(k), v) for k, v in criteria.items()):
                return record
        return None


def _first(raw: dict[str, Any], key: str, default: str) -> str:
    values = raw.get(key) or []
    return str(values[0]) if values and values[0] is not None else default


def _match(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return bool(actual == expected)

"""Fixtures for the spec tests: a small valid spec as data, and validation that returns the problems."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from presence_sync.spec import Problem, SpecError, load_spec_text

VALID: dict[str, Any] = {
    "version": 1,
    "salesforce": {
        "statuses": [
            {"label": "Available for Chats", "kind": "online", "channels": ["sfdc_livemessage"]},
            {"label": "Busy", "kind": "busy"},
        ],
        "profileAccess": [{"profile": "Custom Support Profile", "statuses": ["Available_for_Chats", "Busy"]}],
        "oauthApp": {
            "name": "CXone_Presence_Sync",
            "label": "CXone Presence Sync",
            "contactEmail": "admin@example.com",
            "callbackUrl": "https://cxone.example.com/callback",
            "scopes": ["api", "refresh_token"],
        },
    },
    "cxone": {
        "existingUnavailableCodes": ["Break"],
        "accountMapping": {
            "name": "Salesforce Production",
            "accessKeyUser": "cxone.admin@example.com",
            "salesforceEnvironment": {"name": "Production", "instanceUrl": "https://example.my.salesforce.com"},
        },
        "presenceRules": [
            {
                "name": "Chat agents",
                "publisher": [
                    {"acd": "Available", "salesforce": "Available_for_Chats"},
                    {"acd": "Unavailable:Break", "salesforce": "Busy"},
                ],
                "subscriber": [
                    {"salesforce": "Available_for_Chats", "acd": "Available"},
                    {"salesforce": "Busy", "acd": "Unavailable:Break"},
                ],
                "teams": ["Support Tier 1"],
            }
        ],
    },
}

Validate = Callable[[dict[str, Any]], list[Problem]]


@pytest.fixture
def spec_data() -> dict[str, Any]:
    """A fresh copy of a small valid spec, to break in one place per test."""
    return copy.deepcopy(VALID)


@pytest.fixture
def validate() -> Validate:
    """Dump `data` as YAML and load it; the problems found (empty when valid)."""

    def run(data: dict[str, Any]) -> list[Problem]:
        try:
            load_spec_text(yaml.safe_dump(data, sort_keys=False), "spec.yaml")
        except SpecError as exc:
            return exc.problems
        return []

    return run


@pytest.fixture
def problem_at(validate: Validate) -> Callable[[dict[str, Any], str], Problem]:
    """The one problem reported at `path`; fails with the full list when there isn't exactly one."""

    def find(data: dict[str, Any], path: str) -> Problem:
        problems = validate(data)
        at = [p for p in problems if p.path == path]
        assert len(at) == 1, "\n".join(str(p) for p in problems) or "no problems"
        return at[0]

    return find

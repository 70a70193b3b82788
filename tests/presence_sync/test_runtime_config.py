"""RuntimeConfig: the contract of config.json, and build_config resolving a spec's names through the vendors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError

from presence_sync.runtime_config import RuntimeConfig, StatusRef, load_config
from presence_sync.runtime_config_build import ConfigError, build_config
from presence_sync.spec import load_spec

SPEC = Path(__file__).resolve().parents[2] / "stacks" / "sandbox.yaml"


@dataclass
class Status:
    id: str
    developer_name: str


@dataclass
class User:
    id: str
    username: str
    email: str | None
    is_active: bool = True


@dataclass
class Agent:
    agent_id: int
    email: str | None
    team_id: int | None
    is_active: bool = True


@dataclass
class Team:
    team_id: int
    team_name: str


@dataclass
class Code:
    id: int
    name: str


class FakeResolver:
    def __init__(self, users: list[User] | None = None, statuses: list[Status] | None = None) -> None:
        self._statuses = (
            statuses if statuses is not None else [Status("0N5A", "Available_for_Chats"), Status("0N5B", "Busy")]
        )
        self._users = (
            users
            if users is not None
            else [
                User("005ADA", "ada@sf", "ada.lovelace@example.com"),
                User("005GRACE", "grace@sf", "Grace.Hopper@example.com"),
            ]
        )

    def statuses(self) -> list[Status]:
        return self._statuses

    def users(self) -> list[User]:
        return self._users

    def agents(self) -> list[Agent]:
        return [
            Agent(1, "ada.lovelace@example.com", 11),
            Agent(2, "grace.hopper@example.com", 11),
            Agent(3, "nobody@example.com", 12),
            Agent(4, "gone@example.com", 12, is_active=False),
        ]

    def teams(self) -> list[Team]:
        return [Team(11, "Support Tier 1"), Team(12, "Support Tier 2")]

    def unavailable_codes(self) -> list[Code]:
        return [Code(3001, "Break")]


def test_build_config_resolves_rules_to_ids() -> None:
    config = build_config(load_spec(SPEC), FakeResolver(), store_path="/tmp/x.db", metrics_port=0)
    (rule,) = config.rules
    assert rule.publisher == {
        "Available": StatusRef(status_id="0N5A", developer_name="Available_for_Chats"),
        "Unavailable:Break": StatusRef(status_id="0N5B", developer_name="Busy"),
        "LoggedOut": "previous",
    }
    assert rule.subscriber == {"0N5A": "Available", "0N5B": "Unavailable:Break"}
    assert rule.team_ids == (11,) and rule.agent_ids == (2,)
    assert config.poll_interval_seconds == 2 and config.resync_interval_seconds == 60
    assert config.unavailable_codes == {3001: "Break"}
    assert (config.store_path, config.metrics_port) == ("/tmp/x.db", 0)


def test_agents_match_by_email_case_insensitively_and_the_unmatched_are_reported() -> None:
    config = build_config(load_spec(SPEC), FakeResolver())
    assert {(a.agent_id, a.salesforce_user_id) for a in config.agents} == {(1, "005ADA"), (2, "005GRACE")}
    assert [(u.agent_id, u.reason) for u in config.unmatched] == [(3, "no Salesforce user has this e-mail")]


def test_an_override_beats_email_matching_and_ambiguity_is_not_guessed() -> None:
    spec = load_spec(SPEC)
    twins = [
        User("005A", "a@sf", "ada.lovelace@example.com"),
        User("005B", "b@sf", "ada.lovelace@example.com"),
        User("005G", "grace@sf", "grace.hopper@example.com"),
    ]
    config = build_config(spec, FakeResolver(users=twins))
    assert "2 Salesforce users have this e-mail" in next(u.reason for u in config.unmatched if u.agent_id == 1)
    overridden = spec.model_copy(
        update={
            "runtime": spec.runtime.model_copy(
                update={
                    "user_overrides": (
                        type(spec.runtime)
                        .model_fields["user_overrides"]
                        .annotation.__args__[0](  # type: ignore[union-attr]
                            cxone="ada.lovelace@example.com", salesforce="b@sf"
                        ),
                    )
                }
            )
        }
    )
    config = build_config(overridden, FakeResolver(users=twins))
    assert next(a.salesforce_user_id for a in config.agents if a.agent_id == 1) == "005B"


def test_a_name_the_vendors_do_not_have_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="presence status 'Busy' does not exist"):
        build_config(load_spec(SPEC), FakeResolver(statuses=[Status("0N5A", "Available_for_Chats")]))


def test_config_round_trips_through_json_and_rejects_unknown_fields(tmp_path: Path) -> None:
    config = build_config(load_spec(SPEC), FakeResolver())
    path = tmp_path / "config.json"
    path.write_text(config.dump())
    assert load_config(path) == config
    with pytest.raises(ValidationError):
        RuntimeConfig.model_validate({**json.loads(config.dump()), "salesforce_password": "x"})


def test_the_json_schema_documents_every_field() -> None:
    schema = RuntimeConfig.model_json_schema()
    assert schema["title"] == "presence-sync runtime config"
    assert {
        "rules",
        "agents",
        "poll_interval_seconds",
        "echo_window_seconds",
        "store_path",
        "metrics_port",
        "api_budget_per_minute",
    } <= set(schema["properties"])
    assert "description" in schema["properties"]["echo_window_seconds"]
    assert not [name for name in schema["properties"] if "secret" in name or "password" in name]


def test_the_service_refuses_to_start_without_its_settings_and_says_which(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "config.json"
    path.write_text(build_config(load_spec(SPEC), FakeResolver()).dump())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "CXONE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "runtime", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=SPEC.parents[1],
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SF_LOGIN_URL is not set" in result.stderr

"""Export's pure parts, the progress display and the CLI wiring, without vendors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from presence_sync import cli
from presence_sync.gitops import engine
from presence_sync.gitops.export import (
    HEADER,
    connection_env,
    dump,
    scope_names,
)
from presence_sync.gitops.progress import Progress
from presence_sync.spec import load_spec_text
from presence_sync.spec.cxone_account_mapping import MappingChoiceError, chosen_mapping
from presence_sync.spec.presence_rule import acd_item, acd_notation
from presence_sync.spec.scopes import metadata_scopes


def test_scopes_round_trip_through_setup_names() -> None:
    live = ["Web", "RefreshToken", "Api", "OfflineAccess", "Full"]
    names = scope_names(live)
    assert names == ["api", "full", "refresh_token", "web"]
    assert sorted(metadata_scopes(names)) == sorted(live)


def test_acd_notation_reads_state_names_code_names_and_previous_state() -> None:
    assert acd_notation("Available") == "Available"
    assert acd_notation("LoggedOut") == "LoggedOut"
    assert acd_notation("Break") == "Unavailable:Break"
    assert acd_notation("PreviousState") == "previous"
    for notation in ("Available", "Unavailable", "Unavailable:Break", "previous"):
        assert acd_notation(acd_item(notation)) == notation


def test_dump_is_deterministic_and_loadable() -> None:
    spec: dict[str, Any] = {
        "version": 1,
        "salesforce": {
            "statuses": [{"adopt": True, "developerName": "Busy", "label": "Busy", "kind": "busy"}],
            "oauthApp": {
                "adopt": True,
                "type": "external_client_app",
                "name": "App",
                "label": "App",
                "contactEmail": "a@example.com",
                "callbackUrl": "https://example.com/cb",
                "scopes": ["api"],
            },
        },
        "cxone": {
            "accountMapping": {
                "adopt": True,
                "name": "M",
                "accessKeyUser": "u@example.com",
                "salesforceEnvironment": {"name": "P", "instanceUrl": "https://x.example.com"},
            }
        },
    }
    text = dump(spec)
    assert text.startswith(HEADER)
    assert text == dump(json.loads(json.dumps(spec)))  # same data, same bytes, whatever the dict order
    loaded = load_spec_text(text, "export.yaml")
    assert loaded.salesforce.statuses[0].adopt


def test_the_environment_wins_over_the_connection_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "conn.json").write_text(json.dumps({"SF_LOGIN_URL": "https://file", "CXONE_AUTH_URL": "https://c"}))
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(
        yaml.safe_dump({"config": {"presence-sync:connectionFile": "conn.json"}})
    )
    env = connection_env(tmp_path, "dev", None, {"SF_LOGIN_URL": "https://env", "HOME": "/root"})
    assert env == {"SF_LOGIN_URL": "https://env", "CXONE_AUTH_URL": "https://c"}


class _Mapping:
    def __init__(self, name: str, selected: bool) -> None:
        self.name = name
        self.is_selected = selected


def test_which_account_mapping_is_exported() -> None:
    one, two = _Mapping("A", False), _Mapping("B", True)
    assert chosen_mapping([one], None) is one  # type: ignore[list-item]
    assert chosen_mapping([one, two], None) is two  # type: ignore[list-item]
    assert chosen_mapping([one, two], "A") is one  # type: ignore[list-item]
    with pytest.raises(MappingChoiceError, match="no CXone account mapping named 'C'"):
        chosen_mapping([one, two], "C")  # type: ignore[list-item]
    with pytest.raises(MappingChoiceError, match="--account-mapping"):
        chosen_mapping([_Mapping("A", False), _Mapping("B", False)], None)  # type: ignore[list-item]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    tty = _Tty()
    with Progress("export", total=2, stream=tty) as progress:
        progress.step("statuses")
        progress.step("rules")
    assert "\rexport [############............] 1/2 statuses" in tty.getvalue()
    assert "export: done, 2 step(s)" in tty.getvalue()

    monkeypatch.setenv("CI", "true")
    ci = _Tty()
    with Progress("export", total=2, stream=ci) as progress:
        progress.step("statuses")
    assert ci.getvalue().startswith("export: 1/2 statuses\n") and "\r" not in ci.getvalue()

    plain = io.StringIO()
    monkeypatch.delenv("CI")
    with Progress("plan", stream=plain) as progress:
        progress.step("status-Busy")
    assert plain.getvalue().startswith("plan: 1 status-Busy\n")


def test_the_cli_knows_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    usage = capsys.readouterr().out
    for command in ("plan", "drift", "export"):
        assert command in usage
    with pytest.raises(SystemExit):
        cli.main(["plan", "--help"])
    assert "--refresh" in capsys.readouterr().out


def test_engine_env_for_the_sandbox_stack(tmp_path: Path) -> None:
    (tmp_path / ".state").mkdir()
    env = engine.engine_env(tmp_path, "sandbox", {"PATH": "/usr/bin"})
    assert env["PULUMI_BACKEND_URL"] == f"file://{(tmp_path / '.state').resolve()}"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == engine.DEMO_PASSPHRASE
    assert env["PATH"].endswith("/usr/bin") and env["PATH"] != "/usr/bin"
    prod = engine.engine_env(tmp_path, "prod", {"PULUMI_BACKEND_URL": "s3://bucket"})
    assert prod["PULUMI_BACKEND_URL"] == "s3://bucket" and "PULUMI_CONFIG_PASSPHRASE" not in prod

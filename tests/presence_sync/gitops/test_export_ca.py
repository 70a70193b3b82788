"""`presence-sync export` trusts the CA the stack's connection settings name, as the providers do: a machine-wide
REQUESTS_CA_BUNDLE counts only when the connection file names none."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import certifi
import pytest

from presence_sync.gitops import export as export_command
from presence_sync.gitops.export import connection_env
from presence_sync.spec import load_spec
from tests.presence_sync.gitops.test_export import configure_by_hand

MACHINE_WIDE = "/etc/ssl/certs/corporate-bundle.pem"


def test_the_connection_file_s_ca_wins_over_a_machine_wide_one_and_the_environment_wins_otherwise(
    tmp_path: Path,
) -> None:
    connection = tmp_path / "conn.json"
    connection.write_text(json.dumps({"SF_LOGIN_URL": "https://file", "REQUESTS_CA_BUNDLE": "/stack/ca.pem"}))
    environ = {"SF_LOGIN_URL": "https://env", "REQUESTS_CA_BUNDLE": MACHINE_WIDE, "HOME": "/root"}
    settings = connection_env(tmp_path, "dev", str(connection), environ)
    assert settings == {"SF_LOGIN_URL": "https://env", "REQUESTS_CA_BUNDLE": "/stack/ca.pem"}

    connection.write_text(json.dumps({"SF_LOGIN_URL": "https://file"}))
    assert connection_env(tmp_path, "dev", str(connection), environ)["REQUESTS_CA_BUNDLE"] == MACHINE_WIDE
    assert "REQUESTS_CA_BUNDLE" not in connection_env(tmp_path, "dev", str(connection), {"HOME": "/root"})


def test_export_against_the_sandbox_trusts_the_stack_s_ca_under_a_machine_wide_bundle(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_by_hand(sandbox.env, sandbox.salesforce_url)
    connection = tmp_path / "connection.json"
    connection.write_text(json.dumps({**sandbox.env, "REQUESTS_CA_BUNDLE": str(sandbox.ca_bundle)}))
    # A machine-wide bundle that does not hold the sandbox's CA (the public roots), as on a corporate laptop.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    output = tmp_path / "exported.yaml"
    argv = [
        "export",
        "--stack",
        "dev",
        "--cwd",
        str(tmp_path),
        "--connection-file",
        str(connection),
        "--oauth-app",
        "Hand_Made_CXone",
        "--output",
        str(output),
    ]
    assert export_command.main(argv) == 0
    assert [s.name for s in load_spec(output).salesforce.statuses] == ["Away_On_Break", "Chat_Ready"]
    assert os.environ["REQUESTS_CA_BUNDLE"] == certifi.where(), "export leaves the process environment alone"

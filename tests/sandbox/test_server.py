"""The sandbox server: both emulators in one process over HTTPS, the connection contract, state that
survives restarts, ``--reset``, independent instances, and the operator CLI."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
import requests

from sandbox import cli
from sandbox.testing import SandboxHandle, running_sandbox

CONTRACT = {
    "SF_LOGIN_URL",
    "SF_CLIENT_ID",
    "SF_CLIENT_SECRET",
    "SF_USERNAME",
    "SF_PASSWORD",
    "SF_API_VERSION",
    "SF_PUBSUB_ENDPOINT",
    "CXONE_AUTH_URL",
    "CXONE_API_URL",
    "CXONE_CLIENT_ID",
    "CXONE_CLIENT_SECRET",
    "CXONE_ACCESS_KEY_ID",
    "CXONE_ACCESS_KEY_SECRET",
    "REQUESTS_CA_BUNDLE",
}


def sf_token(sandbox: SandboxHandle) -> str:
    env = sandbox.env
    response = requests.post(
        f"{env['SF_LOGIN_URL']}/services/oauth2/token",
        verify=sandbox.ca_bundle,
        timeout=10,
        data={
            "grant_type": "password",
            "client_id": env["SF_CLIENT_ID"],
            "client_secret": env["SF_CLIENT_SECRET"],
            "username": env["SF_USERNAME"],
            "password": env["SF_PASSWORD"],
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def sf_call(sandbox: SandboxHandle, method: str, path: str, token: str, **kwargs: object) -> requests.Response:
    return requests.request(
        method,
        f"{sandbox.salesforce_url}/services/data/v59.0/{path}",
        verify=sandbox.ca_bundle,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        **kwargs,  # type: ignore[arg-type]
    )


def status_count(sandbox: SandboxHandle, token: str, name: str) -> int:
    soql = f"SELECT COUNT() FROM ServicePresenceStatus WHERE DeveloperName = '{name}'"
    return int(sf_call(sandbox, "GET", "query", token, params={"q": soql}).json()["totalSize"])


def test_serve_starts_both_emulators_and_writes_the_connection_contract(tmp_path: pathlib.Path) -> None:
    with running_sandbox(tmp_path / "sb") as sandbox:  # how fast it starts is measured in bench/, not asserted
        assert set(sandbox.env) == CONTRACT
        assert sandbox.env["SF_API_VERSION"] == "59.0"
        assert sandbox.env["CXONE_API_URL"] == sandbox.cxone_url
        assert sandbox.salesforce_operator.ready() and sandbox.cxone_operator.ready()
        exported = (tmp_path / "sb" / "sandbox.env").read_text()
        assert f"export SF_LOGIN_URL={sandbox.salesforce_url}\n" in exported
        assert json.loads((tmp_path / "sb" / "connection.json").read_text()) == sandbox.env
        with pytest.raises(requests.exceptions.SSLError):  # only clients that trust the sandbox CA get in
            requests.get(f"{sandbox.salesforce_url}/__sandbox/ready", verify=True, timeout=5)


def test_data_survives_a_restart_and_reset_starts_clean(tmp_path: pathlib.Path) -> None:
    with running_sandbox(tmp_path / "sb", vendors=("salesforce",)) as sandbox:
        token = sf_token(sandbox)
        created = sf_call(
            sandbox,
            "POST",
            "sobjects/ServicePresenceStatus/",
            token,
            json={"DeveloperName": "Kept", "MasterLabel": "Kept"},
        )
        assert created.status_code == 201
        url = sandbox.salesforce_url

        sandbox.restart()

        assert sandbox.salesforce_url == url  # same port
        assert status_count(sandbox, token, "Kept") == 1  # data and sessions survive

        sandbox.restart(reset=True)

        assert sf_call(sandbox, "GET", "sobjects", token).status_code == 401  # sessions are gone too
        assert status_count(sandbox, sf_token(sandbox), "Kept") == 0


def test_two_sandboxes_do_not_share_state(tmp_path: pathlib.Path) -> None:
    with (
        running_sandbox(tmp_path / "a", vendors=("salesforce",)) as a,
        running_sandbox(tmp_path / "b", vendors=("salesforce",)) as b,
    ):
        assert a.salesforce_url != b.salesforce_url
        token_a = sf_token(a)
        sf_call(
            a, "POST", "sobjects/ServicePresenceStatus/", token_a, json={"DeveloperName": "OnlyA", "MasterLabel": "A"}
        )
        a.salesforce_operator.set_faults(latency_ms=10)

        assert status_count(b, sf_token(b), "OnlyA") == 0
        assert b.salesforce_operator.faults()["latency_ms"] == 0
        assert sf_call(b, "GET", "sobjects", token_a).status_code == 401  # a's token means nothing to b


def test_a_busy_port_fails_clearly(tmp_path: pathlib.Path) -> None:
    with running_sandbox(tmp_path / "a", vendors=("salesforce",)) as running:
        port = running.salesforce_url.rsplit(":", 1)[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandbox",
                "serve",
                "--data-dir",
                str(tmp_path / "b"),
                "--vendors",
                "salesforce",
                "--salesforce-port",
                port,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_the_operator_cli(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = str(tmp_path / "sb")
    with running_sandbox(tmp_path / "sb") as sandbox:
        sf_call(sandbox, "GET", "sobjects", sf_token(sandbox))

        assert cli.main(["sandbox", "status", "--data-dir", data_dir]) == 0
        assert "salesforce" in capsys.readouterr().out
        assert cli.main(["sandbox", "requests", "--data-dir", data_dir, "--vendor", "salesforce"]) == 0
        assert "GET    /services/data/v59.0/sobjects" in capsys.readouterr().out
        assert (
            cli.main(
                [
                    "sandbox",
                    "faults",
                    "set",
                    "--data-dir",
                    data_dir,
                    "--vendor",
                    "cxone",
                    "--latency-ms",
                    "25",
                    "--error-rate",
                    "0.5",
                ]
            )
            == 0
        )
        assert sandbox.cxone_operator.faults()["latency_ms"] == 25
        assert cli.main(["sandbox", "faults", "clear", "--data-dir", data_dir]) == 0
        assert sandbox.cxone_operator.faults()["error_rate"] == 0.0
        assert cli.main(["sandbox", "env", "--data-dir", data_dir]) == 0
        assert "export REQUESTS_CA_BUNDLE=" in capsys.readouterr().out

    assert cli.main(["sandbox", "status", "--data-dir", data_dir]) == 1  # stopped: reported, not a traceback
    assert cli.main(["sandbox", "status", "--data-dir", str(tmp_path / "never")]) == 1

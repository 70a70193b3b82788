"""Helpers for the sandbox tests: org settings, OAuth token requests, simple-salesforce logins, SOAP posts, and a
sandbox that closes idle connections quickly."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import urllib3.connectionpool
from simple_salesforce import Salesforce

from sandbox.server import KEEP_ALIVE_ENV
from sandbox.testing import SandboxHandle, running_sandbox
from tests.runtime.support import wait_until

DEFAULT_SETTINGS: dict[str, Any] = {
    "allowConnectedAppCreation": False,
    "enableClientSecretInRestApiAccess": False,
    "sessionTtlSeconds": 7200,
    "dailyApiRequestLimit": 100_000,
}


def put_settings(sandbox: SandboxHandle, **settings: Any) -> dict[str, Any]:
    response = requests.put(
        f"{sandbox.salesforce_url}/__sandbox/salesforce/settings", json=settings, verify=sandbox.ca_bundle, timeout=10
    )
    response.raise_for_status()
    return dict(response.json())


def token(env: dict[str, str], **overrides: str) -> requests.Response:
    form = {
        "grant_type": "password",
        "client_id": env["SF_CLIENT_ID"],
        "client_secret": env["SF_CLIENT_SECRET"],
        "username": env["SF_USERNAME"],
        "password": env["SF_PASSWORD"],
        **overrides,
    }
    return requests.post(
        f"{env['SF_LOGIN_URL']}/services/oauth2/token", data=form, verify=env["REQUESTS_CA_BUNDLE"], timeout=10
    )


def login(env: dict[str, str]) -> Salesforce:
    body = token(env).json()
    return Salesforce(session_id=body["access_token"], instance_url=body["instance_url"], version=env["SF_API_VERSION"])


def rest(
    env: dict[str, str], method: str, path: str, session_id: str | None = None, **kwargs: Any
) -> requests.Response:
    """A raw REST call (for shapes simple-salesforce hides), as the admin unless ``session_id`` is given."""
    if session_id is None:
        session_id = token(env).json()["access_token"]
    headers = {"Authorization": f"Bearer {session_id}", **kwargs.pop("headers", {})}
    return requests.request(
        method, f"{env['SF_LOGIN_URL']}{path}", headers=headers, verify=env["REQUESTS_CA_BUNDLE"], timeout=10, **kwargs
    )


@contextlib.contextmanager
def sandbox_closing_idle_connections_after(seconds: int, data_dir: pathlib.Path) -> Iterator[SandboxHandle]:
    """A fresh sandbox whose emulators close a kept-alive connection after ``seconds`` idle (instead of 30)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEEP_ALIVE_ENV, str(seconds))  # the sandbox process reads it at start
        with running_sandbox(data_dir, reset=True) as sandbox:
            yield sandbox


@contextlib.contextmanager
def pooled_connections_used_after_the_server_closed_them(within: float = 15.0) -> Iterator[list[object]]:
    """The stale keep-alive race, made certain: each pooled connection urllib3 is about to reuse is first left idle
    until the server has closed it, then handed out as if it were open.

    urllib3 checks a pooled connection before reusing it, but only a close that has already arrived shows; a
    request sent as the server's keep-alive timer fires still goes out on the dead connection. Waiting for the
    close and then skipping the check puts every reuse in that window. Yields the connections so reused."""
    reused: list[object] = []
    really_dropped = urllib3.connectionpool.is_connection_dropped

    def closed_by_the_server_but_reused(conn: Any) -> bool:
        wait_until(
            lambda: really_dropped(conn),
            timeout=within,
            interval=0.05,
            what="the server to close the idle kept-alive connection",
        )
        reused.append(conn)
        return False

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(urllib3.connectionpool, "is_connection_dropped", closed_by_the_server_but_reused)
        yield reused

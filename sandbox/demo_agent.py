"""One agent on both sides of the sandbox, as a person would act: the CXone softphone and the Omni-Channel
widget. `make demo` runs `python -m sandbox.demo_agent --connection <file>` to show live sync (a process of its
own, so the product never imports the sandbox); it only calls the emulators' agent-side endpoints (and the
CXone API once, to find the agent's id by e-mail)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .operator_client import IDEMPOTENT_METHODS, retry_once_on_stale_connection


class DemoAgent:
    def __init__(self, email: str, agent_id: int, connection: Mapping[str, str]) -> None:
        self.email = email
        self.agent_id = agent_id
        self.salesforce = connection["SF_LOGIN_URL"].rstrip("/")
        self.cxone = connection["CXONE_API_URL"].rstrip("/")
        self.http = requests.Session()
        self.http.verify = connection["REQUESTS_CA_BUNDLE"]
        # The demo pauses between an agent's actions for longer than the emulators keep an idle connection open.
        # The agent-side POSTs set a state (log in, set state/status): repeating one changes nothing, so they
        # may be repeated once, like GETs, when their pooled connection turns out closed.
        retry = retry_once_on_stale_connection(IDEMPOTENT_METHODS | {"POST"})
        self.http.mount("https://", HTTPAdapter(max_retries=retry))

    @classmethod
    def find(cls, email: str, connection: Mapping[str, str]) -> DemoAgent:
        verify = connection["REQUESTS_CA_BUNDLE"]
        token = requests.post(
            f"{connection['CXONE_AUTH_URL'].rstrip('/')}/auth/token",
            data={
                "grant_type": "password",
                "username": connection["CXONE_ACCESS_KEY_ID"],
                "password": connection["CXONE_ACCESS_KEY_SECRET"],
            },
            auth=(connection["CXONE_CLIENT_ID"], connection["CXONE_CLIENT_SECRET"]),
            verify=verify,
            timeout=10,
        )
        token.raise_for_status()
        agents = requests.get(
            f"{connection['CXONE_API_URL'].rstrip('/')}/incontactapi/services/v34.0/agents",
            params={"searchString": email},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            verify=verify,
            timeout=10,
        )
        agents.raise_for_status()
        matches = [a for a in agents.json().get("agents", []) if a.get("emailAddress", "").lower() == email.lower()]
        if not matches:
            raise LookupError(f"no CXone agent with e-mail {email} in the sandbox")
        return cls(email, int(matches[0]["agentId"]), connection)

    def _post(self, url: str, body: dict[str, Any]) -> None:
        response = self.http.post(url, json=body, timeout=10)
        if response.status_code >= 300:
            raise RuntimeError(f"{url}: HTTP {response.status_code}: {response.text}")

    def log_in(self, *, omni_status: str) -> None:
        """Start a CXone session (Unavailable) and open the Omni widget with a status."""
        self._post(f"{self.cxone}/__sandbox/agent/{self.agent_id}/login", {})
        self._post(f"{self.salesforce}/__sandbox/console/login", {"user": self.email, "status": omni_status})

    def set_cxone(self, state: str, reason: str | None = None) -> None:
        body = {"state": state, **({"reason": reason} if reason else {})}
        self._post(f"{self.cxone}/__sandbox/agent/{self.agent_id}/state", body)

    def set_omni(self, status: str) -> None:
        self._post(f"{self.salesforce}/__sandbox/console/status", {"user": self.email, "status": status})

    def cxone_state(self) -> str:
        view = self.http.get(f"{self.cxone}/__sandbox/agent/{self.agent_id}", timeout=10).json()
        code = view.get("outStateDescription")
        return f"{view['agentStateName']}:{code}" if code else str(view["agentStateName"])

    def omni_status(self) -> str | None:
        agents = self.http.get(f"{self.salesforce}/__sandbox/console/agents", timeout=10).json()["agents"]
        mine = [a for a in agents if (a.get("email") or "").lower() == self.email.lower()]
        return mine[0].get("statusDeveloperName") if mine else None


DEMO_AGENT = "grace.hopper@example.com"  # in the demo rule's team (stacks/sandbox.yaml)
# How long the demo waits for the other side before it says live sync failed: far above the sync latency
# (about a second on the stack's 2 s CXone poll), short enough that a broken runtime is reported, not waited on.
PATIENCE_SECONDS = 20


def live_sync(connection: Mapping[str, str], say: Callable[[str], None]) -> bool:
    """The agent changes state on one side; the runtime must carry it to the other, both ways."""
    agent = DemoAgent.find(DEMO_AGENT, connection)
    agent.log_in(omni_status="Busy")
    steps = [
        ("sets Available in CXone", lambda: agent.set_cxone("Available"), agent.omni_status, "Available_for_Chats"),
        ("sets Busy in Omni-Channel", lambda: agent.set_omni("Busy"), agent.cxone_state, "Unavailable:Break"),
    ]
    for what, act, observe, expected in steps:
        started = time.monotonic()
        act()
        while observe() != expected:
            if time.monotonic() - started > PATIENCE_SECONDS:
                say(f"live sync: Grace {what}, but the other side still shows {observe()!r} (expected {expected!r})")
                return False
            time.sleep(0.05)
        say(f"live sync: Grace {what} -> the other side shows {expected} after {time.monotonic() - started:.2f} s")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo_agent", description=live_sync.__doc__)
    parser.add_argument("--connection", type=Path, required=True, help="the sandbox's connection.json")
    args = parser.parse_args(argv)
    connection = json.loads(args.connection.read_text())
    return 0 if live_sync(connection, lambda line: print(f"demo: {line}", flush=True)) else 1


if __name__ == "__main__":
    sys.exit(main())

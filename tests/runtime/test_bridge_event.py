"""``SalesforceClient.ensure_presence_command_event`` (added for the runtime): deploys the platform event the
runtime publishes, once; the sandbox's console then applies published commands like the Lightning bridge."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from presence_sync.clients import NotFound, SalesforceClient

pytestmark = pytest.mark.slow


def test_the_command_event_is_deployed_once_and_then_carries_commands(sandbox: Any) -> None:
    client = SalesforceClient.from_env(sandbox.env)
    busy = client.create_presence_status("Busy", "Busy", [])
    profile = next(p for p in client.list_profiles() if p.name == "Custom: Support Agent")
    client.grant_status(profile.permission_set_id, busy.id)
    ada = next(u for u in client.list_users() if u.email == "ada.lovelace@example.com")
    with pytest.raises(NotFound):
        client.publish_presence_command(ada.id, busy.id, "before")

    assert client.ensure_presence_command_event() is True
    assert client.ensure_presence_command_event() is False  # idempotent

    http = requests.Session()
    http.verify = sandbox.ca_bundle
    http.post(
        f"{sandbox.salesforce_url}/__sandbox/console/login", json={"user": ada.id, "status": "Busy"}, timeout=10
    ).raise_for_status()
    assert client.publish_presence_command(ada.id, busy.id, "cmd-1")
    results = http.get(f"{sandbox.salesforce_url}/__sandbox/console/results", timeout=10).json()["results"]
    assert [(r["commandId"], r["success"]) for r in results] == [("cmd-1", True)]

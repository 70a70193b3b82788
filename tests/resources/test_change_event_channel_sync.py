"""A stack whose runtime topic names a custom channel syncs Salesforce -> CXone over that channel: `pulumi up` of
the sandbox spec with ``topic: /data/PresenceSync__chn`` deploys the channel before the runtime (which depends on
it), and with the standard channel switched off in the org (UserServicePresence not selected for Change Data
Capture, so only the custom channel carries its changes; no polling fallback; a resync an hour away) an agent's
Omni changes reach CXone. Real engine, real sandbox, the runtime as its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.salesforce import SalesforceClient
from tests.runtime.support import ADA, Agent, SandboxSetup, wait_until
from tests.support import vendors
from tests.support.spec_stack import spec_stack
from tests.support.specs import SEED_SPEC

pytestmark = [pytest.mark.pulumi, pytest.mark.slow]

TOPIC = "/data/PresenceSync__chn"
SPEC = SEED_SPEC.replace("resyncIntervalSeconds: 60", "resyncIntervalSeconds: 3600").rstrip("\n") + (
    f"\n  salesforceChanges:\n    topic: {TOPIC}\n"
)


def event_bus(sandbox: Any, action: str = "status", body: dict[str, Any] | None = None) -> dict[str, Any]:
    url = f"{sandbox.salesforce_url}/__sandbox/eventbus/{action}"
    response = requests.request("POST" if body else "GET", url, json=body, verify=sandbox.ca_bundle, timeout=10)
    response.raise_for_status()
    return dict(response.json())


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str], sandbox: Any) -> Iterator[Any]:
    assert "resyncIntervalSeconds: 3600" in SPEC, "the seed spec's runtime changed: set the resync again"
    event_bus(sandbox, "cdc", {"entity": "UserServicePresence", "enabled": False})
    seed = spec_stack(name="chn-sync", work_dir=tmp_path, spec_text=SPEC, env=engine_env)
    yield seed
    seed.close()  # the stack's last resource is a running sync runtime: never leave it behind


def test_omni_changes_reach_cxone_over_the_custom_channel(stack: Any, sandbox: Any) -> None:
    stack.up()
    assert stack.outputs()["changeEventTopic"] == TOPIC
    resources = (stack.stack.export_stack().deployment or {})["resources"]
    runtime = next(r for r in resources if r["urn"].endswith("::runtime"))
    assert any(urn.endswith("::change-event-channel-PresenceSync__chn") for urn in runtime["dependencies"])
    assert "/data/UserServicePresenceChangeEvent" not in event_bus(sandbox)["topics"]
    wait_until(lambda: event_bus(sandbox)["openStreams"] >= 1, timeout=60, what="the runtime's Subscribe call")

    sf = vendors.salesforce(sandbox.env)
    users = {row["Email"]: row["Id"] for row in sf.query("SELECT Id, Email FROM User")["records"]}
    salesforce, cxone = SalesforceClient.from_env(sandbox.env), CxoneClient.from_env(sandbox.env)
    try:
        ada = Agent(SandboxSetup(sandbox, salesforce, cxone, {}, users), ADA, "ada.lovelace@example.com")
        omni_changes_reach_cxone(sandbox, ada)
    finally:
        salesforce.close()
        cxone.close()


def omni_changes_reach_cxone(sandbox: Any, ada: Agent) -> None:
    ada.cxone_login()
    ada.omni_login("Available_for_Chats")
    wait_until(lambda: ada.cxone_state() == "Available", timeout=60, what="CXone follows the Omni login")

    since = sandbox.salesforce_operator.requests()[-1]["seq"]
    ada.omni_set("Busy")
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", timeout=60, what="CXone follows Omni")

    queries = [e.get("query") or "" for e in sandbox.salesforce_operator.requests(since)]
    assert ada.omni_status() == "Busy"
    assert [q for q in queries if "UserServicePresence" in q] == []  # the change came on the stream, not a poll

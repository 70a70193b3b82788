"""The seed's procedure end to end: one `pulumi up` of the sandbox spec creates everything, a second changes
nothing, a one-line spec change touches one resource, hand changes show up as drift and are put right,
and destroy removes exactly what we created. Real engine, real sandbox, checked through the vendors' own
clients rather than our providers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import vendors
from tests.support.spec_stack import changes, spec_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_SPEC = (REPO_ROOT / "stacks" / "sandbox.yaml").read_text()

pytestmark = pytest.mark.pulumi

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how Pulumi marks a secret value in a state


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str]) -> Iterator[Any]:
    seed = spec_stack(name="seed", work_dir=tmp_path, spec_text=SEED_SPEC, env=engine_env)
    yield seed
    seed.close()  # the stack's last resource is a running sync runtime: never leave it behind


def test_one_up_creates_everything_the_spec_says_and_a_second_changes_nothing(stack: Any, sandbox: Any) -> None:
    result = stack.up()
    assert result.summary.result == "succeeded"
    assert changes(result.summary.resource_changes) == {"create": 8}  # + the runtime, last

    sf = vendors.salesforce(sandbox.env)
    statuses = vendors.statuses(sf)
    assert statuses["Available_for_Chats"]["label"] == "Available for Chats"
    assert statuses["Available_for_Chats"]["channels"] == ["sfdc_livemessage"]
    assert statuses["Busy"]["channels"] == []
    assert {"Available_for_Chats", "Busy"} <= vendors.granted_statuses(sf, "Custom: Support Agent")

    cxone = vendors.Cxone(sandbox.env)
    mapping = cxone.mappings()["Salesforce Sandbox"]
    assert mapping["isSelected"] is True
    assert mapping["salesforceEnvironment"]["hasConsumerSecret"] is True
    rule = cxone.rules()["Chat agents"]
    # Stored as NICE's agent SDK reads it (statuses by id), and inactive: the sandbox spec's engine is ours.
    ids = {name: status["id"] for name, status in vendors.statuses(vendors.salesforce(sandbox.env)).items()}
    assert {m["partnerAgentState"] for m in rule["publisherStateMap"]} == {
        ids["Available_for_Chats"],
        ids["Busy"],
        "PreviousState",
    }
    assert rule["isActive"] is False
    assert len(rule["teamIds"]) == 1 and len(rule["agentIds"]) == 1

    assert changes(stack.preview().change_summary) == {}, "a second run must change nothing"


def test_changing_one_rule_mapping_updates_only_that_rule(stack: Any, sandbox: Any) -> None:
    stack.up()
    stack.edit_spec("{acd: LoggedOut, salesforce: previous}", "{acd: LoggedOut, salesforce: Busy}")

    # The rule, and the runtime whose config carries the rules (it restarts on the new one).
    assert changes(stack.preview().change_summary) == {"update": 2}
    result = stack.up()
    assert changes(result.summary.resource_changes) == {"update": 2}
    rule = vendors.Cxone(sandbox.env).rules()["Chat agents"]
    logged_out = next(m for m in rule["publisherStateMap"] if m["incontactAgentState"] == "LoggedOut")
    assert logged_out["partnerAgentState"] == vendors.statuses(vendors.salesforce(sandbox.env))["Busy"]["id"]


def test_hand_changes_are_reported_as_drift_and_the_next_up_puts_them_right(stack: Any, sandbox: Any) -> None:
    stack.up()
    sf = vendors.salesforce(sandbox.env)
    cxone = vendors.Cxone(sandbox.env)

    # Someone edits a status in Setup, removes a grant, and rewrites a rule in the CXone admin UI.
    mdapi: Any = sf.mdapi
    mdapi.ServicePresenceStatus.update([mdapi.ServicePresenceStatus(fullName="Busy", label="Busy (edited)")])
    grant = sf.query(
        "SELECT Id FROM SetupEntityAccess WHERE SetupEntityId = '" + vendors.statuses(sf)["Busy"]["id"] + "'"
    )["records"][0]["Id"]
    setup_entity_access: Any = sf.SetupEntityAccess
    setup_entity_access.delete(grant)
    rule = cxone.rules()["Chat agents"]
    cxone.put(
        f"/adapter-apis/v1/salesforce/presence-rules/{rule['ruleId']}",
        {**{k: v for k, v in rule.items() if k not in ("ruleId", "lastModified")}, "priority": 7},
    )

    refreshed = stack.refresh()
    assert changes(refreshed.summary.resource_changes) == {"update": 3}, "each hand change is drift"
    assert changes(stack.preview().change_summary) == {"update": 3}

    stack.up()
    assert vendors.statuses(sf)["Busy"]["label"] == "Busy"
    assert "Busy" in vendors.granted_statuses(sf, "Custom: Support Agent")
    assert cxone.rules()["Chat agents"]["priority"] == 0
    assert changes(stack.preview(refresh=True).change_summary) == {}


def test_destroy_removes_all_of_it_and_nothing_else(stack: Any, sandbox: Any) -> None:
    sf = vendors.salesforce(sandbox.env)
    before = set(vendors.statuses(sf))
    granted_before = vendors.granted_statuses(sf, "Custom: Support Agent")
    stack.up()

    result = stack.destroy()
    assert result.summary.result == "succeeded"
    assert set(vendors.statuses(sf)) == before
    assert vendors.granted_statuses(sf, "Custom: Support Agent") == granted_before
    cxone = vendors.Cxone(sandbox.env)
    assert "Chat agents" not in cxone.rules()
    assert "Salesforce Sandbox" not in cxone.mappings()


def test_secrets_are_encrypted_in_the_state(stack: Any, pulumi_backend: Any) -> None:
    stack.up()
    stack.refresh()  # a refresh rewrites inputs from the live objects: they must stay secret too
    state = stack.resource_states()  # exported with secrets decrypted, each marked with Pulumi's secret sig
    app = state["oauth-app-CXone_Presence_Sync"]
    mapping = state["account-mapping"]
    secrets = [app["consumerSecret"], app["consumerKey"], mapping["accessKeySecret"], mapping["consumerSecret"]]
    for value in secrets:
        assert isinstance(value, dict) and SECRET_SIG in value, "a secret must be marked secret in the state"

    stored = "\n".join(path.read_text() for path in pulumi_backend.state_dir.rglob("*.json"))
    assert "ciphertext" in stored
    for value in secrets:
        assert json.loads(value["plaintext"]) not in stored, "a secret must never be stored in plain text"
    assert changes(stack.preview(refresh=True).change_summary) == {}

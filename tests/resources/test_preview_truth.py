"""The pull-request preview tells the truth (issue 15): on the real engine against a fresh sandbox, what `plan`
and `drift` show is what `up` then does, for the four cases that live in the resource kinds:

1. a rule whose status was deleted by hand points at an id that no longer exists: drift, repaired by `up`;
2. destroying a stack leaves the objects it adopted in place, and the plan says so;
4. an OAuth app rename shows the account-mapping update it causes (and a misspelt channel fails the preview,
   naming the spec path, with nothing written);
5. a label edit that would change a derived developer name is flagged with the pin to add; a developer-name
   change lists what follows the status, and `up` moves the grants (`replaces: <old>`) before deleting the old
   status.

Each first failed on 1f6fe36 (the state before the fixes); the reports are golden files in golden/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resources.stack
from presence_sync.gitops import drift as drift_command
from presence_sync.gitops import plan as plan_command
from tests.support import vendors
from tests.support.spec_stack import SpecStack, spec_stack
from tests.support.specs import SEED_SPEC

pytestmark = pytest.mark.pulumi

GOLDEN = Path(__file__).resolve().parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if not path.exists():  # the first run writes it; review and commit it
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; delete it to re-record after reviewing the new output"


def normalize(text: str, stack: SpecStack | None = None) -> str:
    """Ids the vendors assign, fingerprints (keyed per run) and the test's own directory become placeholders."""
    if stack is not None:
        text = text.replace(str(stack.spec_path.parent), "<tmp>")
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>", text)
    text = re.sub(r"\bfp:[0-9a-f]{16}\b", "fp:<fingerprint>", text)
    return re.sub(r"\b[0-9a-zA-Z]{3}[A-Za-z0-9]{2}0{4,}[0-9A-Za-z]{3,9}\b", "<sfid>", text)


@pytest.fixture
def stacks(
    tmp_path: Path, engine_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, SpecStack]]:
    """Stacks by name, which `presence-sync plan/drift --stack NAME` then runs on; destroyed at the end."""
    # The configuration kinds only: the sync runtime has its own tests, and would poll the vendors.
    monkeypatch.setattr(resources.stack, "runtime_available", lambda: False)
    made: dict[str, SpecStack] = {}
    monkeypatch.setattr(plan_command, "open_stack", lambda name, _dir: made[name].stack)
    yield made
    for stack in made.values():
        stack.close()


def new_stack(stacks: dict[str, SpecStack], name: str, text: str, tmp_path: Path, env: dict[str, str]) -> SpecStack:
    stacks[name] = spec_stack(name=name, work_dir=tmp_path, spec_text=text, env=env)
    return stacks[name]


def report(module: Any, argv: list[str], tmp_path: Path, fmt: str = "markdown") -> tuple[int, str]:
    out = tmp_path / f"report.{fmt}"
    code = module.main([*argv, "--format", fmt, "--output", str(out)])
    return code, out.read_text()


def rule_status_ids(sandbox: Any, rule_name: str) -> dict[str, set[str]]:
    """Developer name -> the Salesforce status ids the CXone rule holds for it (among the org's statuses)."""
    rule = vendors.Cxone(sandbox.env).rules()[rule_name]
    names = {row["id"][:15]: name for name, row in vendors.statuses(vendors.salesforce(sandbox.env)).items()}
    found: dict[str, set[str]] = {}
    for line in [*rule["publisherStateMap"], *rule["subscriberStateMap"]]:
        status = line["partnerAgentState"]
        if status[:15] in names:
            found.setdefault(names[status[:15]], set()).add(status)
    return found


def test_1_a_rule_pointing_at_a_deleted_status_is_drift_and_up_repairs_it(
    stacks: dict[str, SpecStack], sandbox: Any, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    stack = new_stack(stacks, "stale-ids", SEED_SPEC, tmp_path, engine_env)
    stack.up()
    sf = vendors.salesforce(sandbox.env)
    old_busy = vendors.statuses(sf)["Busy"]["id"]
    assert rule_status_ids(sandbox, "Chat agents")["Busy"] == {old_busy}

    mdapi: Any = sf.mdapi
    mdapi.ServicePresenceStatus.delete(["Busy"])  # by hand, in Setup

    code, markdown = report(drift_command, ["drift", "--stack", "stale-ids"], tmp_path)
    assert code == 2, markdown
    check_golden("stale_rule_ids.md", normalize(markdown))
    _, text = report(drift_command, ["drift", "--stack", "stale-ids"], tmp_path, "json")
    drift = {c["name"]: c for c in json.loads(text)["stacks"][0]["drift"]}
    assert drift["status-Busy"]["op"] == "gone"
    rule_fields = {f["path"]: f for f in drift["rule-chat-agents"]["fields"]}
    assert set(rule_fields) == {"publisher[1].salesforce", "subscriber[1].salesforce"}, rule_fields
    for field in rule_fields.values():
        assert field["old"] == "Busy" and old_busy in field["new"] and "no longer exists" in field["new"]

    stack.stack.up(refresh=True, on_output=lambda _line: None)
    new_busy = vendors.statuses(sf)["Busy"]["id"]
    assert new_busy != old_busy
    assert rule_status_ids(sandbox, "Chat agents")["Busy"] == {new_busy}, "the rule follows the new status"
    assert report(drift_command, ["drift", "--stack", "stale-ids"], tmp_path)[0] == 0


ADOPTED = "    - label: Lunch Break\n      kind: busy\n      adopt: true\n"
TRAINING = "    - label: Training\n      kind: busy\n      adopt: true\n"


def test_2_destroying_a_stack_leaves_what_it_adopted_and_the_plan_says_so(
    stacks: dict[str, SpecStack], sandbox: Any, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    sf = vendors.salesforce(sandbox.env)
    mdapi: Any = sf.mdapi
    for name, label in (("Lunch_Break", "Lunch Break"), ("Training", "Training")):
        mdapi.ServicePresenceStatus.create([mdapi.ServicePresenceStatus(fullName=name, label=label)])
    text = SEED_SPEC.replace("  profileAccess:\n", ADOPTED + TRAINING + "\n  profileAccess:\n", 1)
    stack = new_stack(stacks, "adopted", text, tmp_path, engine_env)
    stack.up()

    # The spec no longer lists the adopted status: the plan says it leaves the org's object in place.
    stack.edit_spec(ADOPTED, "")
    code, markdown = report(plan_command, ["plan", "--stack", "adopted"], tmp_path)
    assert code == 2, markdown
    check_golden("adopted_removed.md", normalize(markdown))
    _, text = report(plan_command, ["plan", "--stack", "adopted"], tmp_path, "json")
    (change,) = json.loads(text)["stacks"][0]["changes"]
    assert (change["name"], change["op"], change["retain"]) == ("status-Lunch_Break", "delete", True)
    stack.edit_spec(TRAINING, ADOPTED + TRAINING)

    # Deleting an adopted object is an explicit change: adopt: false applied first, then the removal is a delete.
    stack.edit_spec(TRAINING, TRAINING.replace("adopt: true", "adopt: false"))
    stack.up()
    stack.edit_spec(TRAINING.replace("adopt: true", "adopt: false"), "")
    _, text = report(plan_command, ["plan", "--stack", "adopted"], tmp_path, "json")
    (change,) = json.loads(text)["stacks"][0]["changes"]
    assert (change["name"], change["op"], change.get("retain")) == ("status-Training", "delete", None)
    stack.up()
    assert "Training" not in vendors.statuses(sf)

    stack.destroy()
    left = vendors.statuses(sf)
    assert "Lunch_Break" in left, "adopted: retained on destroy"
    assert "Available_for_Chats" not in left, "created by the stack: destroyed with it"


def test_4_an_app_rename_shows_the_mapping_update_it_causes_and_a_bad_channel_fails_the_preview(
    stacks: dict[str, SpecStack], sandbox: Any, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    stack = new_stack(stacks, "rename-app", SEED_SPEC, tmp_path, engine_env)
    stack.up()

    stack.edit_spec("name: CXone_Presence_Sync", "name: CXone_Presence_Sync_EU")
    code, markdown = report(plan_command, ["plan", "--stack", "rename-app"], tmp_path)
    assert code == 2, markdown
    check_golden("app_rename.md", normalize(markdown))
    _, text = report(plan_command, ["plan", "--stack", "rename-app"], tmp_path, "json")
    changes = {c["name"]: c for c in json.loads(text)["stacks"][0]["changes"]}
    assert changes["oauth-app-CXone_Presence_Sync_EU"]["op"] in ("replace", "create")
    mapping = changes["account-mapping"]
    assert mapping["op"] == "update"
    assert {f["path"] for f in mapping["fields"]} == {"consumerKey", "consumerSecret"}

    stack.up()
    live_key = vendors.Cxone(sandbox.env).mappings()["Salesforce Sandbox"]["salesforceEnvironment"]["consumerKey"]
    assert live_key == stack.outputs()["consumerKey"], "what the plan announced: the mapping has the new app's key"

    # A misspelt channel: the preview fails naming the spec path, and nothing is written.
    stack.edit_spec("channels: [sfdc_livemessage]", "channels: [sfdc_livemessage, sfdc_phonee]")
    sandbox.salesforce_operator.clear_requests()
    code, markdown = report(plan_command, ["plan", "--stack", "rename-app"], tmp_path)
    assert code == 1
    assert "salesforce.statuses[0].channels[1]" in markdown and "sfdc_phonee" in markdown
    assert "did you mean 'sfdc_phone'?" in markdown
    writes = [e for e in sandbox.salesforce_operator.requests() if e["method"] != "GET" and "oauth2" not in e["path"]]
    assert writes == []


RENAMED_LABEL = ("    - label: Busy  ", "    - label: Busy on a call  ")


def grant(sf: Any, profile: str, status_id: str) -> None:
    """A Setup admin grants a status to a profile the spec does not manage."""
    parent = sf.query(f"SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND Profile.Name = '{profile}'")
    sf.SetupEntityAccess.create({"ParentId": parent["records"][0]["Id"], "SetupEntityId": status_id})


def test_5_a_label_edit_is_flagged_with_the_pin_and_a_developer_name_change_moves_what_follows(
    stacks: dict[str, SpecStack], sandbox: Any, tmp_path: Path, engine_env: dict[str, str]
) -> None:
    stack = new_stack(stacks, "rename-status", SEED_SPEC, tmp_path, engine_env)
    stack.up()
    sf = vendors.salesforce(sandbox.env)
    grant(sf, "Custom: Support Supervisor", vendors.statuses(sf)["Busy"]["id"])  # not in the spec

    # Only the label edited: the derived developer name would change. The plan says which pin keeps it.
    stack.edit_spec(*RENAMED_LABEL)
    code, markdown = report(plan_command, ["plan", "--stack", "rename-status"], tmp_path)
    assert code == 1, markdown
    assert "developerName: Busy" in markdown and "salesforce.statuses[1]" in markdown, markdown

    # The rename made on purpose (references too): the plan lists what follows the status.
    text = stack.spec_path.read_text().replace("salesforce: Busy}", "salesforce: Busy_on_a_call}")
    text = text.replace("salesforce: Busy,", "salesforce: Busy_on_a_call,")
    text = text.replace("Available_for_Chats, Busy]", "Available_for_Chats, Busy_on_a_call]")
    stack.write_spec(text.replace("      kind: busy\n", "      kind: busy\n      replaces: Busy\n", 1))
    code, markdown = report(plan_command, ["plan", "--stack", "rename-status"], tmp_path)
    assert code == 2, markdown
    check_golden("status_rename.md", normalize(markdown))
    assert "Custom: Support Supervisor" in markdown and "Chat agents" in markdown

    stack.up()
    statuses = vendors.statuses(sf)
    assert "Busy" not in statuses and "Busy_on_a_call" in statuses
    assert "Busy_on_a_call" in vendors.granted_statuses(sf, "Custom: Support Supervisor"), "the unmanaged grant moved"

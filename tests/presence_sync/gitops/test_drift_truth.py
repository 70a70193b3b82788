"""What `drift` and `plan` report is what `up --refresh` then does, on the real engine against a fresh sandbox:

* a credential changed by hand in CXone (the account mapping's consumer key) is drift, reported by name and
  by keyed fingerprints of the applied and the live value, never by the value (issue 15, point 3);
* a `pulumi refresh` run after a hand change does not hide it: drift is defined against what the stack
  applied (the spec), not against whatever the state last recorded, and the next plan shows the restore as
  drift, not as a spec change (issue 15, point 6).

Both first failed on 1f6fe36 (the consumer key passed as "no drift"; after `pulumi refresh`, `drift` said
none and `plan` listed the restore as an intended change)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from presence_sync.gitops import drift as drift_command
from presence_sync.gitops import plan as plan_command
from tests.presence_sync.gitops.conftest import SEED_SPEC
from tests.presence_sync.gitops.test_plan_drift import known_secrets, normalize, run
from tests.presence_sync.gitops.test_render import check_golden
from tests.support import vendors

pytestmark = pytest.mark.pulumi

FINGERPRINT = re.compile(r"\bfp:[0-9a-f]{16}\b")


def golden_text(text: str) -> str:
    """Fingerprints are keyed per run (nothing outside one report can compare them): placeholders."""
    return FINGERPRINT.sub("fp:<fingerprint>", normalize(text))


def put_consumer_key(sandbox: Any, consumer_key: str) -> None:
    """CXone's admin pastes another consumer key into the account mapping (the secret is left as it is)."""
    cxone = vendors.Cxone(sandbox.env)
    mapping = cxone.mappings()["Salesforce Sandbox"]
    environment = {k: v for k, v in mapping["salesforceEnvironment"].items() if k != "hasConsumerSecret"}
    body = {
        "name": mapping["name"],
        "salesforceEnvironment": {**environment, "consumerKey": consumer_key},
        "isSelected": mapping["isSelected"],
    }
    cxone.put(f"/adapter-apis/v1/salesforce/account-mappings/{mapping['mappingId']}", body)


def test_a_consumer_key_changed_by_hand_is_drift_shown_by_fingerprint_never_by_value(
    make_stack: Any, cli_stacks: dict[str, Any], sandbox: Any, tmp_path: Path
) -> None:
    stack = make_stack("secret-drift", SEED_SPEC)
    stack.up()
    cli_stacks["secret-drift"] = stack
    assert run(drift_command, ["drift", "--stack", "secret-drift"], tmp_path)[0] == 0

    pasted = "3MVG9-pasted-by-hand-" + "x" * 40
    put_consumer_key(sandbox, pasted)

    code, markdown = run(drift_command, ["drift", "--stack", "secret-drift"], tmp_path)
    assert code == 2, markdown
    assert "consumer key changed outside the stack" in markdown
    check_golden("secret_drift.md", golden_text(markdown))
    code, text = run(drift_command, ["drift", "--stack", "secret-drift"], tmp_path, "json")
    (entry,) = json.loads(text)["stacks"][0]["drift"]
    assert entry["name"] == "account-mapping" and entry["op"] == "changed"
    (field,) = entry["fields"]
    assert field["path"] == "consumerKey" and field["note"] == "consumer key changed outside the stack"
    assert FINGERPRINT.fullmatch(field["old"]) and FINGERPRINT.fullmatch(field["new"]) and field["old"] != field["new"]
    for secret in [pasted, *known_secrets(sandbox, stack)]:
        assert secret not in markdown and secret not in text

    # What the report announced is what `up --refresh` does: the app's key is back in CXone.
    stack.stack.up(refresh=True, on_output=lambda _line: None)
    assert (
        vendors.Cxone(sandbox.env).mappings()["Salesforce Sandbox"]["salesforceEnvironment"]["consumerKey"]
        == (stack.outputs()["consumerKey"])
    )
    assert run(drift_command, ["drift", "--stack", "secret-drift"], tmp_path)[0] == 0


def test_a_pulumi_refresh_after_a_hand_change_does_not_hide_the_drift(
    make_stack: Any, cli_stacks: dict[str, Any], sandbox: Any, tmp_path: Path, ca_bundle_env: None
) -> None:
    stack = make_stack("refreshed", SEED_SPEC)
    stack.up()
    cli_stacks["refreshed"] = stack

    sf = vendors.salesforce(sandbox.env)
    mdapi: Any = sf.mdapi
    mdapi.ServicePresenceStatus.update(
        [
            mdapi.ServicePresenceStatus(
                fullName="Available_for_Chats",
                label="Available for Chats",
                channels=mdapi.ServiceChannelStatus(channel=["sfdc_livemessage", "Case"]),
            )
        ]
    )
    stack.refresh()  # someone ran `pulumi refresh`: the state now records the hand change

    code, markdown = run(drift_command, ["drift", "--stack", "refreshed"], tmp_path)
    assert code == 2, markdown
    check_golden("drift_after_refresh.md", golden_text(markdown))

    # The plan on an unchanged spec: the restore `up` would do is drift, not an intended change.
    code, markdown = run(plan_command, ["plan", "--stack", "refreshed"], tmp_path)
    assert code == 2, markdown
    check_golden("plan_after_refresh.md", golden_text(markdown))
    code, text = run(plan_command, ["plan", "--stack", "refreshed", "--refresh"], tmp_path, "json")
    report = json.loads(text)["stacks"][0]
    assert report["changes"] == [], "the spec did not change: nothing is an intended change"
    assert [(c["name"], [(f["path"], f["old"], f["new"]) for f in c["fields"]]) for c in report["drift"]] == [
        ("status-Available_for_Chats", [("channels", ["sfdc_livemessage"], ["Case", "sfdc_livemessage"])])
    ]

    stack.stack.up(on_output=lambda _line: None)  # no --refresh: the state already knows the live value
    assert vendors.statuses(sf)["Available_for_Chats"]["channels"] == ["sfdc_livemessage"]
    assert run(drift_command, ["drift", "--stack", "refreshed"], tmp_path)[0] == 0
    assert run(plan_command, ["plan", "--stack", "refreshed", "--refresh"], tmp_path)[0] == 0

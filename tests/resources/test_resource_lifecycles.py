"""Each kind of resource through its whole life on the real engine and the sandbox: created as the spec says,
one field changed (and only that field previewed), no drift on refresh, a hand change found as drift and
put right by the next up, and gone after destroy. Statuses, grants and rules are also covered by
test_sandbox_stack.py; this file adds the OAuth app and the account mapping, and the failure paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from tests.support import vendors
from tests.support.spec_stack import changes, spec_stack
from tests.support.specs import SEED_SPEC

pytestmark = pytest.mark.pulumi


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str], sandbox: Any) -> Iterator[Any]:
    lifecycle = spec_stack(name="lifecycle", work_dir=tmp_path, spec_text=SEED_SPEC, env=engine_env)
    yield lifecycle
    sandbox.salesforce_operator.clear_faults()
    sandbox.cxone_operator.clear_faults()
    lifecycle.close()  # the last resource is a running sync runtime: never leave it behind


STACK_OUTPUTS = {"summary", "statusIds", "ruleIds", "consumerKey", "accountMappingId", "runtimeDigest"}


def changed_properties(diff_output: str) -> set[str]:
    """Property names the engine's --diff display marks as changed (`~ label : "a" => "b"`)."""
    names = set(re.findall(r"^\s+[~+-] (\w+)\s*:", diff_output, flags=re.MULTILINE))
    return names - STACK_OUTPUTS  # the stack's outputs (its summary) are not the resource's properties


def eca_settings(sandbox: Any) -> Any:
    sf = vendors.salesforce(sandbox.env)
    mdapi: Any = sf.mdapi
    return mdapi, mdapi.ExtlClntAppGlobalOauthSettings.read("CXone_Presence_Sync_glbloauth")


def test_oauth_client_app_lifecycle(stack: Any, sandbox: Any) -> None:
    stack.up()
    mdapi, settings = eca_settings(sandbox)
    app = mdapi.ExternalClientApplication.read("CXone_Presence_Sync")
    assert app.label == "CXone Presence Sync"
    assert settings.callbackUrl.endswith("/oauth/salesforce/callback")
    assert settings.consumerSecret is None, "Salesforce never reads a consumer secret back"

    stack.edit_spec("label: CXone Presence Sync", "label: CXone Presence Sync (EU)")
    preview = stack.preview()
    assert changes(preview.change_summary) == {"update": 1}
    assert changed_properties(preview.stdout) == {"label"}
    stack.up()
    assert mdapi.ExternalClientApplication.read("CXone_Presence_Sync").label == "CXone Presence Sync (EU)"
    assert changes(stack.preview(refresh=True).change_summary) == {}

    settings.callbackUrl = "https://attacker.example.com/callback"
    mdapi.ExtlClntAppGlobalOauthSettings.update([settings])
    assert changes(stack.refresh().summary.resource_changes) == {"update": 1}
    stack.up()
    assert eca_settings(sandbox)[1].callbackUrl.endswith("/oauth/salesforce/callback")

    stack.destroy()
    assert mdapi.ExternalClientApplication.read("CXone_Presence_Sync").fullName is None


def test_account_mapping_lifecycle(stack: Any, sandbox: Any) -> None:
    stack.up()
    cxone = vendors.Cxone(sandbox.env)
    mapping = cxone.mappings()["Salesforce Sandbox"]
    assert mapping["salesforceEnvironment"]["name"] == "Sandbox"
    assert "accessKeySecret" not in mapping and "consumerSecret" not in mapping["salesforceEnvironment"]

    stack.edit_spec("      name: Sandbox\n", "      name: Sandbox EU\n")
    assert changes(stack.preview().change_summary) == {"update": 1}
    stack.up()
    assert cxone.mappings()["Salesforce Sandbox"]["salesforceEnvironment"]["name"] == "Sandbox EU"

    environment = {**mapping["salesforceEnvironment"], "name": "Renamed by hand"}
    environment.pop("hasConsumerSecret", None)
    cxone.put(
        f"/adapter-apis/v1/salesforce/account-mappings/{mapping['mappingId']}",
        {
            "name": mapping["name"],
            "accessKeyAgentId": mapping["accessKeyAgentId"],
            "isSelected": True,
            "salesforceEnvironment": environment,
        },
    )
    assert changes(stack.refresh().summary.resource_changes) == {"update": 1}
    stack.up()
    assert cxone.mappings()["Salesforce Sandbox"]["salesforceEnvironment"]["name"] == "Sandbox EU"

    stack.destroy()
    assert cxone.mappings() == {}


def test_an_existing_object_is_not_taken_over_unless_the_spec_says_adopt(stack: Any, sandbox: Any) -> None:
    sf = vendors.salesforce(sandbox.env)
    mdapi: Any = sf.mdapi
    mdapi.ServicePresenceStatus.create([mdapi.ServicePresenceStatus(fullName="Busy", label="Busy (by hand)")])

    with pytest.raises(auto.CommandError) as failure:
        stack.up()
    assert "already exists" in str(failure.value) and "adopt: true" in str(failure.value)

    stack.edit_spec("      kind: busy\n", "      kind: busy\n      adopt: true\n")
    stack.up()
    assert vendors.statuses(sf)["Busy"]["label"] == "Busy"
    assert changes(stack.preview(refresh=True).change_summary) == {}


BAD_SPECS = {
    "salesforce.statuses[1].channels": ("      kind: busy\n", "      kind: busy\n      channels: [sfdc_phone]\n"),
    "salesforce.statuses[0].developerName": (
        "    - label: Available for Chats",
        "    - label: Available for Chats\n      developerName: Bad__Name_",
    ),
    "salesforce.oauthApp.scopes": ("scopes: [full, api, web, visualforce, refresh_token]", "scopes: [full, telepathy]"),
    "cxone.presenceRules[0].subscriber": ("{salesforce: Busy, acd:", "{salesforce: Nonexistent, acd:"),
}


@pytest.mark.parametrize("path", sorted(BAD_SPECS))
def test_an_invalid_spec_is_rejected_before_any_api_call(
    path: str, tmp_path: Path, engine_env: dict[str, str], sandbox: Any
) -> None:
    old, new = BAD_SPECS[path]
    assert old in SEED_SPEC
    stack = spec_stack(name="invalid", work_dir=tmp_path, spec_text=SEED_SPEC.replace(old, new, 1), env=engine_env)
    sandbox.salesforce_operator.clear_requests()
    sandbox.cxone_operator.clear_requests()

    with pytest.raises(auto.CommandError) as failure:
        stack.up()
    assert path in str(failure.value)
    assert sandbox.salesforce_operator.count() == 0
    assert sandbox.cxone_operator.count() == 0


def test_a_fault_window_at_cxone_is_ridden_out_by_retries(stack: Any, sandbox: Any) -> None:
    # CXone's next four answers are 503s, whichever calls they hit: each call is retried with exponential
    # backoff (5 attempts over several seconds), so even one call that meets all four succeeds on its fifth.
    sandbox.cxone_operator.set_faults(error_next=4, error_status=503)
    result = stack.up()
    assert result.summary.result == "succeeded"
    answered_503 = [r for r in sandbox.cxone_operator.requests() if r.get("status") == 503]
    assert len(answered_503) == 4, "the fault window was not exercised"
    sandbox.cxone_operator.clear_faults()
    assert changes(stack.preview(refresh=True).change_summary) == {}


def test_a_permanent_error_stops_the_run_with_a_clear_message_and_the_next_up_converges(
    stack: Any, sandbox: Any
) -> None:
    sandbox.cxone_operator.set_faults(error_next=1000, error_status=403, path_prefix="/adapter-apis/")
    with pytest.raises(auto.CommandError) as failure:
        stack.up()
    message = str(failure.value)
    assert "CXone" in message and "403" in message
    assert "Traceback" not in message.split("ProviderError:")[-1]

    sandbox.cxone_operator.clear_faults()
    stack.up()
    assert changes(stack.preview(refresh=True).change_summary) == {}

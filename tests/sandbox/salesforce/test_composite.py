"""The REST composite resource: several subrequests in one call that counts as one API call, each answered
as if it were a call of its own; the request log lists the subrequests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from sandbox.testing import SandboxHandle
from tests.sandbox.salesforce.test_presence import Org, define_command_event, results

AGENT = "katherine.johnson@example.com"  # no other emulator test uses her: her presence rows are this file's


@pytest.fixture
def org(shared_sandbox: SandboxHandle, module_sf: Salesforce) -> Any:
    org = Org(shared_sandbox, module_sf)
    yield org
    org.console("logout", user=AGENT)


def command(org: Org, reference: str, status_id: str, command_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"/services/data/v{org.sf.sf_version}/sobjects/Omni_Presence_Command__e",
        "referenceId": reference,
        "body": {"UserId__c": org.user_id(AGENT), "StatusId__c": status_id, "CommandId__c": command_id, **extra},
    }


def composite(org: Org, *subrequests: dict[str, Any], all_or_none: bool = False) -> Any:
    return org.sf.restful(
        "composite", method="POST", json={"allOrNone": all_or_none, "compositeRequest": list(subrequests)}
    )


def test_each_subrequest_is_answered_in_order_and_the_call_counts_once(
    org: Org, unique: str, shared_sandbox: SandboxHandle
) -> None:
    define_command_event(org.sf)
    on, away = org.status(f"Comp_on_{unique}", "sfdc_phone"), org.status(f"Comp_away_{unique}")
    org.console("login", user=AGENT, status=on)
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    subrequests = command(org, "first", away, first), command(org, "second", on, second)
    used_before = org.sf.restful("limits")["DailyApiRequests"]

    answer = composite(org, *subrequests)
    used_after = org.sf.restful("limits")["DailyApiRequests"]

    assert [r["referenceId"] for r in answer["compositeResponse"]] == ["first", "second"]
    assert [r["httpStatusCode"] for r in answer["compositeResponse"]] == [201, 201]
    assert all(r["body"]["success"] is True for r in answer["compositeResponse"])
    applied = {r["commandId"]: r for r in results(org)}
    assert applied[first]["success"] and applied[second]["success"]  # the console applied both, in order
    assert org.presence(AGENT)[-1]["ServicePresenceStatus"]["DeveloperName"] == f"Comp_on_{unique}"
    # limits itself is a call: before -> (composite) -> (limits) = two calls, not three.
    assert used_before["Remaining"] - used_after["Remaining"] == 2


def test_a_failing_subrequest_does_not_stop_the_others(org: Org, unique: str) -> None:
    define_command_event(org.sf)
    on = org.status(f"Comp_ok_{unique}", "sfdc_phone")
    org.console("login", user=AGENT, status=on)

    answer = composite(
        org, command(org, "bad", on, uuid.uuid4().hex, Colour__c="red"), command(org, "good", on, uuid.uuid4().hex)
    )

    bad, good = answer["compositeResponse"]
    assert bad["httpStatusCode"] == 400 and bad["body"][0]["errorCode"] == "INVALID_FIELD"
    assert good["httpStatusCode"] == 201 and good["body"]["success"] is True


def test_the_request_log_lists_the_subrequests(org: Org, unique: str, shared_sandbox: SandboxHandle) -> None:
    define_command_event(org.sf)
    on = org.status(f"Comp_log_{unique}", "sfdc_phone")
    org.console("login", user=AGENT, status=on)
    operator = shared_sandbox.salesforce_operator
    since = max((e["seq"] for e in operator.requests()), default=0)

    composite(org, command(org, "a", on, uuid.uuid4().hex), command(org, "b", on, uuid.uuid4().hex))

    [call] = [e for e in operator.requests(since) if e["path"].endswith("/composite")]
    assert call["operation"] == "composite" and call["write"] is True
    assert [s["operation"] for s in call["subrequests"]] == ["create Omni_Presence_Command__e"] * 2
    operations = [e for e in operator.operations(since) if "Omni_Presence_Command__e" in e["path"]]
    assert [(e["method"], e["status"], e["seq"]) for e in operations] == [("POST", 201, call["seq"])] * 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"allOrNone": True, "compositeRequest": [{"method": "GET", "url": "/x", "referenceId": "a"}]}, "allOrNone"),
        ({"compositeRequest": []}, "1 to 25"),
        (
            {"compositeRequest": [{"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": "a"}] * 2},
            "Duplicate referenceId",
        ),
        (
            {
                "compositeRequest": [
                    {"method": "GET", "url": "/services/data/v59.0/sobjects/@{a.id}", "referenceId": "b"}
                ]
            },
            "references between subrequests",
        ),
        (
            {"compositeRequest": [{"method": "TRACE", "url": "/services/data/v59.0/limits", "referenceId": "a"}]},
            "method must be one of",
        ),
    ],
)
def test_requests_the_sandbox_cannot_run_are_refused_with_a_reason(
    org: Org, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        org.sf.restful("composite", method="POST", json=body)

    assert raised.value.content[0]["errorCode"] == "INVALID_INPUT"
    assert message in raised.value.content[0]["message"]


def test_a_subrequest_for_another_api_version_is_refused_alone(org: Org) -> None:
    answer = composite(
        org,
        {"method": "GET", "url": "/services/data/v58.0/limits", "referenceId": "old"},
        {"method": "GET", "url": f"/services/data/v{org.sf.sf_version}/limits", "referenceId": "ok"},
    )

    old, ok = answer["compositeResponse"]
    assert old["httpStatusCode"] == 400 and "must start with" in old["body"][0]["message"]
    assert ok["httpStatusCode"] == 200 and "DailyApiRequests" in ok["body"]

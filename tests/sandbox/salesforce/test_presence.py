"""Omni-Channel presence: the emulator-only agent console (the Omni widget's part), UserServicePresence rows
as Salesforce writes them, and the Lightning bridge applying ``Omni_Presence_Command__e`` platform events. The
change events they cause are delivered through the Pub/Sub API: test_pubsub*.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceResourceNotFound

from sandbox.testing import SandboxHandle

ADA = "ada.lovelace@example.com"
LINUS = "linus.torvalds@example.com"  # Standard User profile: no statuses granted


class Org:
    """The shared sandbox seen by one test: console calls, feed reads, a logged-in simple-salesforce."""

    def __init__(self, sandbox: SandboxHandle, sf: Salesforce) -> None:
        self.sandbox = sandbox
        self.sf = sf
        self.base = sandbox.salesforce_url

    def console(self, action: str, **body: Any) -> requests.Response:
        return requests.post(
            f"{self.base}/__sandbox/console/{action}", json=body, verify=self.sandbox.ca_bundle, timeout=10
        )

    def status(self, name: str, *channels: str, grant_to: str | None = "Custom: Support Agent") -> str:
        kwargs: dict[str, Any] = {"fullName": name, "label": name}
        if channels:
            kwargs["channels"] = self.sf.mdapi.ServiceChannelStatus(channel=list(channels))
        self.sf.mdapi.ServicePresenceStatus.create([self.sf.mdapi.ServicePresenceStatus(**kwargs)])
        status_id = self.sf.query(f"SELECT Id FROM ServicePresenceStatus WHERE DeveloperName = '{name}'")
        status_id = status_id["records"][0]["Id"]
        if grant_to:
            parent = self.sf.query(
                f"SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND Profile.Name = '{grant_to}'"
            )["records"][0]["Id"]
            self.sf.SetupEntityAccess.create({"ParentId": parent, "SetupEntityId": status_id})
        return str(status_id)

    def presence(self, email: str) -> list[dict[str, Any]]:
        return list(
            self.sf.query_all(
                "SELECT Id, ServicePresenceStatus.DeveloperName, IsCurrentState, IsAway, StatusStartDate, "
                "StatusEndDate, "
                f"StatusDuration FROM UserServicePresence WHERE User.Email = '{email}' ORDER BY CreatedDate, Name"
            )["records"]
        )

    def user_id(self, email: str) -> str:
        return str(self.sf.query(f"SELECT Id FROM User WHERE Email = '{email}'")["records"][0]["Id"])


@pytest.fixture
def org(shared_sandbox: SandboxHandle, module_sf: Salesforce) -> Any:
    org = Org(shared_sandbox, module_sf)
    yield org
    for email in (ADA, LINUS):
        org.console("logout", user=email)


def test_an_agent_logs_in_with_a_granted_status(org: Org, unique: str) -> None:
    available = org.status(f"Avail_{unique}", "sfdc_phone")

    response = org.console("login", user=ADA, status=available)

    assert response.status_code == 200
    assert response.json()["statusDeveloperName"] == f"Avail_{unique}"
    [row] = org.presence(ADA)
    assert row["IsCurrentState"] is True and row["IsAway"] is False and row["StatusEndDate"] is None
    assert row["ServicePresenceStatus"]["DeveloperName"] == f"Avail_{unique}"


def test_statuses_not_granted_to_the_profile_are_refused(org: Org, unique: str) -> None:
    status_id = org.status(f"Agents_only_{unique}", "Case")

    assert org.console("login", user=LINUS, status=status_id).status_code == 403
    assert org.presence(LINUS) == []


def test_a_status_change_closes_the_current_row_and_opens_a_new_one(org: Org, unique: str) -> None:
    available = org.status(f"On_{unique}", "sfdc_phone")
    busy = org.status(f"Lunch_{unique}")  # no channels: an away status
    org.console("login", user=ADA, status=available)

    org.console("status", user=ADA, status=f"Lunch_{unique}", reason="OmniManualStatusChange")

    old, new = org.presence(ADA)[-2:]
    assert old["IsCurrentState"] is False and old["StatusEndDate"] is not None and old["StatusDuration"] >= 0
    assert new["IsCurrentState"] is True and new["IsAway"] is True
    assert new["ServicePresenceStatus"]["DeveloperName"] == f"Lunch_{unique}"
    assert busy.startswith("0N5")


def test_logout_closes_the_current_row(org: Org, unique: str) -> None:
    org.console("login", user=ADA, status=org.status(f"Out_{unique}", "Case"))

    assert org.console("logout", user=ADA).json()["loggedIn"] is False

    assert all(row["IsCurrentState"] is False for row in org.presence(ADA))
    assert org.console("status", user=ADA, status=f"Out_{unique}").status_code == 409  # not logged in


def define_command_event(sf: Salesforce) -> None:
    if "Omni_Presence_Command__e" in {o["name"] for o in sf.describe()["sobjects"]}:
        return
    fields = [
        sf.mdapi.CustomField(fullName=f"{name}__c", label=name, type="Text", length=255)
        for name in ("UserId", "StatusId", "CommandId")
    ]
    sf.mdapi.CustomObject.create(
        [
            sf.mdapi.CustomObject(
                fullName="Omni_Presence_Command__e",
                label="Omni Presence Command",
                pluralLabel="Omni Presence Commands",
                deploymentStatus="Deployed",
                eventType="HighVolume",
                publishBehavior="PublishImmediately",
                fields=fields,
            )
        ]
    )


def results(org: Org) -> list[dict[str, Any]]:
    response = requests.get(f"{org.base}/__sandbox/console/results", verify=org.sandbox.ca_bundle, timeout=10)
    return list(response.json()["results"])


def test_publishing_an_event_that_was_never_defined_is_not_found(org: Org) -> None:
    with pytest.raises(SalesforceResourceNotFound) as raised:
        org.sf.Never_Defined__e.create({"UserId__c": "x"})

    assert raised.value.content[0]["errorCode"] == "NOT_FOUND"


def test_the_bridge_applies_a_command_for_a_logged_in_agent(org: Org, unique: str) -> None:
    define_command_event(org.sf)
    available = org.status(f"Bridge_on_{unique}", "sfdc_phone")
    away = org.status(f"Bridge_away_{unique}")
    org.console("login", user=ADA, status=available)
    command = str(uuid.uuid4())

    published = org.sf.Omni_Presence_Command__e.create(
        {"UserId__c": org.user_id(ADA), "StatusId__c": away, "CommandId__c": command}
    )

    assert published["success"] is True
    assert org.presence(ADA)[-1]["ServicePresenceStatus"]["DeveloperName"] == f"Bridge_away_{unique}"
    outcome = next(r for r in results(org) if r["commandId"] == command)
    assert outcome["success"] is True and outcome["error"] is None


def test_the_bridge_applies_a_command_id_once_as_the_real_bridge_does(org: Org, unique: str) -> None:
    """The same command delivered twice (a repeated publish; a frozen replica's write landing after the new owner
    repeated it under the same id) is applied once, with one result: bridgeLogic.js ``createDeduper``. The
    agent's own change in between is not overwritten by the late copy."""
    define_command_event(org.sf)
    available = org.status(f"Bridge_once_{unique}", "sfdc_phone")
    away = org.status(f"Bridge_once_away_{unique}")
    org.console("login", user=ADA, status=available)
    command = {"UserId__c": org.user_id(ADA), "StatusId__c": away, "CommandId__c": str(uuid.uuid4())}

    org.sf.Omni_Presence_Command__e.create(command)
    org.console("status", user=ADA, status=available)  # the agent changes back
    org.sf.Omni_Presence_Command__e.create(command)

    assert org.presence(ADA)[-1]["ServicePresenceStatus"]["DeveloperName"] == f"Bridge_once_{unique}"
    assert [r["success"] for r in results(org) if r["commandId"] == command["CommandId__c"]] == [True]


def test_the_bridge_records_a_failure_when_the_agent_is_offline(org: Org, unique: str) -> None:
    define_command_event(org.sf)
    status_id = org.status(f"Bridge_off_{unique}", "Case")
    command = str(uuid.uuid4())

    org.sf.Omni_Presence_Command__e.create(
        {"UserId__c": org.user_id(ADA), "StatusId__c": status_id, "CommandId__c": command}
    )

    outcome = next(r for r in results(org) if r["commandId"] == command)
    assert outcome["success"] is False
    assert "not logged in" in outcome["error"]
    assert org.presence(ADA) == [] or org.presence(ADA)[-1]["IsCurrentState"] is False


def test_the_bridge_refuses_a_status_the_profile_does_not_have(org: Org, unique: str) -> None:
    define_command_event(org.sf)
    org.console("login", user=ADA, status=org.status(f"Bridge_ok_{unique}", "Case"))
    ungranted = org.status(f"Bridge_no_{unique}", grant_to=None)
    command = str(uuid.uuid4())

    org.sf.Omni_Presence_Command__e.create(
        {"UserId__c": org.user_id(ADA), "StatusId__c": ungranted, "CommandId__c": command}
    )

    outcome = next(r for r in results(org) if r["commandId"] == command)
    assert outcome["success"] is False and "not granted" in outcome["error"]


def test_unknown_event_fields_are_invalid_field(org: Org) -> None:
    define_command_event(org.sf)

    with pytest.raises(Exception, match="INVALID_FIELD"):
        org.sf.Omni_Presence_Command__e.create({"Colour__c": "red"})

"""ServiceChannel through the Metadata API (zeep), as SOQL sees it: created, relabelled and deleted; one channel
per object; a channel a presence status uses is not deleted."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce

from sandbox.testing import SandboxHandle
from tests.sandbox.support import login


@pytest.fixture(scope="module")
def sf(shared_sandbox: SandboxHandle) -> Salesforce:
    return login(shared_sandbox.env)


def channel(sf: Salesforce, name: str, label: str, entity: str) -> Any:
    return sf.mdapi.ServiceChannel(fullName=name, label=label, relatedEntityType=entity)


def rows(sf: Salesforce, name: str) -> list[dict[str, Any]]:
    soql = f"SELECT DeveloperName, MasterLabel, RelatedEntity FROM ServiceChannel WHERE DeveloperName = '{name}'"
    return [{k: v for k, v in r.items() if k != "attributes"} for r in sf.query(soql)["records"]]


def result(sf: Salesforce, op: str, *args: Any) -> Any:
    mdapi: Any = sf.mdapi
    [answer] = getattr(mdapi._service, op)(*args, _soapheaders=[mdapi._session_header])
    return answer


def test_a_channel_is_created_updated_and_deleted_as_soql_sees_it(sf: Salesforce, unique: str) -> None:
    name = f"Leads_{unique}"
    entity = f"Lead{unique[:6]}"
    assert result(sf, "createMetadata", [channel(sf, name, "Leads", entity)]).success
    assert rows(sf, name) == [{"DeveloperName": name, "MasterLabel": "Leads", "RelatedEntity": entity}]
    mdapi: Any = sf.mdapi
    assert mdapi.ServiceChannel.read(name).relatedEntityType == entity

    assert result(sf, "updateMetadata", [channel(sf, name, "Sales leads", entity)]).success
    assert rows(sf, name)[0]["MasterLabel"] == "Sales leads"

    assert result(sf, "deleteMetadata", "ServiceChannel", [name]).success
    assert rows(sf, name) == []


def test_one_channel_per_object(sf: Salesforce, unique: str) -> None:
    taken = result(sf, "createMetadata", [channel(sf, f"Cases_{unique}", "More cases", "Case")])
    assert not taken.success
    assert taken.errors[0].statusCode == "DUPLICATE_VALUE"
    assert taken.errors[0].fields == ["relatedEntityType"]


def test_the_object_must_be_an_object_name(sf: Salesforce, unique: str) -> None:
    # (label and relatedEntityType are required by the WSDL: zeep refuses to send a channel without them)
    bad = result(sf, "createMetadata", [channel(sf, f"X_{unique}", "X", "not an object")])
    assert (bad.success, bad.errors[0].statusCode) == (False, "FIELD_INTEGRITY_EXCEPTION")


def test_a_channel_a_status_uses_is_not_deleted(sf: Salesforce, unique: str) -> None:
    name, status = f"Inc_{unique}", f"OnIncidents_{unique}"
    assert result(sf, "createMetadata", [channel(sf, name, "Incidents", f"Inc{unique[:6]}__c")]).success
    online = sf.mdapi.ServicePresenceStatus(
        fullName=status, label="On incidents", channels=sf.mdapi.ServiceChannelStatus(channel=[name])
    )
    assert result(sf, "createMetadata", [online]).success
    refused = result(sf, "deleteMetadata", "ServiceChannel", [name])
    assert (refused.success, refused.errors[0].statusCode) == (False, "DELETE_FAILED")
    assert status in refused.errors[0].message
    assert result(sf, "deleteMetadata", "ServicePresenceStatus", [status]).success
    assert result(sf, "deleteMetadata", "ServiceChannel", [name]).success

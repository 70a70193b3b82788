"""The Metadata API through ``sf.mdapi`` (zeep): presence statuses kept consistent with SOQL, Connected Apps
and External Client Apps whose secrets are never read back, platform events, and SOAP faults."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import zeep.exceptions
from simple_salesforce import Salesforce

from sandbox.testing import SandboxHandle
from tests.sandbox.support import login, put_settings, rest, token


@pytest.fixture(scope="module")
def sf(shared_sandbox: SandboxHandle) -> Salesforce:
    """One login for the module: building zeep's client from the Metadata WSDL takes ~0.4 s per handle."""
    return login(shared_sandbox.env)


def status(sf: Salesforce, name: str, label: str, *channels: str) -> Any:
    kwargs: dict[str, Any] = {"fullName": name, "label": label}
    if channels:
        kwargs["channels"] = sf.mdapi.ServiceChannelStatus(channel=list(channels))
    return sf.mdapi.ServicePresenceStatus(**kwargs)


def channels_of(sf: Salesforce, name: str) -> list[str]:
    rows = sf.query(
        "SELECT ServiceChannel.DeveloperName FROM ServiceChannelStatus "
        f"WHERE ServicePresenceStatus.DeveloperName = '{name}' ORDER BY ServiceChannel.DeveloperName"
    )
    return [r["ServiceChannel"]["DeveloperName"] for r in rows["records"]]


def test_presence_status_lifecycle_is_visible_to_soql(sf: Salesforce, unique: str) -> None:
    name = f"Available_{unique}"
    sf.mdapi.ServicePresenceStatus.create([status(sf, name, "Available", "sfdc_phone", "Case")])

    row = sf.query(f"SELECT Id, DeveloperName, MasterLabel FROM ServicePresenceStatus WHERE DeveloperName = '{name}'")
    assert row["records"][0]["MasterLabel"] == "Available"
    assert channels_of(sf, name) == ["Case", "sfdc_phone"]
    read = sf.mdapi.ServicePresenceStatus.read([name])
    assert (read.fullName, read.label, sorted(read.channels.channel)) == (name, "Available", ["Case", "sfdc_phone"])

    sf.mdapi.ServicePresenceStatus.update([status(sf, name, "Available (chat)", "sfdc_livemessage")])
    assert channels_of(sf, name) == ["sfdc_livemessage"]
    assert sf.mdapi.ServicePresenceStatus.read([name]).label == "Available (chat)"

    sf.mdapi.ServicePresenceStatus.delete([name])
    assert sf.query(f"SELECT COUNT() FROM ServicePresenceStatus WHERE DeveloperName = '{name}'")["totalSize"] == 0
    assert channels_of(sf, name) == []
    assert sf.mdapi.ServicePresenceStatus.read([name]).fullName is None


def test_a_status_without_channels_is_a_busy_status(sf: Salesforce, unique: str) -> None:
    sf.mdapi.ServicePresenceStatus.create([status(sf, f"Busy_{unique}", "Busy")])

    read = sf.mdapi.ServicePresenceStatus.read([f"Busy_{unique}"])
    assert read.channels is None
    assert channels_of(sf, f"Busy_{unique}") == []


def test_deleting_a_status_removes_its_profile_grants(sf: Salesforce, unique: str) -> None:
    name = f"Granted_{unique}"
    sf.mdapi.ServicePresenceStatus.create([status(sf, name, "Granted")])
    status_id = sf.query(f"SELECT Id FROM ServicePresenceStatus WHERE DeveloperName = '{name}'")["records"][0]["Id"]
    parent = sf.query("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true LIMIT 1")["records"][0]["Id"]
    sf.SetupEntityAccess.create({"ParentId": parent, "SetupEntityId": status_id})

    sf.mdapi.ServicePresenceStatus.delete([name])

    assert sf.query(f"SELECT COUNT() FROM SetupEntityAccess WHERE SetupEntityId = '{status_id}'")["totalSize"] == 0


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ({"fullName": "Dup_{u}", "label": "x"}, "(DUPLICATE_DEVELOPER_NAME, "),
        ({"fullName": "Chan_{u}", "label": "x", "channel": "sfdc_fax"}, "(INVALID_CROSS_REFERENCE_KEY, "),
        ({"fullName": "bad name {u}", "label": "x"}, "(FIELD_INTEGRITY_EXCEPTION, "),
    ],
)
def test_invalid_statuses_fail_with_a_save_result_error(
    sf: Salesforce, unique: str, component: dict[str, str], message: str
) -> None:
    sf.mdapi.ServicePresenceStatus.create([status(sf, f"Dup_{unique}", "x")])
    channels = [component["channel"]] if "channel" in component else []

    with pytest.raises(Exception, match=r"\(\w+, ") as raised:
        sf.mdapi.ServicePresenceStatus.create([status(sf, component["fullName"].format(u=unique), "x", *channels)])
    assert message in str(raised.value)


def test_update_of_a_missing_status_names_it(sf: Salesforce, unique: str) -> None:
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY, In field: fullName - no ServicePresenceStatus"):
        sf.mdapi.ServicePresenceStatus.update([status(sf, f"Missing_{unique}", "x")])


def test_upsert_creates_then_updates(sf: Salesforce, unique: str) -> None:
    name = f"Upsert_{unique}"
    sf.mdapi.ServicePresenceStatus.upsert([status(sf, name, "One")])
    sf.mdapi.ServicePresenceStatus.upsert([status(sf, name, "Two", "Case")])

    assert sf.mdapi.ServicePresenceStatus.read([name]).label == "Two"
    assert channels_of(sf, name) == ["Case"]


def test_list_metadata_returns_file_properties(sf: Salesforce, unique: str) -> None:
    sf.mdapi.ServicePresenceStatus.create([status(sf, f"Listed_{unique}", "Listed")])

    listed = {p.fullName: p for p in sf.mdapi.list_metadata([sf.mdapi.ListMetadataQuery(type="ServicePresenceStatus")])}
    assert listed[f"Listed_{unique}"].fileName == f"servicePresenceStatuses/Listed_{unique}.servicePresenceStatus"
    assert listed[f"Listed_{unique}"].id.startswith("0N5")
    channels = {p.fullName for p in sf.mdapi.list_metadata([sf.mdapi.ListMetadataQuery(type="ServiceChannel")])}
    assert channels == {"Case", "sfdc_livemessage", "sfdc_phone"}


def connected_app(sf: Salesforce, name: str, **oauth: Any) -> Any:
    config = {"callbackUrl": "https://app.example.com/cb", "scopes": ["Api", "RefreshToken"], **oauth}
    return sf.mdapi.ConnectedApp(
        fullName=name,
        label=name,
        contactEmail="ops@example.com",
        oauthConfig=sf.mdapi.ConnectedAppOauthConfig(**config),
    )


def test_connected_app_creation_is_restricted_unless_the_org_allows_it(
    shared_sandbox: SandboxHandle, sf: Salesforce, unique: str
) -> None:
    with pytest.raises(Exception, match=r"INSUFFICIENT_ACCESS, .*external client app"):
        sf.mdapi.ConnectedApp.create([connected_app(sf, f"Legacy_{unique}")])

    put_settings(shared_sandbox, allowConnectedAppCreation=True)
    sf.mdapi.ConnectedApp.create([connected_app(sf, f"Legacy_{unique}", consumerSecret=f"Secret{unique}")])

    read = sf.mdapi.ConnectedApp.read([f"Legacy_{unique}"])
    assert read.oauthConfig.consumerKey.startswith("3MVG9")  # generated by the server
    assert read.oauthConfig.consumerSecret is None  # never read back
    assert read.oauthConfig.scopes == ["Api", "RefreshToken"]


def test_the_connected_app_secret_works_for_oauth(
    shared_sandbox: SandboxHandle, sf: Salesforce, sandbox_env: dict[str, str], unique: str
) -> None:
    put_settings(shared_sandbox, allowConnectedAppCreation=True)
    sf.mdapi.ConnectedApp.create(
        [connected_app(sf, f"Login_{unique}", consumerKey=f"key{unique}", consumerSecret=f"Secret{unique}")]
    )

    assert token(sandbox_env, client_id=f"key{unique}", client_secret=f"Secret{unique}").status_code == 200
    sf.mdapi.ConnectedApp.delete([f"Login_{unique}"])
    assert (
        token(sandbox_env, client_id=f"key{unique}", client_secret=f"Secret{unique}").json()["error"]
        == "invalid_client_id"
    )


def test_a_scope_outside_the_wsdl_enum_is_a_soap_fault(
    shared_sandbox: SandboxHandle, sf: Salesforce, unique: str
) -> None:
    put_settings(shared_sandbox, allowConnectedAppCreation=True)

    with pytest.raises(zeep.exceptions.Fault) as raised:
        sf.mdapi.ConnectedApp.create([connected_app(sf, f"Scope_{unique}", scopes=["Visualforce"])])
    assert "'Visualforce' is not a valid value for the enum 'ConnectedAppOauthAccessScope'" in raised.value.message


def create_eca(sf: Salesforce, name: str, **global_settings: Any) -> None:
    sf.mdapi.ExternalClientApplication.create(
        [sf.mdapi.ExternalClientApplication(fullName=name, label=name, contactEmail="ops@example.com")]
    )
    sf.mdapi.ExtlClntAppGlobalOauthSettings.create(
        [
            sf.mdapi.ExtlClntAppGlobalOauthSettings(
                fullName=f"{name}_glbloauth",
                externalClientApplication=name,
                label=name,
                callbackUrl="https://app.example.com/cb",
                **global_settings,
            )
        ]
    )
    sf.mdapi.ExtlClntAppOauthSettings.create(
        [
            sf.mdapi.ExtlClntAppOauthSettings(
                fullName=f"{name}_oauth",
                externalClientApplication=name,
                label=name,
                commaSeparatedOauthScopes="Api, RefreshToken",
            )
        ]
    )


def test_external_client_app_secret_is_never_read_back(
    sf: Salesforce, sandbox_env: dict[str, str], unique: str
) -> None:
    name = f"Eca_{unique}"
    create_eca(sf, name, consumerKey=f"ecakey{unique}", consumerSecret=f"EcaSecret{unique}")

    read = sf.mdapi.ExtlClntAppGlobalOauthSettings.read([f"{name}_glbloauth"])
    assert read.consumerKey == f"ecakey{unique}"
    assert read.consumerSecret is None
    assert sf.mdapi.ExtlClntAppOauthSettings.read([f"{name}_oauth"]).commaSeparatedOauthScopes == "Api, RefreshToken"
    granted = token(sandbox_env, client_id=f"ecakey{unique}", client_secret=f"EcaSecret{unique}")
    assert granted.status_code == 200
    assert granted.json()["scope"] == "api refresh_token"


def test_eca_settings_must_reference_an_existing_app(sf: Salesforce, unique: str) -> None:
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        sf.mdapi.ExtlClntAppOauthSettings.create(
            [
                sf.mdapi.ExtlClntAppOauthSettings(
                    fullName=f"Orphan_{unique}",
                    externalClientApplication=f"Nope_{unique}",
                    commaSeparatedOauthScopes="Api",
                )
            ]
        )


def test_reading_the_eca_secret_through_connect_rest_needs_the_org_setting(
    shared_sandbox: SandboxHandle, sf: Salesforce, sandbox_env: dict[str, str], unique: str
) -> None:
    name = f"Creds_{unique}"
    create_eca(sf, name, consumerSecret=f"CredsSecret{unique}")
    key = sf.mdapi.ExtlClntAppGlobalOauthSettings.read([f"{name}_glbloauth"]).consumerKey
    path = f"/services/data/v62.0/apps/oauth/credentials/{name}/{key}"

    assert rest(sandbox_env, "GET", path, params={"part": "secret"}).status_code == 403
    put_settings(shared_sandbox, enableClientSecretInRestApiAccess=True)
    assert rest(sandbox_env, "GET", path, params={"part": "keyandsecret"}).json() == {
        "key": key,
        "secret": f"CredsSecret{unique}",
    }
    assert rest(sandbox_env, "GET", path, params={"part": "key"}).json() == {"key": key}


def test_a_platform_event_is_deployed_with_custom_object_metadata(sf: Salesforce, unique: str) -> None:
    name = f"Ping_{unique}__e"
    field = sf.mdapi.CustomField(fullName="Note__c", label="Note", type="Text", length=255)
    sf.mdapi.CustomObject.create(
        [
            sf.mdapi.CustomObject(
                fullName=name,
                label="Ping",
                pluralLabel="Pings",
                deploymentStatus="Deployed",
                eventType="HighVolume",
                publishBehavior="PublishAfterCommit",
                fields=[field],
            )
        ]
    )

    published = getattr(sf, name).create({"Note__c": "hello"})
    assert published["success"] is True
    assert published["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    assert getattr(sf, name).describe()["fields"][-1]["name"] == "Note__c"


def soap(env: dict[str, str], body: bytes) -> requests.Response:
    return requests.post(
        f"{env['SF_LOGIN_URL']}/services/Soap/m/59.0",
        data=body,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        verify=env["REQUESTS_CA_BUNDLE"],
        timeout=10,
    )


ENTITY_BOMB = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'


@pytest.mark.parametrize("body", [b"<not xml", b"", b"<a/>", ENTITY_BOMB])
def test_malformed_soap_is_a_soap_fault_not_a_crash(sandbox_env: dict[str, str], body: bytes) -> None:
    response = soap(sandbox_env, body)

    assert response.status_code == 500
    assert b"<faultcode>" in response.content and b"soapenv:Fault" in response.content


def test_unknown_metadata_type_is_a_fault(sf: Salesforce) -> None:
    with pytest.raises(zeep.exceptions.Fault) as raised:
        sf.mdapi.ApexTrigger.read(["Anything"])
    assert raised.value.code == "sf:INVALID_TYPE"

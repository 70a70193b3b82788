"""The file-based Metadata API deploy through simple-salesforce itself: ``sf.deploy(zip, sandbox)`` and
``sf.checkDeployStatus(asyncId)``; the deployed components are listable and ``__e`` objects publishable."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from simple_salesforce import Salesforce

from runtime.bridge import bridge_package
from sandbox.testing import SandboxHandle
from tests.sandbox.support import login


@pytest.fixture(scope="module")
def sf(shared_sandbox: SandboxHandle) -> Salesforce:
    return login(shared_sandbox.env)


def make_zip(files: dict[str, str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


def package_xml(*types: tuple[str, str]) -> str:
    blocks = "".join(f"<types><members>{m}</members><name>{t}</name></types>" for t, m in types)
    return (f'<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"{blocks}<version>59.0</version></Package>")


def event_object(label: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">'
            "<deploymentStatus>Deployed</deploymentStatus><eventType>HighVolume</eventType>"
            "<fields><fullName>Note__c</fullName><label>Note</label><length>255</length><type>Text</type></fields>"
            f"<label>{label}</label><pluralLabel>{label}s</pluralLabel>"
            "<publishBehavior>PublishAfterCommit</publishBehavior></CustomObject>")


def deploy(sf: Salesforce, archive: io.BytesIO, **options: object) -> dict[str, Any]:
    started = sf.deploy(archive, sandbox=False, **options)
    async_id = started["asyncId"]
    assert started["state"] == "Queued" and async_id is not None and async_id.startswith("0Af")
    return dict(sf.checkDeployStatus(async_id))


def listed(sf: Salesforce, type_name: str) -> set[str]:
    query = sf.mdapi._client.get_type("ns0:ListMetadataQuery")(type=type_name)
    return {item.fullName for item in sf.mdapi.list_metadata([query]) or []}


def test_the_bridge_deploys_and_every_component_is_listable(sf: Salesforce) -> None:
    status = deploy(sf, io.BytesIO(bridge_package().zip_bytes))

    assert status["state"] == "Succeeded", status
    assert status["deployment_detail"]["deployed_count"] == "5"
    assert status["deployment_detail"]["failed_count"] == "0"
    assert {"Omni_Presence_Command__e", "Omni_Presence_Result__e"} <= listed(sf, "CustomObject")
    assert "OmniPresenceBridgeController" in listed(sf, "ApexClass")
    assert "omniPresenceBridgeUtility" in listed(sf, "AuraDefinitionBundle")
    assert "omniPresenceBridge" in listed(sf, "LightningComponentBundle")
    apex = sf.mdapi.ApexClass.read(["OmniPresenceBridgeController"])
    assert apex.status == "Active" and b"OmniPresenceBridgeController" in apex.content
    # The event is a platform event, as createMetadata makes it: publishable over REST.
    result = sf.Omni_Presence_Result__e.create({"CommandId__c": "c-1", "Success__c": True})
    assert result["success"] is True

    again = deploy(sf, io.BytesIO(bridge_package().zip_bytes))  # a redeploy updates in place
    assert again["state"] == "Succeeded"


def test_a_zip_without_package_xml_fails_with_a_component_failure(sf: Salesforce, unique: str) -> None:
    status = deploy(sf, make_zip({f"objects/Ping_{unique}__e.object": event_object("Ping")}))

    assert status["state"] == "Failed"
    assert status["deployment_detail"]["errors"] == [
        {"type": None, "file": "package.xml", "status": "Error", "message": "No package.xml found"}]


def test_an_unknown_type_fails_and_rolls_back_the_rest(sf: Salesforce, unique: str) -> None:
    name = f"Ping_{unique}__e"
    status = deploy(sf, make_zip({
        "package.xml": package_xml(("CustomObject", name), ("Flow", "Anything")),
        f"objects/{name}.object": event_object("Ping")}))

    assert status["state"] == "Failed"
    assert status["deployment_detail"]["deployed_count"] == "0"
    assert status["deployment_detail"]["errors"] == [{
        "type": "Flow", "file": "package.xml", "status": "Error",
        "message": "Unknown type name 'Flow' specified in package.xml"}]
    assert name not in listed(sf, "CustomObject")


def test_without_rollback_the_good_components_deploy(sf: Salesforce, unique: str) -> None:
    name = f"Pong_{unique}__e"
    # sandbox=True: simple-salesforce leaves rollbackOnError as given (False by default)
    async_id = sf.deploy(make_zip({
        "package.xml": package_xml(("CustomObject", name), ("ApexClass", "Missing")),
        f"objects/{name}.object": event_object("Pong")}), sandbox=True)["asyncId"]
    assert async_id is not None
    status: dict[str, Any] = dict(sf.checkDeployStatus(async_id))

    assert status["state"] == "SucceededPartial"
    assert status["deployment_detail"]["deployed_count"] == "1"
    assert status["deployment_detail"]["errors"][0]["message"] == (
        "An object 'Missing' of type ApexClass was named in package.xml, but was not found in zipped directory")
    assert getattr(sf, name).create({"Note__c": "hi"})["success"] is True


def test_a_bad_component_names_its_problem(sf: Salesforce, unique: str) -> None:
    name = f"Bad_{unique}__e"
    bad = event_object("Bad").replace("<type>Text</type>", "<type>Lookup</type>")
    status = deploy(sf, make_zip({"package.xml": package_xml(("CustomObject", name)),
                                  f"objects/{name}.object": bad}))

    assert status["state"] == "Failed"
    [error] = status["deployment_detail"]["errors"]
    assert error["type"] == "CustomObject" and error["file"] == f"objects/{name}.object"
    assert "Lookup" in error["message"]

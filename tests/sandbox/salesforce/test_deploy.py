"""The file-based Metadata API deploy through simple-salesforce itself: ``sf.deploy(zip, sandbox)`` and
``sf.checkDeployStatus(asyncId)``; the deployed components are listable and ``__e`` objects publishable; the
tests a deploy names must exist; destructiveChanges manifests delete, and what is already gone is a warning."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from presence_sync.deploy.bridge import bridge_package, bridge_removal_package
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
    """A manifest: package.xml, or a destructiveChanges*.xml (the same format)."""
    blocks = "".join(f"<types><members>{m}</members><name>{t}</name></types>" for t, m in types)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata">'
        f"{blocks}<version>59.0</version></Package>"
    )


def event_object(label: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<deploymentStatus>Deployed</deploymentStatus><eventType>HighVolume</eventType>"
        "<fields><fullName>Note__c</fullName><label>Note</label><length>255</length><type>Text</type></fields>"
        f"<label>{label}</label><pluralLabel>{label}s</pluralLabel>"
        "<publishBehavior>PublishAfterCommit</publishBehavior></CustomObject>"
    )


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
    assert status["deployment_detail"]["deployed_count"] == "6"  # 2 events, 2 classes, 2 bundles
    assert status["deployment_detail"]["failed_count"] == "0"
    assert {"Omni_Presence_Command__e", "Omni_Presence_Result__e"} <= listed(sf, "CustomObject")
    assert {"OmniPresenceBridgeController", "OmniPresenceBridgeControllerTest"} <= listed(sf, "ApexClass")
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
        {"type": None, "file": "package.xml", "status": "Error", "message": "No package.xml found"}
    ]


def test_an_unknown_type_fails_and_rolls_back_the_rest(sf: Salesforce, unique: str) -> None:
    name = f"Ping_{unique}__e"
    status = deploy(
        sf,
        make_zip(
            {
                "package.xml": package_xml(("CustomObject", name), ("Flow", "Anything")),
                f"objects/{name}.object": event_object("Ping"),
            }
        ),
    )

    assert status["state"] == "Failed"
    assert status["deployment_detail"]["deployed_count"] == "0"
    assert status["deployment_detail"]["errors"] == [
        {
            "type": "Flow",
            "file": "package.xml",
            "status": "Error",
            "message": "Unknown type name 'Flow' specified in package.xml",
        }
    ]
    assert name not in listed(sf, "CustomObject")


def test_without_rollback_the_good_components_deploy(sf: Salesforce, unique: str) -> None:
    name = f"Pong_{unique}__e"
    # sandbox=True: simple-salesforce leaves rollbackOnError as given (False by default)
    async_id = sf.deploy(
        make_zip(
            {
                "package.xml": package_xml(("CustomObject", name), ("ApexClass", "Missing")),
                f"objects/{name}.object": event_object("Pong"),
            }
        ),
        sandbox=True,
    )["asyncId"]
    assert async_id is not None
    status: dict[str, Any] = dict(sf.checkDeployStatus(async_id))

    assert status["state"] == "SucceededPartial"
    assert status["deployment_detail"]["deployed_count"] == "1"
    assert status["deployment_detail"]["errors"][0]["message"] == (
        "An object 'Missing' of type ApexClass was named in package.xml, but was not found in zipped directory"
    )
    assert getattr(sf, name).create({"Note__c": "hi"})["success"] is True


def test_a_bad_component_names_its_problem(sf: Salesforce, unique: str) -> None:
    name = f"Bad_{unique}__e"
    bad = event_object("Bad").replace("<type>Text</type>", "<type>Lookup</type>")
    status = deploy(sf, make_zip({"package.xml": package_xml(("CustomObject", name)), f"objects/{name}.object": bad}))

    assert status["state"] == "Failed"
    [error] = status["deployment_detail"]["errors"]
    assert error["type"] == "CustomObject" and error["file"] == f"objects/{name}.object"
    assert "Lookup" in error["message"]


# -- tests named by the deploy (testLevel RunSpecifiedTests) ---------------------------------------------------

RUN_BRIDGE_TESTS = {"testLevel": "RunSpecifiedTests", "tests": ["OmniPresenceBridgeControllerTest"]}


def apex_class(name: str, *, test: bool) -> dict[str, str]:
    body = ("@IsTest\nprivate class " if test else "public class ") + name + " {}\n"
    meta = (
        '<?xml version="1.0" encoding="UTF-8"?><ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<apiVersion>59.0</apiVersion><status>Active</status></ApexClass>"
    )
    return {f"classes/{name}.cls": body, f"classes/{name}.cls-meta.xml": meta}


def test_the_bridge_deploys_running_its_own_test_class(sf: Salesforce) -> None:
    status = deploy(sf, io.BytesIO(bridge_package().zip_bytes), **RUN_BRIDGE_TESTS)

    assert status["state"] == "Succeeded", status
    assert status["unit_test_detail"]["failed_count"] == "0"


def test_a_test_class_already_in_the_org_can_be_run(sf: Salesforce, unique: str) -> None:
    deploy(sf, io.BytesIO(bridge_package().zip_bytes))
    name = f"Ping_{unique}__e"
    status = deploy(
        sf,
        make_zip({"package.xml": package_xml(("CustomObject", name)), f"objects/{name}.object": event_object("Ping")}),
        **RUN_BRIDGE_TESTS,
    )

    assert status["state"] == "Succeeded", status
    assert name in listed(sf, "CustomObject")


def test_a_test_class_that_is_nowhere_fails_the_deploy_and_nothing_is_written(sf: Salesforce, unique: str) -> None:
    name = f"Ping_{unique}__e"
    status = deploy(
        sf,
        make_zip({"package.xml": package_xml(("CustomObject", name)), f"objects/{name}.object": event_object("Ping")}),
        testLevel="RunSpecifiedTests",
        tests=[f"Missing_{unique}_Test"],
    )

    assert status["state"] == "Failed"
    assert status["unit_test_detail"]["failed_count"] == "1"
    [failure] = status["unit_test_detail"]["errors"]
    assert failure["class"] == f"Missing_{unique}_Test"
    assert failure["message"] == (
        f"This class name's value is invalid: Missing_{unique}_Test. Provide the name of "
        "an Apex class that has test methods."
    )
    assert name not in listed(sf, "CustomObject"), "a failed test fails the whole deploy"


def test_a_class_without_isTest_cannot_be_run_as_a_test(sf: Salesforce, unique: str) -> None:
    name = f"Plain_{unique}"
    status = deploy(
        sf,
        make_zip({"package.xml": package_xml(("ApexClass", name)), **apex_class(name, test=False)}),
        testLevel="RunSpecifiedTests",
        tests=[name],
    )

    assert status["state"] == "Failed"
    assert [e["class"] for e in status["unit_test_detail"]["errors"]] == [name]
    assert name not in listed(sf, "ApexClass")


def test_run_specified_tests_without_a_test_is_refused_by_the_deploy_call(sf: Salesforce) -> None:
    with pytest.raises(SalesforceError) as raised:
        sf.deploy(io.BytesIO(bridge_package().zip_bytes), sandbox=False, testLevel="RunSpecifiedTests", tests=[])
    assert "runTests must not be empty when a testLevel of RunSpecifiedTests is used" in str(raised.value.content)


def test_an_unknown_test_level_is_refused_by_the_deploy_call(sf: Salesforce) -> None:
    with pytest.raises(SalesforceError) as raised:
        sf.deploy(io.BytesIO(bridge_package().zip_bytes), sandbox=False, testLevel="RunSomeTests")
    assert "'RunSomeTests' is not a valid value for the enum 'TestLevel'" in str(raised.value.content)


# -- deletions (destructiveChanges.xml, destructiveChangesPost.xml) --------------------------------------------


def deploy_result(sf: Salesforce, archive: io.BytesIO, **options: object) -> Any:
    """The raw DeployResult (simple-salesforce's summary leaves out componentSuccesses and their deleted flag)."""
    async_id = sf.deploy(archive, sandbox=False, **options)["asyncId"]
    assert async_id is not None
    return sf.mdapi._retrieve_deploy_result(async_id)


def messages(result: Any, tag: str) -> list[dict[str, str]]:
    ns = {"mt": "http://soap.sforce.com/2006/04/metadata"}
    return [
        {child.tag.rpartition("}")[2]: child.text or "" for child in node}
        for node in result.findall(f"mt:details/mt:{tag}", ns)
    ]


def text(result: Any, name: str) -> str:
    return str(result.findtext(f"mt:{name}", "", {"mt": "http://soap.sforce.com/2006/04/metadata"}))


def test_the_removal_zip_deletes_the_bridge_and_its_events_stop_being_publishable(sf: Salesforce) -> None:
    deploy(sf, io.BytesIO(bridge_package().zip_bytes))
    assert sf.Omni_Presence_Result__e.create({"CommandId__c": "c-1"})["success"] is True

    result = deploy_result(sf, io.BytesIO(bridge_removal_package().zip_bytes), ignoreWarnings=True)

    assert (text(result, "status"), text(result, "numberComponentsDeployed")) == ("Succeeded", "6")
    assert {
        (m["componentType"], m["fullName"]) for m in messages(result, "componentSuccesses") if m["deleted"] == "true"
    } == {
        ("ApexClass", "OmniPresenceBridgeController"),
        ("ApexClass", "OmniPresenceBridgeControllerTest"),
        ("AuraDefinitionBundle", "omniPresenceBridgeUtility"),
        ("LightningComponentBundle", "omniPresenceBridge"),
        ("CustomObject", "Omni_Presence_Command__e"),
        ("CustomObject", "Omni_Presence_Result__e"),
    }
    assert not {"Omni_Presence_Command__e", "Omni_Presence_Result__e"} & listed(sf, "CustomObject")
    assert not {"OmniPresenceBridgeController", "OmniPresenceBridgeControllerTest"} & listed(sf, "ApexClass")
    assert "omniPresenceBridgeUtility" not in listed(sf, "AuraDefinitionBundle")
    assert "omniPresenceBridge" not in listed(sf, "LightningComponentBundle")
    assert not {"Omni_Presence_Command__e", "Omni_Presence_Result__e"} & {o["name"] for o in sf.describe()["sobjects"]}
    with pytest.raises(SalesforceError):
        sf.Omni_Presence_Result__e.create({"CommandId__c": "c-2"})


def test_deleting_what_is_gone_is_a_warning_that_fails_unless_warnings_are_ignored(sf: Salesforce) -> None:
    deploy(sf, io.BytesIO(bridge_removal_package().zip_bytes), ignoreWarnings=True)  # gone, whatever was there

    strict = deploy_result(sf, io.BytesIO(bridge_removal_package().zip_bytes))
    assert text(strict, "status") == "Failed"
    failures = messages(strict, "componentFailures")
    assert {
        "problemType": "Warning",
        "problem": "No ApexClass named: OmniPresenceBridgeController found",
        "componentType": "ApexClass",
    }.items() <= next(f for f in failures if f["fullName"] == "OmniPresenceBridgeController").items()
    assert len(failures) == 6

    lenient = deploy_result(sf, io.BytesIO(bridge_removal_package().zip_bytes), ignoreWarnings=True)
    assert text(lenient, "status") == "Succeeded"
    successes = messages(lenient, "componentSuccesses")
    assert {m["deleted"] for m in successes} == {"false"}
    assert {m["problemType"] for m in successes} == {"Warning"} and len(successes) == 6


def test_post_deletions_follow_the_package_and_an_unknown_type_fails_it_all(sf: Salesforce, unique: str) -> None:
    old, new = f"Old_{unique}__e", f"New_{unique}__e"
    deploy(
        sf, make_zip({"package.xml": package_xml(("CustomObject", old)), f"objects/{old}.object": event_object("Old")})
    )

    status = deploy(
        sf,
        make_zip(
            {
                "package.xml": package_xml(("CustomObject", new)),
                f"objects/{new}.object": event_object("New"),
                "destructiveChangesPost.xml": package_xml(("CustomObject", old)),
            }
        ),
    )
    assert status["state"] == "Succeeded", status
    assert new in listed(sf, "CustomObject") and old not in listed(sf, "CustomObject")

    refused = deploy(
        sf,
        make_zip(
            {"package.xml": package_xml(), "destructiveChanges.xml": package_xml(("CustomObject", new), ("Flow", "F"))}
        ),
    )
    assert refused["state"] == "Failed"
    assert refused["deployment_detail"]["errors"] == [
        {
            "type": "Flow",
            "file": "destructiveChanges.xml",
            "status": "Error",
            "message": "Unknown type name 'Flow' specified in destructiveChanges.xml",
        }
    ]
    assert new in listed(sf, "CustomObject"), "rolled back: nothing deleted"


def test_a_test_class_the_deploy_deletes_cannot_be_the_one_it_runs(sf: Salesforce, unique: str) -> None:
    name = f"Doomed_{unique}_Test"
    deploy(sf, make_zip({"package.xml": package_xml(("ApexClass", name)), **apex_class(name, test=True)}))
    assert name in listed(sf, "ApexClass")

    status = deploy(
        sf,
        make_zip({"package.xml": package_xml(), "destructiveChanges.xml": package_xml(("ApexClass", name))}),
        testLevel="RunSpecifiedTests",
        tests=[name],
    )
    assert status["state"] == "Failed"
    assert [e["class"] for e in status["unit_test_detail"]["errors"]] == [name]
    assert name in listed(sf, "ApexClass")

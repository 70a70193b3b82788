"""Custom change event channels: PlatformEventChannel and PlatformEventChannelMember through the Metadata API as
Salesforce documents them (written by a file-based deploy, removed by destructiveChanges; createMetadata and
deleteMetadata refused), and the Pub/Sub API serving ``/data/<Name>__chn`` once a member selects
UserServicePresenceChangeEvent on it (NOT_FOUND before)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from simple_salesforce import Salesforce

from presence_sync.clients.pubsub import pubsub_api_pb2 as pb2
from sandbox.testing import SandboxHandle
from tests.sandbox.salesforce.test_deploy import deploy, listed, make_zip, package_xml
from tests.sandbox.salesforce.test_presence import ADA, Org
from tests.sandbox.salesforce.test_pubsub import Client, changes, latest
from tests.sandbox.support import login

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'
ENTITY = "UserServicePresenceChangeEvent"


@pytest.fixture(scope="module")
def sf(shared_sandbox: SandboxHandle) -> Salesforce:
    return login(shared_sandbox.env)


@pytest.fixture
def name() -> str:
    return f"Presence_{uuid.uuid4().hex[:8]}"


def channel_xml(label: str, channel_type: str = "data") -> str:
    fields = f"<channelType>{channel_type}</channelType><label>{label}</label>"
    return f"<PlatformEventChannel {NS}>{fields}</PlatformEventChannel>"


def member_xml(channel: str, entity: str = ENTITY) -> str:
    return (
        f"<PlatformEventChannelMember {NS}><eventChannel>{channel}</eventChannel>"
        f"<selectedEntity>{entity}</selectedEntity></PlatformEventChannelMember>"
    )


def deploy_channel(sf: Salesforce, name: str, *, member: bool = True, **xml: Any) -> dict[str, Any]:
    """Deploy ``<name>__chn`` and (``member``) its UserServicePresenceChangeEvent member."""
    channel, member_name = f"{name}__chn", f"{name}_chn_{ENTITY}"
    types = [("PlatformEventChannel", channel)]
    files = {f"platformEventChannels/{channel}.platformEventChannel": channel_xml(name, **xml)}
    if member:
        types.append(("PlatformEventChannelMember", member_name))
        files[f"platformEventChannelMembers/{member_name}.platformEventChannelMember"] = member_xml(channel)
    return deploy(sf, make_zip({"package.xml": package_xml(*types), **files}))


def remove_channel(sf: Salesforce, name: str) -> dict[str, Any]:
    manifest = package_xml(("PlatformEventChannel", f"{name}__chn"))
    return deploy(sf, make_zip({"package.xml": package_xml(), "destructiveChanges.xml": manifest}))


def mdapi(sf: Salesforce) -> Any:
    return sf.mdapi  # simple-salesforce's stubs type read() as taking a list; one name reads one component


def problems(status: dict[str, Any]) -> list[str]:
    return [f"{e['type']} {e['message']}" for e in status["deployment_detail"]["errors"]]


def test_a_deployed_channel_and_its_member_are_read_and_listed(sf: Salesforce, name: str) -> None:
    status = deploy_channel(sf, name)

    assert status["state"] == "Succeeded", problems(status)
    channel = mdapi(sf).PlatformEventChannel.read(f"{name}__chn")
    member = mdapi(sf).PlatformEventChannelMember.read(f"{name}_chn_{ENTITY}")
    assert (channel.channelType, channel.label) == ("data", name)
    assert (member.eventChannel, member.selectedEntity) == (f"{name}__chn", ENTITY)
    assert f"{name}__chn" in listed(sf, "PlatformEventChannel")


def test_create_and_delete_metadata_are_refused_as_salesforce_documents(sf: Salesforce, name: str) -> None:
    component = sf.mdapi.PlatformEventChannel(fullName=f"{name}__chn", channelType="data", label=name)

    with pytest.raises(Exception, match=r"INVALID_OPERATION.*createMetadata"):
        sf.mdapi.PlatformEventChannel.create([component])
    deploy_channel(sf, name)
    with pytest.raises(Exception, match=r"INVALID_OPERATION.*deleteMetadata"):
        sf.mdapi.PlatformEventChannel.delete([f"{name}__chn"])


def test_a_member_needs_its_channel_and_an_object_s_change_event(sf: Salesforce, name: str) -> None:
    orphan = f"Nowhere_chn_{ENTITY}"
    no_channel = deploy(
        sf,
        make_zip(
            {
                "package.xml": package_xml(("PlatformEventChannelMember", orphan)),
                f"platformEventChannelMembers/{orphan}.platformEventChannelMember": member_xml("Nowhere__chn"),
            }
        ),
    )
    deploy_channel(sf, name, member=False)
    bad = f"{name}_chn_NoSuchChangeEvent"
    no_entity = deploy(
        sf,
        make_zip(
            {
                "package.xml": package_xml(("PlatformEventChannelMember", bad)),
                f"platformEventChannelMembers/{bad}.platformEventChannelMember": member_xml(
                    f"{name}__chn", "NoSuchChangeEvent"
                ),
            }
        ),
    )

    assert problems(no_channel) == [
        "PlatformEventChannelMember In field: eventChannel - no PlatformEventChannel named Nowhere__chn found"
    ]
    assert "is not the change event of an object" in problems(no_entity)[0]


def test_a_channel_s_type_cannot_change(sf: Salesforce, name: str) -> None:
    deploy_channel(sf, name, member=False)

    changed = deploy_channel(sf, name, member=False, channel_type="event")

    assert problems(changed) == ["PlatformEventChannel channelType: you can't change a channel's channelType"]


def test_removing_a_channel_removes_its_members_and_a_second_removal_is_a_warning(sf: Salesforce, name: str) -> None:
    deploy_channel(sf, name)

    removed = remove_channel(sf, name)
    again = remove_channel(sf, name)

    assert removed["state"] == "Succeeded"
    assert mdapi(sf).PlatformEventChannelMember.read(f"{name}_chn_{ENTITY}").fullName is None
    assert again["state"] == "Failed"  # without ignoreWarnings: "No PlatformEventChannel named: ... found"


# -- the Pub/Sub API ------------------------------------------------------------------------------------------


@pytest.fixture
def client(shared_sandbox: SandboxHandle, sf: Salesforce) -> Iterator[Client]:
    client = Client(shared_sandbox, Org(shared_sandbox, sf))
    yield client
    client.close()


def test_the_channel_topic_is_not_found_until_a_member_selects_the_entity(
    sf: Salesforce, name: str, client: Client
) -> None:
    topic = f"/data/{name}__chn"
    deploy_channel(sf, name, member=False)
    with pytest.raises(grpc.RpcError) as refused:
        client.stub.GetTopic(pb2.TopicRequest(topic_name=topic), metadata=client.metadata)

    deploy_channel(sf, name)
    info = client.stub.GetTopic(pb2.TopicRequest(topic_name=topic), metadata=client.metadata)
    standard = client.stub.GetTopic(pb2.TopicRequest(topic_name=f"/data/{ENTITY}"), metadata=client.metadata)

    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.topic_name == topic and info.can_subscribe and info.schema_id == standard.schema_id


def test_the_channel_delivers_the_presence_change_events(
    shared_sandbox: SandboxHandle, sf: Salesforce, name: str, client: Client
) -> None:
    deploy_channel(sf, name)
    after = latest(shared_sandbox)
    org = Org(shared_sandbox, sf)
    try:
        changes(org, 2)  # a login (one event), then a change (two)
        response = next(
            client.subscribe(
                topic_name=f"/data/{name}__chn",
                replay_preset=pb2.ReplayPreset.CUSTOM,
                replay_id=after.to_bytes(8, "big"),
                num_requested=3,
            )
        )
    finally:  # Ada as the other tests of the shared sandbox expect her: logged out, no presence rows
        org.console("logout", user=ADA)
        for row in org.presence(ADA):
            sf.UserServicePresence.delete(row["Id"])

    assert len(response.events) == 3
    assert [int.from_bytes(e.replay_id, "big") for e in response.events] == [after + 1, after + 2, after + 3]

"""The sandbox's Pub/Sub API at the protocol level (grpcio with the stubs of proto/pubsub_api.proto): flow
control, keepalives, replay presets, a topic that cannot change, platform event topics, errors and the request
log. A sandbox of its own, with 1 s keepalives. (A client we did not write: test_pubsub_quickstart.py.)"""

from __future__ import annotations

import io
import json
import os
import pathlib
import queue
import uuid
from collections.abc import Iterator
from typing import Any

import fastavro
import grpc
import pytest
import requests

from presence_sync.clients.pubsub import pubsub_api_pb2 as pb2
from presence_sync.clients.pubsub import pubsub_api_pb2_grpc as pb2_grpc
from sandbox.server import PUBSUB_KEEPALIVE_ENV
from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.salesforce.test_presence import ADA, Org, define_command_event
from tests.sandbox.support import login

TOPIC = "/data/UserServicePresenceChangeEvent"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    saved = {k: os.environ.get(k) for k in (PUBSUB_KEEPALIVE_ENV, "REQUESTS_CA_BUNDLE")}
    os.environ[PUBSUB_KEEPALIVE_ENV] = "1"
    try:
        with running_sandbox(tmp_path_factory.mktemp("pubsub") / "sandbox", reset=True) as handle:
            os.environ["REQUESTS_CA_BUNDLE"] = handle.ca_bundle
            yield handle
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def org(sandbox: SandboxHandle) -> Org:
    return Org(sandbox, login(sandbox.env))


class Client:
    """A bare subscriber: a request queue the test feeds, the stub, the session's metadata."""

    def __init__(self, sandbox: SandboxHandle, org: Org) -> None:
        credentials = grpc.ssl_channel_credentials(pathlib.Path(sandbox.ca_bundle).read_bytes())
        self.channel = grpc.secure_channel(sandbox.pubsub_endpoint, credentials)
        self.stub = pb2_grpc.PubSubStub(self.channel)
        token = org.sf.session_id
        self.metadata = (("accesstoken", token), ("instanceurl", org.base), ("tenantid", token.split("!")[0]))
        self.requests: queue.Queue[Any] = queue.Queue()
        self.call: Any = None

    def subscribe(self, **first: Any) -> Iterator[Any]:
        self.requests.put(pb2.FetchRequest(**first))
        self.call = self.stub.Subscribe(iter(self.requests.get, None), metadata=self.metadata)
        return iter(self.call)

    def close(self) -> None:
        self.requests.put(None)
        if self.call is not None:
            self.call.cancel()
        self.channel.close()


@pytest.fixture
def client(sandbox: SandboxHandle, org: Org) -> Iterator[Client]:
    client = Client(sandbox, org)
    yield client
    client.close()


def latest(sandbox: SandboxHandle, topic: str = TOPIC) -> int:
    url = f"{sandbox.salesforce_url}/__sandbox/eventbus/status"
    return int(requests.get(url, verify=sandbox.ca_bundle, timeout=10).json()["topics"][topic]["latestReplayId"])


def changes(org: Org, count: int) -> None:
    """``count`` status changes of Ada's: two change events each after the first (a login: one)."""
    suffix = uuid.uuid4().hex[:8]
    statuses = [org.status(f"Fc_{i}_{suffix}", "sfdc_phone") for i in range(2)]
    org.console("login", user=ADA, status=statuses[0])
    for number in range(1, count):
        org.console("status", user=ADA, status=statuses[number % 2])


def test_the_server_sends_no_more_events_than_requested_and_says_how_many_remain(
    sandbox: SandboxHandle, org: Org, client: Client
) -> None:
    after = latest(sandbox)
    changes(org, 3)  # 5 events
    responses = client.subscribe(
        topic_name=TOPIC, replay_preset=pb2.ReplayPreset.CUSTOM, replay_id=after.to_bytes(8, "big"), num_requested=2
    )

    first = next(responses)
    assert len(first.events) == 2 and first.pending_num_requested == 0
    keepalive = next(responses)  # nothing more until asked: a keepalive, positioned after what was delivered
    assert not keepalive.events and keepalive.latest_replay_id == first.events[-1].replay_id

    client.requests.put(pb2.FetchRequest(num_requested=10))
    rest = next(responses)
    assert len(rest.events) == 3 and rest.pending_num_requested == 7
    ids = [int.from_bytes(e.replay_id, "big") for e in [*first.events, *rest.events]]
    assert ids == sorted(ids) and ids[0] > after


def test_earliest_starts_at_the_oldest_retained_event(sandbox: SandboxHandle, org: Org, client: Client) -> None:
    changes(org, 1)
    first = next(client.subscribe(topic_name=TOPIC, replay_preset=pb2.ReplayPreset.EARLIEST, num_requested=1))

    assert int.from_bytes(first.events[0].replay_id, "big") == 1


def test_a_request_naming_another_topic_ends_the_stream_with_invalid_argument(client: Client) -> None:
    responses = client.subscribe(topic_name=TOPIC, num_requested=1)
    client.requests.put(pb2.FetchRequest(topic_name="/event/Other__e", num_requested=1))

    with pytest.raises(grpc.RpcError) as ended:
        while True:
            next(responses)
    assert ended.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_replay_id_never_issued_is_refused_as_corrupted(sandbox: SandboxHandle, client: Client) -> None:
    responses = client.subscribe(
        topic_name=TOPIC,
        replay_preset=pb2.ReplayPreset.CUSTOM,
        replay_id=(latest(sandbox) + 1000).to_bytes(8, "big"),
        num_requested=1,
    )

    with pytest.raises(grpc.RpcError) as refused:
        next(responses)
    trailers = dict(refused.value.trailing_metadata() or ())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert trailers["error-code"] == "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
    assert trailers["rpc-id"] in refused.value.details()


def test_platform_events_are_served_on_their_event_topic(sandbox: SandboxHandle, org: Org, client: Client) -> None:
    define_command_event(org.sf)
    topic = "/event/Omni_Presence_Command__e"
    info = client.stub.GetTopic(pb2.TopicRequest(topic_name=topic), metadata=client.metadata)
    after = latest(sandbox, topic)
    command = str(uuid.uuid4())
    org.sf.Omni_Presence_Command__e.create({"UserId__c": "005x", "StatusId__c": "0N5x", "CommandId__c": command})

    response = next(
        client.subscribe(
            topic_name=topic,
            replay_preset=pb2.ReplayPreset.CUSTOM,
            replay_id=after.to_bytes(8, "big"),
            num_requested=1,
        )
    )
    [event] = response.events
    schema = client.stub.GetSchema(pb2.SchemaRequest(schema_id=event.event.schema_id), metadata=client.metadata)
    record = fastavro.schemaless_reader(
        io.BytesIO(event.event.payload), fastavro.parse_schema(json.loads(schema.schema_json))
    )

    assert info.can_subscribe and info.schema_id == event.event.schema_id
    assert isinstance(record, dict) and record["CommandId__c"] == command and isinstance(record["CreatedDate"], int)


def test_unknown_topics_and_schemas_are_not_found(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as topic:
        client.stub.GetTopic(pb2.TopicRequest(topic_name="/data/NoSuchChangeEvent"), metadata=client.metadata)
    with pytest.raises(grpc.RpcError) as schema:
        client.stub.GetSchema(pb2.SchemaRequest(schema_id="nope"), metadata=client.metadata)

    assert topic.value.code() == schema.value.code() == grpc.StatusCode.NOT_FOUND


def test_calls_are_in_the_salesforce_request_log(sandbox: SandboxHandle, client: Client) -> None:
    since = sandbox.salesforce_operator.requests()[-1]["seq"]
    client.stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=client.metadata)

    [entry] = [e for e in sandbox.salesforce_operator.requests(since) if e["method"] == "GRPC"]
    assert (entry["path"], entry["status"]) == ("/eventbus.v1.PubSub/GetTopic", "OK")

"""The generated Pub/Sub API code in the repository is what grpcio-tools makes of proto/pubsub_api.proto today.

Regenerate after editing the .proto (the commands below are the ones this test runs):

    python -m grpc_tools.protoc -Ipresence_sync/clients/pubsub=proto --python_out=. --grpc_python_out=. \\
        --pyi_out=. presence_sync/clients/pubsub/pubsub_api.proto
    python -m grpc_tools.protoc -Iproto --descriptor_set_out=sandbox/salesforce/pubsub/pubsub_api.binpb \\
        proto/pubsub_api.proto
"""

from __future__ import annotations

import pathlib

import pytest
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parents[3]
CLIENT_STUBS = ("pubsub_api_pb2.py", "pubsub_api_pb2_grpc.py", "pubsub_api_pb2.pyi")


def _protoc(*args: str) -> None:
    assert protoc.main(["protoc", *args]) == 0, f"protoc {' '.join(args)} failed"


def test_the_clients_stubs_match_the_proto(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the proto path mapping gives the stubs their package import
    _protoc(
        "-Ipresence_sync/clients/pubsub=proto",
        f"--python_out={tmp_path}",
        f"--grpc_python_out={tmp_path}",
        f"--pyi_out={tmp_path}",
        "presence_sync/clients/pubsub/pubsub_api.proto",
    )
    for name in CLIENT_STUBS:
        fresh = (tmp_path / "presence_sync/clients/pubsub" / name).read_text()
        committed = (ROOT / "presence_sync/clients/pubsub" / name).read_text()
        assert committed == fresh, f"presence_sync/clients/pubsub/{name} is stale: regenerate it (module docstring)"


def test_the_sandboxs_descriptor_set_matches_the_proto(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "pubsub_api.binpb"
    _protoc("-Iproto", f"--descriptor_set_out={out}", "proto/pubsub_api.proto")
    committed = (ROOT / "sandbox/salesforce/pubsub/pubsub_api.binpb").read_bytes()
    assert committed == out.read_bytes(), "sandbox/salesforce/pubsub/pubsub_api.binpb is stale: regenerate it"


def test_the_stubs_speak_eventbus_v1() -> None:
    from presence_sync.clients.pubsub import pubsub_api_pb2 as pb2

    service = pb2.DESCRIPTOR.services_by_name["PubSub"]
    assert service.full_name == "eventbus.v1.PubSub"
    assert {m.name for m in service.methods} == {"Subscribe", "GetSchema", "GetTopic", "Publish"}
    fetch = pb2.FetchRequest.DESCRIPTOR.fields_by_name
    assert (fetch["topic_name"].number, fetch["replay_preset"].number, fetch["replay_id"].number) == (1, 2, 3)
    assert fetch["num_requested"].number == 4

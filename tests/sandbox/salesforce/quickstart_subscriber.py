"""A Pub/Sub API subscriber written the way Salesforce's Python quick start tells a newcomer to write one, from
grpcio, grpcio-tools, fastavro and requests only: nothing of presence-sync's (it is run as a separate process).

1. Generate the stubs from the .proto with grpcio-tools (into a temporary folder).
2. Get a session with an OAuth flow (username-password here); the org id is the second-to-last part of the
   token's ``id`` URL.
3. Open a TLS channel, call GetTopic for the schema id, then Subscribe with a FetchRequest generator that asks
   for more events only after a batch arrived (a semaphore, as the quick start does).
4. Fetch each schema once with GetSchema, decode the Avro payload, expand the changedFields bitmap.

Prints one JSON line per event (and per keepalive) and exits after ``--count`` events; gRPC errors are printed
as one JSON line with the status code and the ``error-code`` trailer, exit status 3.

    python quickstart_subscriber.py --proto proto/pubsub_api.proto --topic /data/UserServicePresenceChangeEvent \\
        --count 2 [--replay-preset EARLIEST|LATEST|CUSTOM --replay-id <hex>] [--token <access token>]
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import sys
import tempfile
import threading
from typing import Any

import fastavro
import grpc
import requests
from grpc_tools import protoc


def generate_stubs(proto: str, into: str) -> tuple[Any, Any]:
    folder, name = os.path.split(os.path.abspath(proto))
    assert protoc.main(["protoc", f"-I{folder}", f"--python_out={into}", f"--grpc_python_out={into}", name]) == 0
    sys.path.insert(0, into)
    module = name.removesuffix(".proto")
    return importlib.import_module(f"{module}_pb2"), importlib.import_module(f"{module}_pb2_grpc")


def login(env: dict[str, str]) -> tuple[str, str, str]:
    answer = requests.post(
        f"{env['SF_LOGIN_URL']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": env["SF_CLIENT_ID"],
            "client_secret": env["SF_CLIENT_SECRET"],
            "username": env["SF_USERNAME"],
            "password": env["SF_PASSWORD"],
        },
        verify=env["REQUESTS_CA_BUNDLE"],
        timeout=30,
    ).json()
    return answer["access_token"], answer["instance_url"], answer["id"].rstrip("/").split("/")[-2]


def bitmap_fields(schema: dict, bitmaps: list[str]) -> list[str]:
    """The quick start's recipe: the hex bitmap as a bit string, reversed, and the position of each 1."""
    if not bitmaps or not bitmaps[0].startswith("0x"):
        return []
    bits = bin(int(bitmaps[0][2:], 16))[2:][::-1]
    return [schema["fields"][i]["name"] for i, bit in enumerate(bits) if bit == "1"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proto", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--replay-preset", default="LATEST")
    parser.add_argument("--replay-id", default="")
    parser.add_argument("--token", help="use this access token instead of logging in")
    args = parser.parse_args()
    env = json.load(sys.stdin)
    pb2, pb2_grpc = generate_stubs(args.proto, tempfile.mkdtemp())
    token, instance_url, org_id = login(env)
    metadata = (("accesstoken", args.token or token), ("instanceurl", instance_url), ("tenantid", org_id))
    with open(env["REQUESTS_CA_BUNDLE"], "rb") as ca:
        channel = grpc.secure_channel(env["SF_PUBSUB_ENDPOINT"], grpc.ssl_channel_credentials(ca.read()))
    stub = pb2_grpc.PubSubStub(channel)
    semaphore = threading.Semaphore(1)
    schemas: dict[str, dict] = {}

    def fetch_requests():  # the quick start's generator: one FetchRequest per released semaphore
        while True:
            semaphore.acquire()
            yield pb2.FetchRequest(
                topic_name=args.topic,
                replay_preset=getattr(pb2.ReplayPreset, args.replay_preset),
                replay_id=bytes.fromhex(args.replay_id),
                num_requested=args.batch,
            )

    seen = 0
    try:
        topic = stub.GetTopic(pb2.TopicRequest(topic_name=args.topic), metadata=metadata)
        print(json.dumps({"topic_schema": topic.schema_id}), flush=True)
        for response in stub.Subscribe(fetch_requests(), metadata=metadata):
            if not response.events:
                print(json.dumps({"keepalive": response.latest_replay_id.hex()}), flush=True)
            for event in response.events:
                schema_id = event.event.schema_id
                if schema_id not in schemas:
                    info = stub.GetSchema(pb2.SchemaRequest(schema_id=schema_id), metadata=metadata)
                    schemas[schema_id] = json.loads(info.schema_json)
                schema = schemas[schema_id]
                payload = fastavro.schemaless_reader(io.BytesIO(event.event.payload), fastavro.parse_schema(schema))
                header = payload.get("ChangeEventHeader") or {}
                line = {
                    "replay_id": event.replay_id.hex(),
                    "schema_id": schema_id,
                    "payload": payload,
                    "changed": bitmap_fields(schema, list(header.get("changedFields") or [])),
                }
                print(json.dumps(line, default=str), flush=True)
                seen += 1
            if seen >= args.count:
                channel.close()
                return 0
            if response.pending_num_requested == 0:
                semaphore.release()
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        failure = {"error": error.code().name, "details": error.details(), "error_code": trailers.get("error-code")}
        print(json.dumps(failure), flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

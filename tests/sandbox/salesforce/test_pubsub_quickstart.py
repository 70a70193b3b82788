"""The sandbox's Pub/Sub API against a subscriber presence-sync did not write: ``quickstart_subscriber.py``,
Salesforce's quick-start steps on grpcio + fastavro, run as its own process with its own generated stubs."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from sandbox.testing import SandboxHandle
from tests.sandbox.salesforce.test_presence import Org

AGENT = "katherine.johnson@example.com"  # no other sandbox test changes her presence

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCRIPT = pathlib.Path(__file__).with_name("quickstart_subscriber.py")
TOPIC = "/data/UserServicePresenceChangeEvent"


def latest_replay_hex(sandbox: SandboxHandle) -> str:
    status = requests.get(
        f"{sandbox.salesforce_url}/__sandbox/eventbus/status", verify=sandbox.ca_bundle, timeout=10
    ).json()
    return int(status["topics"][TOPIC]["latestReplayId"]).to_bytes(8, "big").hex()


class Subscriber:
    def __init__(self, sandbox: SandboxHandle, *args: str) -> None:
        command = [sys.executable, str(SCRIPT), "--proto", str(ROOT / "proto/pubsub_api.proto"), *args]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(sandbox.env))
        self.process.stdin.close()

    def line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        text = self.process.stdout.readline()
        assert text, f"the subscriber ended: {self.process.stderr.read() if self.process.stderr else ''}"
        return dict(json.loads(text))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def org(shared_sandbox: SandboxHandle, module_sf: Salesforce) -> Iterator[Org]:
    org = Org(shared_sandbox, module_sf)
    yield org
    org.console("logout", user=AGENT)


@pytest.fixture
def subscribers() -> Iterator[list[Subscriber]]:
    started: list[Subscriber] = []
    yield started
    for subscriber in started:
        subscriber.stop()


def test_a_quick_start_subscriber_receives_a_status_change_as_avro_with_a_changed_fields_bitmap(
    org: Org, shared_sandbox: SandboxHandle, subscribers: list[Subscriber], unique: str
) -> None:
    available = org.status(f"Qs_on_{unique}", "sfdc_phone")
    away = org.status(f"Qs_away_{unique}")
    org.console("login", user=AGENT, status=available)
    after = latest_replay_hex(shared_sandbox)
    org.console("status", user=AGENT, status=away)
    subscriber = Subscriber(
        shared_sandbox, "--topic", TOPIC, "--count", "2", "--replay-preset", "CUSTOM", "--replay-id", after
    )
    subscribers.append(subscriber)

    topic_schema = subscriber.line()["topic_schema"]
    closed, opened = subscriber.line(), subscriber.line()

    assert closed["schema_id"] == opened["schema_id"] == topic_schema
    assert int(closed["replay_id"], 16) > int(after, 16) and int(opened["replay_id"], 16) > int(closed["replay_id"], 16)
    header = closed["payload"]["ChangeEventHeader"]
    assert header["entityName"] == "UserServicePresence" and header["changeType"] == "UPDATE"
    assert closed["changed"] == ["IsCurrentState", "StatusEndDate", "StatusDuration", "LastModifiedDate"] or set(
        closed["changed"]
    ) == {"IsCurrentState", "StatusEndDate", "StatusDuration", "LastModifiedDate"}
    assert closed["payload"]["IsCurrentState"] is False and closed["payload"]["UserId"] is None  # unchanged: null
    assert opened["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"
    assert opened["payload"]["ServicePresenceStatusId"] == away
    assert opened["payload"]["IsCurrentState"] is True and isinstance(opened["payload"]["StatusStartDate"], int)
    assert header["transactionKey"] == opened["payload"]["ChangeEventHeader"]["transactionKey"]


def test_a_quick_start_subscriber_with_a_bad_token_gets_unauthenticated_with_the_auth_error_code(
    shared_sandbox: SandboxHandle, subscribers: list[Subscriber]
) -> None:
    subscriber = Subscriber(shared_sandbox, "--topic", TOPIC, "--token", "00Dbogus!token")
    subscribers.append(subscriber)

    error = subscriber.line()

    assert error["error"] == "UNAUTHENTICATED"
    assert error["error_code"] == "sfdc.platform.eventbus.grpc.service.auth.error"
    assert "rpcId: " in error["details"]

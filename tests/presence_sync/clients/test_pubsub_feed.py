"""PubSubPresenceFeed against the sandbox's Pub/Sub API: typed change events, positions to resume from, and
what it does when the session expires, the server drops the stream, the replay id is too old or the org refuses
the topic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from presence_sync.clients.pubsub.codec import bitmap_fields
from presence_sync.clients.pubsub.feed import PubSubPresenceFeed, org_id_18
from presence_sync.clients.pubsub.stream import ReplayIdRefused, TopicRefused
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.salesforce_models import PresenceChangeEvent
from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.salesforce.test_presence import ADA, Org
from tests.sandbox.support import login


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with running_sandbox(tmp_path_factory.mktemp("pubsub") / "sandbox", reset=True) as handle:
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = handle.ca_bundle  # simple-salesforce's session, for the test's admin
        try:
            yield handle
        finally:
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous


@pytest.fixture
def org(sandbox: SandboxHandle) -> Org:
    return Org(sandbox, login(sandbox.env))  # a login per test: one of them expires every session


@pytest.fixture
def statuses(org: Org) -> Iterator[list[str]]:
    suffix = uuid.uuid4().hex[:8]
    yield [org.status(f"Ps_{i}_{suffix}", "sfdc_phone") for i in range(3)]
    org.console("logout", user=ADA)


@pytest.fixture
def feed(sandbox: SandboxHandle) -> Iterator[PubSubPresenceFeed]:
    feed = PubSubPresenceFeed(SalesforceClient.from_env(sandbox.env))
    yield feed
    feed.close()
    bus(sandbox, "cdc", entity="UserServicePresence", enabled=True)


def bus(sandbox: SandboxHandle, action: str, **body: Any) -> dict[str, Any]:
    url = f"{sandbox.salesforce_url}/__sandbox/eventbus/{action}"
    response = requests.post(url, json=body, verify=sandbox.ca_bundle, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def read_until(feed: PubSubPresenceFeed, after: str | None, count: int) -> tuple[list[PresenceChangeEvent], str | None]:
    """Reads until ``count`` events came (each read waits for the next event, up to 10 s)."""
    events: list[PresenceChangeEvent] = []
    position = after
    for _ in range(50):
        batch, position = feed.read_presence_changes(position, wait_ms=10_000)
        events += batch
        if len(events) >= count:
            break
    return events, position


def test_a_status_change_comes_as_a_closed_row_and_a_new_one_with_the_position_after_them(
    feed: PubSubPresenceFeed, org: Org, statuses: list[str]
) -> None:
    org.console("login", user=ADA, status=statuses[0])
    _, start = read_until(feed, *feed.read_presence_changes(-1)[1:], count=0)

    org.console("status", user=ADA, status=statuses[1])
    (closed, opened), position = read_until(feed, start, count=2)

    assert closed.change_type == "UPDATE" and closed.is_current is False and closed.user_id is None
    assert set(closed.changed_fields) == {"IsCurrentState", "StatusEndDate", "StatusDuration", "LastModifiedDate"}
    assert opened.change_type == "CREATE" and opened.user_id == org.user_id(ADA) and opened.status_id == statuses[1]
    assert closed.commit_user == org.user_id(ADA) and opened.commit_timestamp is not None
    assert position is not None and int(position, 16) == opened.replay_id > closed.replay_id
    assert len(feed.schemas) == 1  # one GetSchema for the topic's schema id


def test_reading_again_from_a_stored_position_resumes_exactly_after_it(
    sandbox: SandboxHandle, org: Org, statuses: list[str]
) -> None:
    first = PubSubPresenceFeed(SalesforceClient.from_env(sandbox.env))
    try:
        first.read_presence_changes(-1)
        org.console("login", user=ADA, status=statuses[0])
        _, stored = read_until(first, None, count=1)
    finally:
        first.close()
    org.console("status", user=ADA, status=statuses[1])
    org.console("status", user=ADA, status=statuses[2])
    second = PubSubPresenceFeed(SalesforceClient.from_env(sandbox.env))
    try:
        events, _ = read_until(second, stored, count=4)
    finally:
        second.close()

    assert [e.change_type for e in events] == ["UPDATE", "CREATE", "UPDATE", "CREATE"]
    assert [e.status_id for e in events if e.change_type == "CREATE"] == statuses[1:]
    assert stored is not None and events[0].replay_id > int(stored, 16)


def test_an_expired_session_mid_stream_is_refreshed_and_nothing_is_missed(
    feed: PubSubPresenceFeed, sandbox: SandboxHandle, org: Org, statuses: list[str]
) -> None:
    feed.read_presence_changes(-1)
    org.console("login", user=ADA, status=statuses[0])
    _, position = read_until(feed, None, count=1)
    logins = feed._client.auth_calls

    sandbox.salesforce_operator.expire_tokens()
    org.console("status", user=ADA, status=statuses[1])
    events, _ = read_until(feed, position, count=2)

    assert [e.status_id for e in events if e.change_type == "CREATE"] == [statuses[1]]
    assert feed._client.auth_calls == logins + 1


def test_a_dropped_stream_is_reopened_from_the_last_position(
    feed: PubSubPresenceFeed, sandbox: SandboxHandle, org: Org, statuses: list[str]
) -> None:
    feed.read_presence_changes(-1)
    org.console("login", user=ADA, status=statuses[0])
    _, position = read_until(feed, None, count=1)

    bus(sandbox, "drop-streams")
    org.console("status", user=ADA, status=statuses[1])
    events, _ = read_until(feed, position, count=2)

    assert [e.change_type for e in events] == ["UPDATE", "CREATE"] and events[1].status_id == statuses[1]
    assert feed.reconnects >= 1


def test_a_replay_id_older_than_retention_is_refused(
    feed: PubSubPresenceFeed, sandbox: SandboxHandle, org: Org, statuses: list[str]
) -> None:
    feed.read_presence_changes(-1)
    org.console("login", user=ADA, status=statuses[0])
    _, position = read_until(feed, None, count=1)
    org.console("status", user=ADA, status=statuses[1])
    bus(sandbox, "purge")

    restarted = PubSubPresenceFeed(feed._client)
    try:
        with pytest.raises(ReplayIdRefused, match=r"replayid\.corrupted"):
            read_until(restarted, position, count=1)
    finally:
        restarted.close()


def test_a_topic_the_org_does_not_deliver_is_refused_naming_what_to_enable(
    feed: PubSubPresenceFeed, sandbox: SandboxHandle
) -> None:
    bus(sandbox, "cdc", entity="UserServicePresence", enabled=False)

    with pytest.raises(TopicRefused) as refused:
        read_until(feed, None, count=1)

    message = str(refused.value)
    assert "\n" not in message and "NOT_FOUND" in message
    assert "Change Data Capture" in message and "UserServicePresence" in message
    assert "salesforce_poll_fallback" in message


def test_bitmaps_name_fields_by_schema_position_least_significant_bit_first() -> None:
    schema = {"fields": [{"name": "ChangeEventHeader"}, {"name": "A"}, {"name": "B"}, {"name": "C"}]}
    compound = {"name": "Name", "type": ["null", {"type": "record", "fields": [{"name": "First"}, {"name": "Last"}]}]}

    assert bitmap_fields(schema, ["0xA"]) == ["A", "C"]
    assert bitmap_fields({"fields": [*schema["fields"], compound]}, ["0x2", "4-0x2"]) == ["A", "Name.Last"]


def test_the_tenant_id_is_the_org_id_in_its_18_character_form() -> None:
    assert org_id_18("00D000000000062") == "00D000000000062EAA"

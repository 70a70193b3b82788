"""Salesforce -> CXone over the Pub/Sub change stream, end to end: the runtime (``python -m runtime``) reads
``/data/UserServicePresenceChangeEvent`` from the sandbox's gRPC Pub/Sub API and stores the replay id of the last
event it processed with what the events showed. What happens on a kill -9 mid-burst, a replay id past
retention, a stream the server drops, and a topic the org refuses. (Expired tokens mid-stream:
test_end_to_end.test_expired_tokens_are_refreshed, and tests/presence_sync/clients/test_pubsub_feed.py.)"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from .support import (
    ADA,
    GRACE,
    RuntimeProcess,
    SandboxSetup,
    prepare,
    sandbox_config,
    wait_until,
)
from .test_end_to_end import on_shift, positions, settled_counts

pytestmark = pytest.mark.slow
RESYNCS = "presence_sync_salesforce_resyncs_total"


@pytest.fixture
def setup(sandbox: Any) -> SandboxSetup:
    return prepare(sandbox)


@pytest.fixture
def runtime(setup: SandboxSetup, tmp_path: Path) -> Iterator[RuntimeProcess]:
    process = RuntimeProcess(sandbox_config(setup, tmp_path), tmp_path, setup.sandbox.env)
    yield process
    process.stop()


def bus(setup: SandboxSetup, action: str, **body: Any) -> None:
    url = f"{setup.sandbox.salesforce_url}/__sandbox/eventbus/{action}"
    requests.post(url, json=body, verify=setup.sandbox.ca_bundle, timeout=10).raise_for_status()


def cxone_shows(person: Any, state: str) -> bool:
    return bool(person.cxone_state() == state)


def seen_on_salesforce(runtime: RuntimeProcess, agent_id: int) -> list[str]:
    return [
        e["state"]
        for e in runtime.logs()
        if e["message"] == "change seen" and e.get("side") == "sf" and e.get("agent_id") == agent_id
    ]


def written_to_cxone(runtime: RuntimeProcess, agent_id: int) -> list[str]:
    return [
        e["state"]
        for e in runtime.logs()
        if e["message"] == "write made" and e.get("side") == "acd" and e.get("agent_id") == agent_id
    ]


def test_a_healthy_stream_carries_omni_changes_without_polling_user_service_presence(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    runtime.start()
    sf0, cx0 = positions(setup)

    for status, state in [("Busy", "Unavailable:Break"), ("Available_for_Chats", "Available")] * 2:
        ada.omni_set(status)
        wait_until(partial(cxone_shows, ada, state), what=f"CXone follows Omni {status}")
    settled_counts(setup, runtime, sf0, cx0)

    requests_made = setup.sandbox.salesforce_operator.requests(sf0)
    assert [e for e in requests_made if "UserServicePresence" in e["query"]] == []  # no SOQL polling
    assert runtime.metric("presence_sync_salesforce_polling") == 0 and runtime.metric(RESYNCS) == 0


def test_kill_9_mid_burst_then_restart_resumes_right_after_the_last_processed_event(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    people = [on_shift(setup, agent_id, omni="Available_for_Chats") for agent_id in (ADA, GRACE)]
    runtime.start()
    sf0, cx0 = positions(setup)
    burst = ["Busy", "Available_for_Chats"] * 4 + ["Busy"]

    for number, status in enumerate(burst):
        for person in people:
            person.omni_set(status)
        if number == 4:
            runtime.kill9()
        time.sleep(0.05)  # pacing, not waiting: the changes are spread over the kill, as people's would be
    runtime.start()

    wait_until(lambda: all(p.cxone_state() == "Unavailable:Break" for p in people), timeout=20, what="CXone converges")
    settled_counts(setup, runtime, sf0, cx0)
    ids = {name: setup.statuses[name] for name in set(burst)}
    for person in people:
        seen = seen_on_salesforce(runtime, person.agent_id)
        # Each change once, none lost. "change seen" is logged inside the transaction that also stores the replay
        # id, so a kill between the line and the commit logs the one event in flight twice (it was processed
        # once): at most one adjacent repeat. A replay from an older position would repeat two or more.
        assert [state for state, _ in itertools.groupby(seen)] == [ids[s] for s in burst], seen
        assert len(seen) <= len(burst) + 1, seen
        made = written_to_cxone(runtime, person.agent_id)
        assert made and [a for a, b in itertools.pairwise(made) if a == b] == []  # no write repeated
    assert runtime.metric(RESYNCS) == 0  # resumed from the stored replay id, no resync needed


def test_a_replay_id_older_than_retention_means_a_logged_full_resync_and_nothing_is_lost(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    runtime.start()
    ada.omni_set("Busy")
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", what="CXone follows before the stop")
    assert runtime.stop() == 0

    ada.omni_set("Available_for_Chats")  # while the runtime is down ...
    bus(setup, "purge")  # ... and the stored replay id falls out of the retention window
    runtime.start()

    wait_until(lambda: ada.cxone_state() == "Available", what="CXone follows the change made while down")
    assert runtime.metric(RESYNCS) == 1
    [line] = [e for e in runtime.logs() if e["message"] == "salesforce change stream: full resync"]
    assert "replayid.corrupted" in line["error"]


def test_a_stream_the_server_drops_is_reopened_from_the_stored_replay_id(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    runtime.start()
    ada.omni_set("Busy")
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", what="CXone follows (the stream has a position)")

    bus(setup, "drop-streams")
    ada.omni_set("Available_for_Chats")

    wait_until(lambda: ada.cxone_state() == "Available", what="CXone follows after the drop")
    assert runtime.metric(RESYNCS) == 0  # reopened after the stored replay id: no resync


def test_a_refused_topic_is_one_error_naming_the_setting_and_polling_only_when_opted_in(
    setup: SandboxSetup, tmp_path: Path
) -> None:
    bus(setup, "cdc", entity="UserServicePresence", enabled=False)
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    refused = RuntimeProcess(sandbox_config(setup, tmp_path / "a"), _mkdir(tmp_path / "a"), setup.sandbox.env)
    try:
        refused.start(wait_ready=False)
        wait_until(lambda: [e for e in refused.logs() if e["level"] == "error"], what="the refusal")
        [error] = [e for e in refused.logs() if e["level"] == "error"]
        assert "Change Data Capture" in error["message"] and "salesforce_poll_fallback" in error["message"]
        assert "\n" not in error["message"] and refused.metric("presence_sync_salesforce_polling") == 0
    finally:
        refused.stop()

    config = sandbox_config(setup, tmp_path / "b", salesforce_poll_fallback=True)
    polling = RuntimeProcess(config, _mkdir(tmp_path / "b"), setup.sandbox.env)
    try:
        polling.start()
        ada.omni_set("Busy")
        wait_until(lambda: ada.cxone_state() == "Unavailable:Break", what="CXone follows a polled change")
        assert polling.metric("presence_sync_salesforce_polling") == 1
        assert any("polling UserServicePresence" in e["message"] for e in polling.logs())
    finally:
        polling.stop()


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path

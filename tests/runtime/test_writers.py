"""The two writers: Omni commands leave together when they arrive together (each worker still gets its own
outcome), and the CXone writer joins an agent's session once and again only when it is gone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from presence_sync.clients.cxone import AgentState
from presence_sync.clients.errors import InvalidRequest, NotFound, ServiceUnavailable
from presence_sync.clients.salesforce_models import CurrentPresence, PresenceCommand
from presence_sync.runtime_config import AgentLink
from runtime.reconciler import Observation
from runtime.store import PendingWrite
from runtime.vendor_values import parse_time
from runtime.writers import CxoneStateWriter, OmniCommandWriter


def pending(agent_id: int, target: str = "0N5BUSY") -> PendingWrite:
    return PendingWrite(agent_id, "sf", target, f"cmd-{agent_id}", 0.0)


def link(agent_id: int) -> AgentLink:
    return AgentLink(agent_id=agent_id, salesforce_user_id=f"005{agent_id:03d}", team_id=1)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


class Salesforce:
    """Records each call's commands; the first ``hold`` calls wait for ``release``; ``answer`` decides."""

    def __init__(self, hold: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.hold = hold
        self.answer: Callable[[PresenceCommand], str | Exception] = lambda c: f"e-{c.command_id}"
        self.fail: Exception | None = None
        self.presence: dict[str, CurrentPresence] = {}  # what UserServicePresence shows per user
        self._lock = threading.Lock()

    def publish_presence_commands(self, commands: Sequence[PresenceCommand]) -> list[str | Exception]:
        with self._lock:
            self.calls.append([c.command_id for c in commands])
            held = len(self.calls) <= self.hold
        if held:
            self.release.wait(5)
        if self.fail is not None:
            raise self.fail
        return [self.answer(c) for c in commands]

    def current_presence(self, user_id: str) -> CurrentPresence | None:
        return self.presence.get(user_id)


Outcomes = dict[int, BaseException | None]  # agent -> what its write raised (None: it returned)


def write_in_thread(writer: OmniCommandWriter, agent_id: int, errors: Outcomes) -> threading.Thread:
    def run() -> None:
        try:
            writer.write(pending(agent_id), link(agent_id))
            errors[agent_id] = None
        except BaseException as error:
            errors[agent_id] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def burst(writer: OmniCommandWriter, client: Salesforce, first: int, then: Sequence[int]) -> Outcomes:
    """``first`` takes the only call slot and is held there; ``then`` queue up behind it; then all are released."""
    errors: Outcomes = {}
    threads = [write_in_thread(writer, first, errors)]
    wait_for(lambda: len(client.calls) == 1, "the first call")
    threads += [write_in_thread(writer, agent_id, errors) for agent_id in then]
    wait_for(lambda: writer.queued == len(then), "the rest of the burst to queue")
    client.release.set()
    for thread in threads:
        thread.join(5)
    return errors


def test_a_lone_command_leaves_at_once_on_its_own() -> None:
    client = Salesforce()
    writer = OmniCommandWriter(client)

    writer.write(pending(1), link(1))

    assert client.calls == [["cmd-1"]]


def test_commands_that_arrive_while_calls_are_under_way_leave_together() -> None:
    client = Salesforce(hold=1)
    writer = OmniCommandWriter(client, max_in_flight=1)

    errors = burst(writer, client, 1, [2, 3, 4])

    assert client.calls[0] == ["cmd-1"]
    assert sorted(client.calls[1]) == ["cmd-2", "cmd-3", "cmd-4"] and len(client.calls) == 2
    assert errors == {1: None, 2: None, 3: None, 4: None}


def test_a_refused_command_fails_only_its_own_write() -> None:
    client = Salesforce(hold=1)
    client.answer = lambda c: (
        InvalidRequest("bad status", vendor="salesforce", operation="publish") if c.command_id == "cmd-3" else "e"
    )
    writer = OmniCommandWriter(client, max_in_flight=1)

    errors = burst(writer, client, 1, [2, 3, 4])

    assert isinstance(errors.pop(3), InvalidRequest)
    assert errors == {1: None, 2: None, 4: None}


def test_a_failed_call_fails_every_write_it_carried() -> None:
    client = Salesforce(hold=1)
    writer = OmniCommandWriter(client, max_in_flight=1)
    client.fail = ServiceUnavailable("down", vendor="salesforce", operation="publish")

    errors = burst(writer, client, 1, [2, 3])

    assert all(isinstance(error, ServiceUnavailable) for error in errors.values()) and len(errors) == 3


def test_a_long_queue_leaves_in_calls_of_at_most_the_batch_limit_and_nothing_is_lost() -> None:
    client = Salesforce(hold=1)
    writer = OmniCommandWriter(client, max_in_flight=1, batch_limit=3)

    errors = burst(writer, client, 0, range(1, 8))

    assert all(len(call) <= 3 for call in client.calls)
    assert sorted(c for call in client.calls for c in call) == sorted(f"cmd-{n}" for n in range(8))
    assert set(errors) == set(range(8)) and not any(errors.values())


class OneAnswerOnly(Salesforce):
    def publish_presence_commands(self, commands: Sequence[PresenceCommand]) -> list[str | Exception]:
        return super().publish_presence_commands(commands)[:1]


def test_a_broken_client_wakes_every_waiting_worker_with_its_error() -> None:
    client = OneAnswerOnly(hold=1)
    writer = OmniCommandWriter(client, max_in_flight=1)

    errors = burst(writer, client, 1, [2, 3])

    assert errors[1] is None
    assert all(isinstance(errors[n], RuntimeError) for n in (2, 3))


class Cxone:
    def __init__(self) -> None:
        self.joins: list[int] = []
        self.states: list[tuple[str, str, str | None]] = []
        self.gone: set[str] = set()
        self.shows: dict[int, AgentState] = {}  # what agents/{id}/states answers

    def agent_state(self, agent_id: int) -> AgentState | None:
        return self.shows.get(agent_id)

    def join_agent_session(self, agent_id: int) -> str:
        self.joins.append(agent_id)
        return f"session-{agent_id}-{len(self.joins)}"

    def set_agent_state(self, session_id: str, state: str, reason: str | None = None) -> None:
        if session_id in self.gone:
            raise NotFound("no such session", vendor="cxone", operation="set_agent_state")
        self.states.append((session_id, state, reason))


def acd(agent_id: int, target: str) -> PendingWrite:
    return PendingWrite(agent_id, "acd", target, "c", 0.0)


def test_the_cxone_writer_joins_once_and_sets_state_with_the_code_as_reason() -> None:
    client = Cxone()
    writer = CxoneStateWriter(client)

    writer.write(acd(5, "Unavailable:Break"), link(5))
    writer.write(acd(5, "Available"), link(5))

    assert client.joins == [5]
    assert client.states == [("session-5-1", "Unavailable", "Break"), ("session-5-1", "Available", None)]


def test_the_cxone_writer_joins_again_once_when_the_session_is_gone() -> None:
    client = Cxone()
    writer = CxoneStateWriter(client)
    writer.write(acd(5, "Available"), link(5))
    client.gone.add("session-5-1")

    writer.write(acd(5, "Unavailable:Break"), link(5))

    assert client.joins == [5, 5] and client.states[-1] == ("session-5-2", "Unavailable", "Break")


def test_the_cxone_writer_refuses_a_state_it_cannot_set() -> None:
    with pytest.raises(ValueError, match="not a settable ACD state"):
        CxoneStateWriter(Cxone()).write(acd(5, "previous"), link(5))


def test_the_cxone_writer_reads_an_agent_back_in_the_feeds_notation_and_time() -> None:
    client = Cxone()
    client.shows[5] = AgentState.model_validate(
        {"agentId": 5, "agentStateName": "Unavailable", "outStateId": 12, "lastUpdateTime": "2026-12-02T06:00:00.250Z"}
    )
    writer = CxoneStateWriter(client, unavailable_codes={12: "Break"})
    assert writer.current(link(5)) == Observation(5, "Unavailable:Break", parse_time("2026-12-02T06:00:00.250Z"))
    assert writer.current(link(6)) is None  # nothing to tell


def test_the_omni_writer_reads_a_user_back_as_a_snapshot_and_none_when_logged_out() -> None:
    client = Salesforce()
    writer = OmniCommandWriter(client)
    assert writer.current(link(5)) == Observation(5, None, None, snapshot=True)
    modified = datetime(2026, 12, 2, 6, 0, 1, tzinfo=UTC)
    client.presence[link(5).salesforce_user_id] = CurrentPresence(
        id="0Pf1", user_id=link(5).salesforce_user_id, status_id="0N5BUSY", last_modified=modified
    )
    assert writer.current(link(5)) == Observation(5, "0N5BUSY", modified.timestamp(), snapshot=True)

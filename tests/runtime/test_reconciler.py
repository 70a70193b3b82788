"""The reconciler with fake writers and a fake clock: collapse, ordering, echoes, retries and circuits."""

from __future__ import annotations

from pathlib import Path

import pytest

from presence_sync.clients.errors import ConnectionFailed
from presence_sync.runtime_config import AgentLink
from runtime.reconciler import CircuitBreaker, Observation, Reconciler
from runtime.store import PendingWrite

from .fakes import PERMANENT, TRANSIENT, Clock, FakeWriter, reconciler
from .test_rules import AVAILABLE, BUSY, LUNCH

ADA = 7


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settled(tmp_path: Path, clock: Clock, **overrides: object) -> tuple[Reconciler, FakeWriter, FakeWriter]:
    """Ada logged in on both sides and in step: Available / Available_for_Chats (a baseline, nothing to do)."""
    rec, cxone, omni = reconciler(tmp_path / "store.db", clock, **overrides)
    rec.observe("acd", [Observation(ADA, "Available", clock())], baseline=True)
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, clock())], baseline=True)
    assert rec.drain() == 0
    return rec, cxone, omni


def test_a_baseline_snapshot_propagates_nothing(tmp_path: Path, clock: Clock) -> None:
    rec, cxone, omni = reconciler(tmp_path / "s.db", clock)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break")], baseline=True)
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id)], baseline=True)
    rec.drain()
    assert cxone.made == [] and omni.made == []


def test_one_change_one_write_and_its_echo_is_not_propagated(tmp_path: Path, clock: Clock) -> None:
    rec, cxone, omni = settled(tmp_path, clock)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    assert omni.targets() == [BUSY.status_id]
    clock.advance(0.1)
    assert rec.observe("sf", [Observation(ADA, BUSY.status_id, clock())]) == []  # the echo: nothing dirty
    rec.drain()
    assert cxone.made == [] and omni.targets() == [BUSY.status_id]
    assert rec.metrics.echoes_suppressed.labels("sf")._value.get() == 1


def test_duplicates_and_a_burst_collapse_to_one_write(tmp_path: Path, clock: Clock) -> None:
    rec, _, omni = settled(tmp_path, clock)
    for state in ("Unavailable:Break", "Unavailable:Break", "Unavailable:Lunch", "Unavailable:Break"):
        rec.observe("acd", [Observation(ADA, state, clock())])
        clock.advance(0.01)
    rec.drain()
    assert omni.targets() == [BUSY.status_id]


def test_a_change_while_a_write_is_pending_replaces_it(tmp_path: Path, clock: Clock) -> None:
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    rec.observe("acd", [Observation(ADA, "Available", clock())])  # back where Omni already is
    rec.drain()
    assert rec.store.pending_writes() == []
    omni.fail_with = None
    clock.advance(10)
    rec.mark_all_dirty()
    rec.drain()
    assert omni.made == []


def test_two_quick_opposite_changes_make_two_writes_and_no_loop(tmp_path: Path, clock: Clock) -> None:
    rec, cxone, omni = settled(tmp_path, clock)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    clock.advance(0.05)
    rec.observe("acd", [Observation(ADA, "Available", clock())])
    rec.drain()
    assert omni.targets() == [BUSY.status_id, AVAILABLE.status_id]
    # both echoes come back, in order, after both writes
    clock.advance(0.05)
    rec.observe("sf", [Observation(ADA, BUSY.status_id, clock() - 0.06)])
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, clock())])
    rec.drain()
    assert cxone.made == [] and len(omni.made) == 2


def test_the_newest_change_on_either_side_is_the_source(tmp_path: Path, clock: Clock) -> None:
    rec, cxone, omni = settled(tmp_path, clock)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id + "X", clock())])  # unmapped, but newer
    rec.drain()
    assert omni.made == [] and cxone.made == []


def test_previous_restores_what_the_agent_had_before_the_rule(tmp_path: Path, clock: Clock) -> None:
    rec, _, omni = reconciler(tmp_path / "s.db", clock)
    rec.observe("acd", [Observation(ADA, "Unavailable")], baseline=True)
    rec.observe("sf", [Observation(ADA, LUNCH.status_id)], baseline=True)
    rec.observe("acd", [Observation(ADA, "Available", clock())])
    rec.drain()
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, clock())])  # echo
    clock.advance(1)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    rec.observe("sf", [Observation(ADA, BUSY.status_id, clock())])  # echo
    clock.advance(1)
    rec.observe("acd", [Observation(ADA, "LoggedOut", clock())])
    rec.drain()
    assert omni.targets() == [AVAILABLE.status_id, BUSY.status_id, LUNCH.status_id]


def test_the_agents_own_change_on_the_target_side_cancels_a_queued_write(tmp_path: Path, clock: Clock) -> None:
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    assert len(rec.store.pending_writes()) == 1
    clock.advance(0.5)
    rec.observe("sf", [Observation(ADA, LUNCH.status_id, clock())])
    assert rec.store.pending_writes() == []


def test_transient_errors_retry_with_backoff_until_the_write_lands(tmp_path: Path, clock: Clock) -> None:
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    assert omni.attempts == 1
    rec.drain()
    assert omni.attempts == 1  # not before the backoff
    clock.advance(0.2)
    rec.drain()
    assert omni.attempts == 2
    omni.fail_with = None
    clock.advance(60)
    rec.drain()
    assert omni.targets() == [BUSY.status_id] and rec.store.pending_writes() == []


def test_a_permanent_error_drops_the_write_and_counts_it(tmp_path: Path, clock: Clock) -> None:
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = PERMANENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    assert rec.store.pending_writes() == []
    assert rec.metrics.errors.labels("salesforce", "InvalidRequest")._value.get() == 1


def test_an_outage_of_one_vendor_queues_its_writes_and_the_other_direction_keeps_working(
    tmp_path: Path, clock: Clock
) -> None:
    rec, cxone, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    for _ in range(2):  # three failures in a row open the Salesforce circuit
        clock.advance(1.0)
        rec.drain()
    assert rec.breakers["sf"].is_open and omni.attempts == 3
    attempts = omni.attempts
    rec.drain()
    assert omni.attempts == attempts  # an open circuit makes no calls
    # meanwhile Grace's Omni change flows to CXone
    rec.observe("acd", [Observation(8, "Available")], baseline=True)
    rec.observe("sf", [Observation(8, AVAILABLE.status_id)], baseline=True)
    rec.observe("sf", [Observation(8, BUSY.status_id, clock())])
    rec.drain()
    assert cxone.targets() == ["Unavailable:Break"]
    # Salesforce comes back: the queued write converges
    omni.fail_with = None
    clock.advance(30)
    rec.drain()
    assert omni.targets() == [BUSY.status_id]
    assert not rec.breakers["sf"].is_open


def test_circuit_breaker_half_opens_for_one_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker("x", threshold=2, cooldown=1.0, clock=clock)
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert not breaker.allow()
    clock.advance(1.0)
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failure()  # failed probe: cooldown doubles
    clock.advance(1.0)
    assert not breaker.allow()
    clock.advance(1.0)
    assert breaker.allow()
    breaker.success()
    assert breaker.allow() and not breaker.is_open


def test_a_write_the_feed_already_shows_is_never_repeated(tmp_path: Path, clock: Clock) -> None:
    """kill -9 after the write, before it left the outbox: on restart the echo is seen first."""
    path = tmp_path / "store.db"
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT  # the decision is made and stored, the write "crashes"
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    rec.store.close()

    restarted, _, omni2 = reconciler(path, clock)
    clock.advance(0.2)
    restarted.observe("sf", [Observation(ADA, BUSY.status_id, clock())])  # the write did land: its echo
    restarted.recover()
    restarted.drain()
    assert omni2.made == [] and restarted.store.pending_writes() == []


def test_a_write_decided_before_a_crash_is_made_after_the_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "store.db"
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    rec.store.close()

    restarted, _, omni2 = reconciler(path, clock)
    clock.advance(5)
    restarted.recover()
    restarted.drain()
    assert omni2.targets() == [BUSY.status_id]


def test_agents_not_in_the_config_are_ignored(tmp_path: Path, clock: Clock) -> None:
    rec, _, _ = settled(tmp_path, clock)
    assert rec.observe("acd", [Observation(999, "Available", clock())]) == []


def test_worker_threads_reconcile_each_agent_once_at_a_time(tmp_path: Path) -> None:
    import time

    clock = Clock()
    rec, _, omni = settled(tmp_path, clock)
    rec.start(4)
    try:
        for _ in range(20):
            rec.mark_dirty(ADA)
        rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
        deadline = time.monotonic() + 5
        while not (rec.idle() and omni.made) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        rec.stop()
    assert omni.targets() == [BUSY.status_id]


def test_a_change_undone_during_an_outage_costs_no_write(tmp_path: Path, clock: Clock) -> None:
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()  # the write fails and waits in the outbox
    made_before = omni.attempts
    rec.observe("acd", [Observation(ADA, "Available", clock())])  # undone while queued
    rec.drain()
    omni.fail_with = None
    clock.advance(60)
    rec.drain()
    assert omni.made == [] and omni.attempts == made_before
    assert rec.store.pending_writes(ADA) == []


def test_a_read_recorded_in_chunks_saves_its_cursor_only_with_the_last(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, _, omni = settled(tmp_path, clock)
    rec.OBSERVE_CHUNK = 1
    real = rec._observe_one
    calls = []

    def failing_second(*args: object) -> bool:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("crash between chunks")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(rec, "_observe_one", failing_second)
    batch = [Observation(ADA, "Unavailable:Break", clock()), Observation(ADA, "Unavailable:Break", clock())]
    with pytest.raises(RuntimeError):
        rec.observe("acd", batch, ("cxone.lastPollTime", "t1"))
    assert rec.store.get_cursor("cxone.lastPollTime") is None  # the read will be repeated
    assert rec.store.dirty_agents() == [ADA]  # what the first chunk saw is durable
    monkeypatch.setattr(rec, "_observe_one", real)
    assert rec.observe("acd", batch, ("cxone.lastPollTime", "t1")) == []  # repeated: already known
    assert rec.store.get_cursor("cxone.lastPollTime") == "t1"
    rec.drain()
    assert omni.targets() == [BUSY.status_id]


class RereadableWriter(FakeWriter):
    """A writer whose side can be read back (as the real ones can): ``shows`` is what the vendor shows now."""

    def __init__(self, vendor: str) -> None:
        super().__init__(vendor)
        self.shows: Observation | None = None
        self.reads = 0

    def current(self, link: object) -> Observation | None:
        self.reads += 1
        return self.shows


def with_rereadable_omni(tmp_path: Path, clock: Clock) -> tuple[Reconciler, RereadableWriter]:
    rec, _, _ = settled(tmp_path, clock)
    omni = RereadableWriter("salesforce")
    rec.writers["sf"] = omni
    return rec, omni


def test_a_write_without_an_answer_reads_its_side_and_is_not_repeated_when_it_landed(
    tmp_path: Path, clock: Clock
) -> None:
    rec, omni = with_rereadable_omni(tmp_path, clock)
    omni.fail_with = ConnectionFailed  # the request went out; no answer came back
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    assert omni.attempts == 1 and rec.store.pending_writes()[0].maybe_landed
    omni.fail_with = None
    omni.shows = Observation(ADA, BUSY.status_id, clock() + 0.05)  # it had landed
    clock.advance(5)
    rec.drain()
    assert omni.reads == 1 and omni.attempts == 1 and rec.store.pending_writes() == []


def test_a_write_without_an_answer_is_dropped_when_the_agent_changed_the_side_meanwhile(
    tmp_path: Path, clock: Clock
) -> None:
    rec, omni = with_rereadable_omni(tmp_path, clock)
    omni.fail_with = ConnectionFailed
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    omni.fail_with = None
    clock.advance(5)
    omni.shows = Observation(ADA, LUNCH.status_id, clock())  # not ours: the agent's own choice since
    rec.drain()
    assert omni.made == [] and rec.store.pending_writes() == []


def test_a_refused_write_is_repeated_without_a_read(tmp_path: Path, clock: Clock) -> None:
    rec, omni = with_rereadable_omni(tmp_path, clock)
    omni.fail_with = TRANSIENT  # a 503: the vendor said it did not process it
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    omni.fail_with = None
    clock.advance(1)
    rec.drain()
    assert omni.reads == 0 and omni.targets() == [BUSY.status_id]


class ProcessDied(BaseException):
    """The runtime is killed while a write is on its way (nothing after this point runs)."""


class DiesWhileWriting(FakeWriter):
    def write(self, pending: PendingWrite, link: AgentLink) -> None:
        raise ProcessDied()


def test_a_write_under_way_when_the_process_died_reads_its_side_before_it_is_made_again(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "store.db"
    rec, _, _ = settled(tmp_path, clock)
    rec.writers["sf"] = DiesWhileWriting("salesforce")
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    with pytest.raises(ProcessDied):
        rec.drain()
    rec.store.close()

    restarted, _, _ = reconciler(path, clock)
    omni2 = RereadableWriter("salesforce")
    restarted.writers["sf"] = omni2
    omni2.shows = Observation(ADA, AVAILABLE.status_id, clock() - 10)  # it had not landed
    clock.advance(1)
    restarted.recover()
    restarted.drain()
    assert omni2.reads == 1 and omni2.targets() == [BUSY.status_id]


def test_a_refused_write_left_by_a_crash_is_made_without_a_read(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "store.db"
    rec, _, omni = settled(tmp_path, clock)
    omni.fail_with = TRANSIENT  # a 503: certainly not made; then the process dies
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    rec.store.close()

    restarted, _, _ = reconciler(path, clock)
    omni2 = RereadableWriter("salesforce")
    restarted.writers["sf"] = omni2
    clock.advance(1)
    restarted.recover()
    restarted.drain()
    assert omni2.reads == 0 and omni2.targets() == [BUSY.status_id]


def test_our_write_that_lands_over_the_agents_newer_change_puts_their_choice_back(tmp_path: Path, clock: Clock) -> None:
    rec, cxone, omni = settled(tmp_path, clock)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()  # Omni -> Busy is on its way...
    clock.advance(0.05)
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, clock())])  # ...when the agent picks Available
    clock.advance(0.05)
    rec.observe("sf", [Observation(ADA, BUSY.status_id, clock())])  # then our Busy lands over it
    rec.drain()
    assert omni.targets() == [BUSY.status_id, AVAILABLE.status_id]  # the agent's choice is put back
    assert cxone.targets() == ["Available"]  # and CXone follows the agent's latest change


def test_a_read_recorded_after_it_ended_counts_from_when_it_ended(tmp_path: Path, clock: Clock) -> None:
    """A landed write stops being assumed after two reads of its side since it could have been applied. A read
    routed through the inbox is recorded later than it ended; counted from when it was recorded, two reads made
    before the write landed would end the assumption, and the write would be made again."""
    rec, _, omni = settled(tmp_path, clock)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    assert omni.targets() == [BUSY.status_id]
    read_before_the_write = clock() - 1.0
    clock.advance(rec.expect_for + 5.0)  # its echo is late: the reads below ended before the write was made
    for _ in range(2):
        rec.observe("sf", [], read_at=read_before_the_write)
        clock.advance(1.0)
    rec.mark_dirty(ADA)
    rec.drain()
    assert omni.targets() == [BUSY.status_id]

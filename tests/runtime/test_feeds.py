"""The feeds with fake clients: what a vendor answer becomes, and the durable cursors."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from presence_sync.clients.cxone import AgentState
from presence_sync.clients.errors import ServiceUnavailable
from presence_sync.clients.pubsub.stream import ReplayIdRefused, TopicRefused
from presence_sync.clients.salesforce_models import CurrentPresence, PresenceChangeEvent
from runtime.feeds import CxoneFeed, SalesforceFeed
from runtime.metrics import Metrics
from runtime.reconciler import Observation
from runtime.vendor_values import acd_notation, parse_time

from .fakes import Clock, reconciler
from .test_rules import AVAILABLE, BUSY

ADA_USER, ADA, GRACE = "005ADA", 7, 8


def test_cxone_states_are_written_in_the_spec_notation() -> None:
    codes = {3001: "Break"}
    assert acd_notation("Unavailable", 3001, "ignored", codes) == "Unavailable:Break"
    assert acd_notation("Unavailable", 3009, "Lunch", codes) == "Unavailable:Lunch"
    assert acd_notation("Unavailable", 0, "", codes) == "Unavailable"
    assert acd_notation("InboundContact", None, None, codes) == "InboundContact"


def test_vendor_timestamps_parse_in_both_vendor_formats() -> None:
    assert parse_time("2026-11-25T14:50:23.776Z") == parse_time("2026-11-25T14:50:23.776+0000")
    assert parse_time("") is None and parse_time("garbage") is None


class FakeCxone:
    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.answer: list[AgentState] = []

    def agent_states(self, updated_since: Any = None) -> tuple[list[AgentState], str | None]:
        self.calls.append(updated_since)
        return self.answer, f"cursor-{len(self.calls)}"


def test_cxone_feed_resumes_from_its_durable_cursor(tmp_path: Path) -> None:
    clock = Clock()
    rec, _, _ = reconciler(tmp_path / "s.db", clock)
    client = FakeCxone()
    feed = CxoneFeed(client, rec, rec.config, metrics=Metrics(), clock=clock)
    client.answer = [
        AgentState.model_validate(
            {
                "agentId": ADA,
                "agentStateName": "Unavailable",
                "outStateId": 3001,
                "outStateDescription": "Break",
                "lastUpdateTime": "2026-11-25T10:00:00.000Z",
            }
        )
    ]
    feed.poll_once(baseline=True)
    assert rec.store.load_agent(ADA).acd == "Unavailable:Break"
    client.answer = []
    feed.poll_once()
    assert client.calls == [None, "cursor-1"]
    assert rec.store.get_cursor(CxoneFeed.CURSOR) == "cursor-2"


def cxone_row(agent_id: int, state: str, changed_at: float) -> AgentState:
    stamp = datetime.fromtimestamp(changed_at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return AgentState.model_validate({"agentId": agent_id, "agentStateName": state, "lastUpdateTime": stamp})


def test_a_baseline_is_the_state_found_and_an_agent_who_changed_while_it_was_read_is_synced(tmp_path: Path) -> None:
    """A fresh store's first CXone read is the state found: nothing in it propagates. A row stamped after the
    read began (beyond the clock skew bound) is an agent who acted while the pages were read: a change, synced
    like any other (recorded as the baseline, it would stay out of step until the agent changed again)."""
    clock = Clock(1_800_000_000.0)
    rec, cxone, omni = reconciler(tmp_path / "s.db", clock)
    omni_found = [Observation(agent, BUSY.status_id, clock() - 600) for agent in (ADA, GRACE)]
    rec.observe("sf", omni_found, baseline=True)
    client = FakeCxone()
    client.answer = [cxone_row(ADA, "Available", clock() - 60), cxone_row(GRACE, "Available", clock() + 5)]
    feed = CxoneFeed(client, rec, rec.config, metrics=Metrics(), clock=clock)
    feed.catch_up()
    rec.drain()
    assert [(agent, target) for agent, target, _ in omni.made] == [(GRACE, AVAILABLE.status_id)]
    assert cxone.made == [] and rec.store.load_agent(ADA).acd == "Available"


class SweepingCxone:
    """A two-step client (``agent_state_changes``, then ``late_agent_states``) that records what the store held
    when the sweep was asked for."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.feed_pages = 0
        self.at_sweep: tuple[str | None, str | None] | None = None
        self.cursor_after_page: str | None = "not read"
        self.fail_sweep = False

    def agent_state_changes(self, updated_since: Any = None, on_page: Any = None) -> tuple[list[AgentState], str]:
        self.feed_pages += 1
        row = {"agentId": ADA, "agentStateName": "Available", "lastUpdateTime": "2026-11-25T10:00:01.000Z"}
        page = [AgentState.model_validate(row)]
        on_page(page)
        self.cursor_after_page = self.store.get_cursor(CxoneFeed.CURSOR)
        return page, "settled/head-2"

    def late_agent_states(self, cursor: str) -> tuple[list[AgentState], str]:
        self.at_sweep = (self.store.load_agent(ADA).acd, self.store.get_cursor(CxoneFeed.CURSOR))
        if self.fail_sweep:
            raise ServiceUnavailable("503", vendor="cxone", operation="agent_states")
        self.feed_pages += 2
        return [], "settled-2/head-2"


def test_cxone_changes_reach_the_reconciler_page_by_page_and_before_the_sweep_for_late_rows(tmp_path: Path) -> None:
    clock = Clock()
    rec, _, _ = reconciler(tmp_path / "s.db", clock)
    rec.store.set_cursor(CxoneFeed.CURSOR, "settled/head-1")
    client = SweepingCxone(rec.store)
    feed = CxoneFeed(client, rec, rec.config, metrics=Metrics(), clock=clock)

    assert feed.poll_once() == 1

    assert client.cursor_after_page == "settled/head-1"  # a page is observed; the cursor moves after the last
    assert client.at_sweep == ("Available", "settled/head-2")  # seen, and its cursor stored, before the sweep
    assert rec.store.get_cursor(CxoneFeed.CURSOR) == "settled-2/head-2"


def test_a_failed_sweep_keeps_the_changes_and_their_cursor(tmp_path: Path) -> None:
    clock = Clock()
    rec, _, _ = reconciler(tmp_path / "s.db", clock)
    client = SweepingCxone(rec.store)
    client.fail_sweep = True
    feed = CxoneFeed(client, rec, rec.config, metrics=Metrics(), clock=clock)

    with pytest.raises(ServiceUnavailable):
        feed.poll_once()

    assert rec.store.load_agent(ADA).acd == "Available"
    assert rec.store.get_cursor(CxoneFeed.CURSOR) == "settled/head-2"  # the next poll sweeps from here


def event(
    replay: int,
    change: str,
    record: str,
    user: str | None = None,
    status: str | None = None,
    current: bool | None = None,
) -> PresenceChangeEvent:
    return PresenceChangeEvent(
        replay_id=replay,
        change_type=change,
        record_id=record,
        user_id=user,
        status_id=status,
        is_current=current,
        commit_user=ADA_USER,
        commit_timestamp=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )


def test_a_status_change_is_a_close_and_a_create_and_every_change_in_a_batch_is_kept(tmp_path: Path) -> None:
    clock = Clock()
    rec, _, _ = reconciler(tmp_path / "s.db", clock)
    feed = SalesforceFeed(object(), rec, rec.config, metrics=Metrics(), clock=clock)  # type: ignore[arg-type]
    batch = [
        event(1, "CREATE", "0Pw1", ADA_USER, "0N5BUSY", True),
        event(2, "UPDATE", "0Pw1", current=False),
        event(3, "CREATE", "0Pw2", ADA_USER, "0N5AVAIL", True),
    ]
    assert [(o.agent_id, o.state) for o in feed.fold(batch)] == [(ADA, "0N5BUSY"), (ADA, "0N5AVAIL")]
    (logout,) = feed.fold([event(4, "UPDATE", "0Pw2", current=False)])
    assert (logout.agent_id, logout.state) == (ADA, None)
    assert feed.fold([event(5, "CREATE", "0Pw3", "005STRANGER", "0N5AVAIL", True)]) == []


class RefusedStream:
    """An org that does not deliver UserServicePresenceChangeEvent (not selected for Change Data Capture)."""

    def __init__(self) -> None:
        self.polls: list[Any] = []

    def read_presence_changes(self, after_replay_id: Any, wait_ms: int = 0, limit: int = 100) -> Any:
        raise TopicRefused("NOT_FOUND: Topic not found", vendor="salesforce", operation="Subscribe", object="/data/X")

    def poll_current_presence(self, since: Any = None) -> tuple[list[CurrentPresence], datetime | None]:
        self.polls.append(since)
        newest = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        return [CurrentPresence(id="0Pw1", user_id=ADA_USER, status_id="0N5BUSY", last_modified=newest)], newest


def run_until(feed: SalesforceFeed, condition: Any) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=feed.run, args=(stop,), daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if condition():
                break
            threading.Event().wait(0.02)
    finally:
        stop.set()
        thread.join(5)


def test_a_refused_topic_is_polled_within_the_budget_only_when_the_admin_opted_in(tmp_path: Path) -> None:
    clock = Clock()
    rec, _, _ = reconciler(
        tmp_path / "s.db",
        clock,
        api_budget_per_minute={"salesforce": 6, "cxone": 60},
        salesforce_poll_fallback=True,
    )
    client = RefusedStream()
    metrics = Metrics()
    feed = SalesforceFeed(client, rec, rec.config, metrics=metrics, clock=clock)
    assert feed.poll_interval == 10.0  # 6 calls a minute

    run_until(feed, lambda: client.polls)

    assert feed.mode == "poll" and client.polls == [None]
    assert metrics.salesforce_polling._value.get() == 1
    assert rec.store.load_agent(ADA).sf == "0N5BUSY"
    assert rec.store.get_cursor(SalesforceFeed.POLL_CURSOR) == "2026-11-25T10:00:00+00:00"


def test_a_refused_topic_without_the_opt_in_is_one_error_line_naming_what_to_enable(
    tmp_path: Path, caplog: Any
) -> None:
    clock = Clock()
    rec, _, _ = reconciler(tmp_path / "s.db", clock)
    client = RefusedStream()
    feed = SalesforceFeed(client, rec, rec.config, metrics=Metrics(), clock=clock)

    run_until(feed, lambda: feed.last_error is not None)

    assert feed.mode == "stream" and client.polls == []
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "\n" not in line and "Change Data Capture" in line and "salesforce_poll_fallback" in line


class ForgottenReplayId:
    """A stream whose stored replay id fell out of retention: refused once, then read from its newest event."""

    def __init__(self) -> None:
        self.reads: list[Any] = []
        self.polls: list[Any] = []

    def read_presence_changes(self, after: Any, wait_ms: int = 0, limit: int = 100) -> Any:
        self.reads.append(after)
        if after == 7:
            raise ReplayIdRefused("INVALID_ARGUMENT", vendor="salesforce", operation="Subscribe", object="/data/X")
        return [], 9

    def poll_current_presence(self, since: Any = None) -> tuple[list[CurrentPresence], datetime | None]:
        self.polls.append(since)
        newest = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
        return [CurrentPresence(id="0Pw1", user_id=ADA_USER, status_id="0N5BUSY", last_modified=newest)], newest


def test_a_replay_id_older_than_retention_means_a_logged_full_resync(tmp_path: Path, caplog: Any) -> None:
    clock = Clock()
    rec, _, _ = reconciler(tmp_path / "s.db", clock)
    rec.store.set_cursor(SalesforceFeed.BASELINE, "done")
    rec.store.set_cursor(SalesforceFeed.CURSOR, "7")
    client = ForgottenReplayId()
    metrics = Metrics()
    feed = SalesforceFeed(client, rec, rec.config, metrics=metrics, clock=clock)

    feed.catch_up()

    assert client.reads == [7, -1] and client.polls == [None]  # reopened at the newest event, then every row
    assert rec.store.get_cursor(SalesforceFeed.CURSOR) == "9"
    assert rec.store.load_agent(ADA).sf == "0N5BUSY"
    assert metrics.salesforce_resyncs._value.get() == 1
    assert any("full resync" in r.getMessage() for r in caplog.records)


class SlowCxone(FakeCxone):
    """Each read takes ``seconds`` of the patched monotonic clock."""

    def __init__(self, clock: list[float], seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def agent_states(self, updated_since: Any = None) -> tuple[list[AgentState], str | None]:
        self.clock[0] += self.seconds
        return super().agent_states(updated_since)


class CountingStop(threading.Event):
    """Records each wait (and lets the patched clock pass it); stops the loop after ``rounds`` waits."""

    def __init__(self, clock: list[float], rounds: int) -> None:
        super().__init__()
        self.clock, self.rounds = clock, rounds
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(round(timeout or 0.0, 6))
        self.clock[0] += timeout or 0.0
        if len(self.waits) >= self.rounds:
            self.set()
        return self.is_set()


def test_cxone_reads_start_one_interval_apart_however_long_a_read_takes(tmp_path: Path, monkeypatch: Any) -> None:
    monotonic = [100.0]
    monkeypatch.setattr("runtime.feeds.time.monotonic", lambda: monotonic[0])
    rec, _, _ = reconciler(tmp_path / "s.db", Clock())
    feed = CxoneFeed(FakeCxone(), rec, rec.config, metrics=Metrics())
    interval = feed.interval  # the configured poll interval, or what the API budget allows
    quick, slow = CountingStop(monotonic, rounds=3), CountingStop(monotonic, rounds=2)

    feed.client = SlowCxone(monotonic, interval / 4)
    feed.run(quick)
    feed.client = SlowCxone(monotonic, interval * 2)
    feed.run(slow)

    assert quick.waits == [round(interval * 3 / 4, 6)] * 3  # the rest of the interval, not a whole one more
    assert slow.waits == [0.0, 0.0]  # a read longer than the interval: the next one starts at once


class PagingCxone(SlowCxone):
    """Each poll takes ``pages`` calls (a burst's rows, 100 a page)."""

    def __init__(self, clock: list[float], pages: int) -> None:
        super().__init__(clock, 0.0)
        self.pages, self.feed_pages = pages, 0

    def agent_states(self, updated_since: Any = None) -> tuple[list[AgentState], str | None]:
        self.feed_pages += self.pages
        return super().agent_states(updated_since)


def test_the_cxone_budget_counts_calls_so_polls_after_a_burst_of_pages_wait_their_turn(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """apiBudgetPerMinute.cxone is calls a minute: a poll that pages spends more of it than an idle one, and
    when the last minute's calls reach the budget the next poll waits until the oldest of them is a minute old."""
    monotonic = [100.0]
    monkeypatch.setattr("runtime.feeds.time.monotonic", lambda: monotonic[0])
    rec, _, _ = reconciler(
        tmp_path / "s.db", Clock(), poll_interval_seconds=2.0, api_budget_per_minute={"salesforce": 20, "cxone": 30}
    )
    feed = CxoneFeed(PagingCxone(monotonic, pages=10), rec, rec.config, metrics=Metrics())
    stop = CountingStop(monotonic, rounds=4)
    feed.run(stop)
    # polls at 100, 102, 104 (30 calls: the budget), then at 160 when the first ten are a minute old
    assert stop.waits == [2.0, 2.0, 56.0, 2.0]

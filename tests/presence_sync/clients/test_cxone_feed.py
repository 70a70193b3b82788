"""``CxoneClient.agent_states`` as a feed: no change is lost or repeated when agents change while it pages, a
change made visible after a later poll time is still returned, and what was read is not read again on every poll.

``Realtime`` below is a small in-memory model of ``GET agents/states`` (the same rules as the sandbox:
rows with ``lastUpdateTime > updatedSince``, oldest change first, ``skip``/``top`` paging, ``lastPollTime``
later than every row returned, 204 when nothing changed) with a hook that changes agents between two page
reads -- the moment a skip/top reader loses rows, because a changed agent moves to the end of the list and
every row behind it moves one place forward.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from presence_sync.clients.cxone import AgentState, CxoneClient
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.settings import CxoneSettings
from tests.presence_sync.clients.client_fakes import FakeTransport, Recorded, Reply

V = "/incontactapi/services/v34.0"
_EPOCH = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _iso(ms: int) -> str:
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ms(text: str) -> int:
    return int((datetime.fromisoformat(text) - _EPOCH) / timedelta(milliseconds=1))


@dataclasses.dataclass
class Realtime:
    """Agents' current states; every change and every poll takes the next millisecond (``advance``: more)."""

    now: int = 0
    states: dict[int, tuple[str, int]] = dataclasses.field(default_factory=dict)
    pages_served: int = 0
    rows_served: int = 0
    between_pages: dict[int, Callable[[Realtime], None]] = dataclasses.field(default_factory=dict)

    def tick(self) -> int:
        self.now += 1
        return self.now

    def change(self, agent_id: int, state: str) -> None:
        self.states[agent_id] = (state, self.tick())

    def change_seen_late(self, agent_id: int, state: str, before: int) -> None:
        """A change stamped ``before`` ms ago that becomes visible only now: after a poll time later than it."""
        self.states[agent_id] = (state, self.now - before)

    def advance(self, ms: int) -> None:
        self.now += ms

    def latest(self) -> set[tuple[int, str, str]]:
        return {(agent, state, _iso(at)) for agent, (state, at) in self.states.items()}

    def __call__(self, recorded: Recorded) -> Reply:
        since_text = recorded.param("updatedSince")
        since = None if since_text in (None, "0") else _ms(since_text)
        skip, top = int(recorded.param("skip") or 0), int(recorded.param("top") or 100)
        order = (recorded.param("orderBy") or "lastUpdateTime").split()[0].lower()
        rows = [(agent, state, at) for agent, (state, at) in self.states.items() if since is None or at > since]
        rows.sort(key=(lambda r: r[0]) if order == "agentid" else (lambda r: (r[2], r[0])))
        poll_time = self.tick()
        page = rows[skip : skip + top]
        self.pages_served += 1
        self.rows_served += len(page)
        hook = self.between_pages.pop(self.pages_served, None)
        if hook is not None:
            hook(self)  # the agents change after this page was read and before the next one is
        if not rows and since is not None:
            return Reply(204)
        return Reply(
            200,
            {
                "totalRecords": len(rows),
                "lastPollTime": _iso(poll_time),
                "agentStates": [
                    {"agentId": agent, "agentStateName": state, "lastUpdateTime": _iso(at)} for agent, state, at in page
                ],
            },
        )


def _feed(cx: CxoneClient, transport: FakeTransport, realtime: Realtime) -> None:
    transport.on("GET", f"{V}/agents/states", realtime)


def _baseline(
    cx: CxoneClient, transport: FakeTransport, realtime: Realtime, agents: int, settle_ms: int = 0
) -> str | None:
    """Agents 1..``agents`` logged out (then ``settle_ms`` of vendor time) and read once by the feed: the
    cursor after that baseline read."""
    for agent in range(1, agents + 1):
        realtime.change(agent, "LoggedOut")
    _feed(cx, transport, realtime)
    realtime.advance(settle_ms)
    _, cursor = cx.agent_states()
    return cursor


def _client_on(realtime: Realtime, env: dict[str, str], transport: FakeTransport, policy: RetryPolicy) -> CxoneClient:
    """A client whose clock is the vendor's (``Realtime.now``): how long ago a read was, without waiting."""
    settings = CxoneSettings.from_mapping(env)
    return CxoneClient(settings, retry=policy, transport=transport, clock=lambda: realtime.now / 1000)


def _keys(states: list[AgentState]) -> list[tuple[int, str, str]]:
    return [(s.agent_id, s.agent_state_name, s.last_update_time or "") for s in states]


def _poll_until_quiet(cx: CxoneClient, cursor: str | None, polls: int = 3) -> tuple[list[AgentState], str | None]:
    seen: list[AgentState] = []
    for _ in range(polls):
        states, cursor = cx.agent_states(cursor)
        seen.extend(states)
    return seen, cursor


def test_changes_between_page_reads_are_all_returned_once(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    realtime = Realtime()
    cursor = _baseline(cx, cx_transport, realtime, 300)  # the baseline read: every agent
    realtime.pages_served = 0

    for agent in range(1, 251):  # 250 agents change: three pages of 100
        realtime.change(agent, "Available")

    def agents_on_the_first_page_change_again(rt: Realtime) -> None:
        for agent in range(1, 31):
            rt.change(agent, "Unavailable")
        rt.change(260, "Available")  # and one that had not changed since the cursor

    realtime.between_pages[1] = agents_on_the_first_page_change_again
    realtime.between_pages[2] = lambda rt: rt.change(120, "Unavailable")

    seen, _ = _poll_until_quiet(cx, cursor)
    keys = _keys(seen)
    latest = {k for k in realtime.latest() if k[0] <= 260 and k[1] != "LoggedOut"}
    missing = sorted(latest - set(keys))
    repeated = len(keys) - len(set(keys))
    assert (len(missing), repeated) == (0, 0), f"never returned (first 3): {missing[:3]}; reported twice: {repeated}"


def test_a_change_after_the_last_page_comes_with_the_next_poll(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    realtime = Realtime()
    for agent in range(1, 151):
        realtime.change(agent, "Available")
    _feed(cx, cx_transport, realtime)
    first, cursor = cx.agent_states()
    assert len(first) == 150
    realtime.change(7, "Unavailable")
    realtime.change(149, "LoggedOut")
    second, cursor = cx.agent_states(cursor)
    assert sorted(_keys(second)) == sorted(k for k in realtime.latest() if k[0] in (7, 149))
    third, _ = cx.agent_states(cursor)
    assert third == []


def test_a_full_read_is_never_thinned_by_what_earlier_polls_returned(
    cx: CxoneClient, cx_transport: FakeTransport
) -> None:
    realtime = Realtime()
    for agent in range(1, 11):
        realtime.change(agent, "Available")
    _feed(cx, cx_transport, realtime)
    _, cursor = cx.agent_states()
    cx.agent_states(cursor)
    everything, _ = cx.agent_states(None)  # the runtime's resync: every agent, whatever came before
    assert sorted(s.agent_id for s in everything) == list(range(1, 11))


def test_a_poll_reads_from_the_last_poll_time_not_what_it_already_returned(
    cx: CxoneClient, cx_transport: FakeTransport
) -> None:
    realtime = Realtime()
    cursor = _baseline(cx, cx_transport, realtime, 300)
    for agent in range(1, 251):
        realtime.change(agent, "Available")
    burst, cursor = cx.agent_states(cursor)
    assert len(burst) == 250
    realtime.pages_served = realtime.rows_served = 0

    realtime.change(7, "Unavailable")
    states, _ = cx.agent_states(cursor)

    assert _keys(states) == [(7, "Unavailable", _iso(realtime.states[7][1]))]
    assert (realtime.pages_served, realtime.rows_served) == (1, 1)  # not the 250 of the burst once more


def test_a_change_made_visible_after_a_later_poll_time_is_returned_once_by_the_sweep(
    cx_env: dict[str, str], cx_transport: FakeTransport, policy: RetryPolicy
) -> None:
    realtime = Realtime()
    cx = _client_on(realtime, cx_env, cx_transport, policy)
    for agent in range(1, 11):
        realtime.change(agent, "Available")
    _feed(cx, cx_transport, realtime)
    _, cursor = cx.agent_states()
    realtime.change(1, "Unavailable")
    first, cursor = cx.agent_states(cursor)
    realtime.change_seen_late(2, "Unavailable", before=5)  # older than the poll time ``first`` came with

    seen: list[AgentState] = []
    for _ in range(4):  # quiet polls (204) over 4 s: the window settles (the 1 s overlap) and is swept
        realtime.advance(1000)
        states, cursor = cx.agent_states(cursor)
        seen.extend(states)

    assert _keys(first) == [(1, "Unavailable", _iso(realtime.states[1][1]))]
    assert _keys(seen) == [(2, "Unavailable", _iso(realtime.states[2][1]))]


def test_the_settled_window_is_read_again_once_per_sweep_not_on_every_poll(
    cx_env: dict[str, str], cx_transport: FakeTransport, policy: RetryPolicy
) -> None:
    realtime = Realtime()
    cx = _client_on(realtime, cx_env, cx_transport, policy)
    cursor = _baseline(cx, cx_transport, realtime, 500)
    realtime.rows_served = 0
    changed: list[tuple[int, str, str]] = []
    for poll in range(30):  # 3 s of polls 100 ms apart, 10 changes before each
        for agent in range(poll * 10 + 1, poll * 10 + 11):
            realtime.change(agent, "Available")
        realtime.advance(100)
        states, cursor = cx.agent_states(cursor)
        changed.extend(_keys(states))

    assert sorted(changed) == sorted(k for k in realtime.latest() if k[1] == "Available")
    # Each change read by the poll after it and once more by a sweep (one a second), plus the page each sweep
    # stops on; re-reading a 1 s overlap on every poll would read each about ten times (~3,300 rows).
    assert realtime.rows_served <= 2 * len(changed) + 4 * 100, realtime.rows_served


def test_after_a_restart_a_stored_cursor_loses_nothing(
    cx: CxoneClient, cx_transport: FakeTransport, cx_env: dict[str, str], policy: RetryPolicy
) -> None:
    realtime = Realtime()
    for agent in range(1, 21):
        realtime.change(agent, "Available")
    _feed(cx, cx_transport, realtime)
    _, cursor = cx.agent_states()
    realtime.change(3, "Unavailable")
    _, cursor = cx.agent_states(cursor)
    realtime.change_seen_late(4, "Unavailable", before=5)  # a late change the first client never saw
    realtime.change(5, "Unavailable")

    restarted = _client_on(realtime, cx_env, cx_transport, policy)
    seen: list[AgentState] = []
    for _ in range(4):
        realtime.advance(1000)
        states, cursor = restarted.agent_states(cursor)
        seen.extend(states)

    keys = _keys(seen)
    assert {(4, "Unavailable"), (5, "Unavailable")} <= {(a, s) for a, s, _ in keys}
    assert max(keys.count(k) for k in keys) <= 2  # a restart may repeat a row once, never lose one


def test_a_cursor_stored_before_the_settled_head_form_is_read_from(
    cx: CxoneClient, cx_transport: FakeTransport
) -> None:
    realtime = Realtime()
    for agent in range(1, 4):
        realtime.change(agent, "Available")
    stored = _iso(realtime.now)  # what the runtime stored before: one time
    realtime.change(2, "Unavailable")
    _feed(cx, cx_transport, realtime)
    states, cursor = cx.agent_states(stored)
    assert _keys(states) == [(2, "Unavailable", _iso(realtime.states[2][1]))]
    assert cursor is not None and cursor.startswith(stored + "/")


def test_each_pages_new_rows_are_handed_over_before_the_next_page_is_read(
    cx: CxoneClient, cx_transport: FakeTransport
) -> None:
    realtime = Realtime()
    cursor = _baseline(cx, cx_transport, realtime, 250)
    for agent in range(1, 251):
        realtime.change(agent, "Available")
    realtime.pages_served = 0
    handed: list[list[AgentState]] = []
    handed_while_serving: dict[int, int] = {}

    def note(page: int) -> Callable[[Realtime], None]:
        return lambda rt: handed_while_serving.update({page: len(handed)})

    realtime.between_pages[2], realtime.between_pages[3] = note(2), note(3)

    states, _ = cx.agent_state_changes(cursor, on_page=handed.append)

    assert handed_while_serving == {2: 1, 3: 2}  # page 1 was handed over before page 2 was read, and so on
    assert [len(page) for page in handed] == [100, 99, 51]  # the next page starts at the newest time read
    assert [s for page in handed for s in page] == states


def test_a_sweep_over_a_burst_reads_two_pages_a_poll_and_still_finds_a_late_change(
    cx_env: dict[str, str], cx_transport: FakeTransport, policy: RetryPolicy
) -> None:
    realtime = Realtime()
    cx = _client_on(realtime, cx_env, cx_transport, policy)
    cursor = _baseline(cx, cx_transport, realtime, 600, settle_ms=2000)
    for agent in range(1, 501):  # a burst: five pages
        realtime.change(agent, "Available")
    _, cursor = cx.agent_states(cursor)
    realtime.change_seen_late(550, "Available", before=3)  # stamped among the burst's last rows

    pages_per_poll, seen = [], []
    for _ in range(6):
        realtime.advance(1000)
        realtime.pages_served = 0
        states, cursor = cx.agent_states(cursor)
        pages_per_poll.append(realtime.pages_served)
        seen.extend(_keys(states))

    assert max(pages_per_poll) <= 3, pages_per_poll  # one for the changes (204 here), two for the sweep
    assert seen == [(550, "Available", _iso(realtime.states[550][1]))]

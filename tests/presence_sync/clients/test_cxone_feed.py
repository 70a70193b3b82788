"""``CxoneClient.agent_states`` as a feed: no change is lost or repeated when agents change while it pages.

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
    """Agents' current states; every change and every poll takes the next millisecond."""

    now: int = 0
    states: dict[int, tuple[str, int]] = dataclasses.field(default_factory=dict)
    pages_served: int = 0
    between_pages: dict[int, Callable[[Realtime], None]] = dataclasses.field(default_factory=dict)

    def tick(self) -> int:
        self.now += 1
        return self.now

    def change(self, agent_id: int, state: str) -> None:
        self.states[agent_id] = (state, self.tick())

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
    for agent in range(1, 301):
        realtime.change(agent, "LoggedOut")
    _feed(cx, cx_transport, realtime)
    _, cursor = cx.agent_states()  # the baseline read: every agent
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

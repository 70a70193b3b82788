"""``CxoneClient``: the tenant as the runtime and the tools use it -- agents, teams, unavailable codes (the names
rules and mappings refer to), the real-time feed and agent sessions -- on the shared ``CxoneSession`` (tokens,
discovery, retries, error mapping, redaction, request counting, the read cache). Each resource kind's calls
live in its proxy (``cxone_account_mapping.py``, ``presence_rule.py``).

The real-time feed (``agent_states``) pages with a moving ``updatedSince`` rather than a growing ``skip``, so
an agent that changes while the pages are read cannot push an unread row into an already-read page; a poll
reads from the last poll time, and the window in which a change may become visible late is swept once a second
(see the method for the cursor). The models are in ``cxone_models.py``. Agent state writes are POSTs:
repeated only after an error proving CXone did not process them, otherwise ``OutcomeUnknown``
(``agent_state`` then tells what the state is).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from presence_sync.clients.cxone_models import (
    Agent,
    AgentState,
    Team,
    TeamUnavailableCode,
    UnavailableCode,
    format_since,
    parse_cxone_time,
)
from presence_sync.clients.cxone_session import PAGE_SIZE, CxoneSession
from presence_sync.clients.errors import InvalidRequest, PermanentVendorError
from presence_sync.clients.settings import CxoneSettings

__all__ = [
    "PAGE_SIZE",
    "Agent",
    "AgentState",
    "CxoneClient",
    "Team",
    "TeamUnavailableCode",
    "UnavailableCode",
]

T = TypeVar("T")
log = logging.getLogger(__name__)
FEED_OVERLAP = 1.0  # seconds after its lastUpdateTime within which a change may become visible, see agent_states
FEED_SWEEP_EVERY = 1.0  # seconds of vendor time between two re-reads of the settled window, see agent_states
_FEED_MAX_PAGES = 10_000  # a vendor that never ends a list (ignores skip) must not hang a poll
_SWEEP_PAGES = 2  # pages a sweep reads per poll, see late_agent_states
_SWEEP_LAG = timedelta(seconds=10)  # a sweep this far behind reads all it has to
_FEED_MEMORY = 4  # cursors whose already-returned rows are remembered for de-duplication


class CxoneClient(CxoneSession):
    """The tenant as the runtime and the tools use it: agents, teams and unavailable codes, the real-time
    feed, agent sessions. See the module docstring."""

    def __init__(
        self,
        settings: CxoneSettings,
        *,
        feed_overlap: float = FEED_OVERLAP,
        feed_sweep_every: float = FEED_SWEEP_EVERY,
        **session_options: Any,
    ) -> None:
        """``session_options``: the session's (retry, transport, timeout, clock, partner)."""
        super().__init__(settings, **session_options)
        self.feed_overlap = timedelta(seconds=feed_overlap)
        self.feed_sweep_every = timedelta(seconds=feed_sweep_every)
        self.feed_pages = 0  # agents/states requests made by the feed reads (a figure for logs and benchmarks)
        # agent_states de-duplication: cursor handed out -> (agentId, lastUpdateTime) already returned after its
        # settled point (what a sweep from that cursor reads again).
        self._feed_lock = threading.Lock()
        # Also when the read that issued it was made (the session's clock): after only 204s, how far the vendor's
        # time has moved past the head.
        self._feed_returned: dict[str, tuple[frozenset[tuple[int, str]], float]] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> CxoneClient:
        return cls(CxoneSettings.from_env(environ), **kwargs)

    def __repr__(self) -> str:
        return f"CxoneClient(auth_url={self.settings.auth_url!r}, api_version={self.settings.api_version!r})"

    # ------------------------------------------------------------------------------------------
    # Admin API

    def list_agents(self, *, active_only: bool = False) -> list[Agent]:
        params = {"isActive": "true"} if active_only else None
        return [Agent.model_validate(a) for a in self.paginate("agents", "agents", "list_agents", params)]

    def list_teams(self) -> list[Team]:
        return [Team.model_validate(t) for t in self.paginate("teams", "teams", "list_teams")]

    def list_unavailable_codes(self) -> list[UnavailableCode]:
        rows = self.paginate("unavailable-codes", "unavailableCodes", "list_unavailable_codes")
        return [UnavailableCode.model_validate(c) for c in rows]

    def list_team_unavailable_codes(self, team_id: int) -> list[TeamUnavailableCode]:
        body = self.request(
            "GET",
            self.api_url(f"teams/{int(team_id)}/unavailable-codes"),
            "list_team_unavailable_codes",
            f"team {team_id}",
        )
        return [TeamUnavailableCode.model_validate(c) for c in (body or {}).get("unavailableCodes") or []]

    # ------------------------------------------------------------------------------------------
    # Real-time data and Agent API

    def agent_states(self, updated_since: str | datetime | None = None) -> tuple[list[AgentState], str | None]:
        """Agent states changed since ``updated_since`` (None: all), and the cursor to pass next: the changes
        (``agent_state_changes``) then, when due, the late rows (``late_agent_states``).

        Every change made after the cursor was issued comes back, exactly once, however the agents change
        while the pages are read:

        * Pages are read oldest change first (``orderBy=lastUpdateTime``) with a moving ``updatedSince``:
          the next page starts just before the newest ``lastUpdateTime`` read so far (a millisecond before,
          for rows sharing that time), always at ``skip=0``. With a growing ``skip`` an agent that changes
          between two reads moves to the end of the list and the row behind it slides into the page already
          read -- never returned, and older than the cursor, so not by the next poll either.
        * The cursor is ``<settled>/<head>``: a poll reads from ``head`` (the last page's ``lastPollTime``),
          so it reads only what is new. A change stamped before a poll time but visible only after it (within
          ``feed_overlap``, default 1 s) is found by re-reading the window once it has settled: every
          ``feed_sweep_every`` of vendor time, ``(settled, head - feed_overlap]`` is read once and
          ``settled`` moves to its end -- each row is read about twice in all, not once per poll.
        * Rows are de-duplicated by (agentId, lastUpdateTime): within a poll, and against what this client
          returned since ``settled``. A full read (None, "0") or a cursor this client did not issue returns
          everything it reads (after a restart the sweep can repeat a row once: same agent, same
          ``lastUpdateTime``). A plain time (a cursor from before ``<settled>/<head>``) is both.
        * If the vendor does not order by ``lastUpdateTime`` (a page out of order), the rest is read by
          ``skip`` and the head is the first page's ``lastPollTime`` (logged).

        204 (nothing changed) returns no states and keeps the cursor.
        """
        states, cursor = self.agent_state_changes(updated_since)
        late, cursor = self.late_agent_states(cursor)
        return [*states, *late], cursor

    def agent_state_changes(
        self, updated_since: str | datetime | None = None, on_page: Callable[[list[AgentState]], Any] | None = None
    ) -> tuple[list[AgentState], str]:
        """What changed after the cursor's head (see ``agent_states``); the cursor's settled part is kept.
        ``on_page`` gets each page's new rows as soon as it is read (the answer holds them all too)."""
        text = format_since(updated_since)
        settled, head = _split_cursor(text)
        already, read_at = self._recall(text)
        read = self._read_states(head, already, on_page=on_page)
        if read.poll_time is None:  # 204, or no poll time: nothing moves
            return read.states, self._remember(text, already | read.returned, None, read_at)
        settled_at = parse_cxone_time(settled)
        since = None  # the settled point stays: what is remembered stays after it
        if settled_at is None:  # a full read: everything up to the overlap before its poll time has settled
            settled_at = since = read.poll_time - self.feed_overlap
        cursor = f"{format_since(settled_at)}/{format_since(read.poll_time)}"
        return read.states, self._remember(cursor, already | read.returned, since, self._clock())

    def late_agent_states(self, cursor: str) -> tuple[list[AgentState], str]:
        """When the settled point is ``feed_overlap`` + ``feed_sweep_every`` behind the vendor's time: the rows of
        ``(settled, until]`` this client has not returned (changes made visible late), read once; the cursor's
        settled point moves to ``until``. ``until`` is ``feed_overlap`` before the vendor's time now (its head,
        plus the time since the read that brought it, when polls since answered 204), and never after the
        head. Otherwise nothing is read. A sweep reads at most ``_SWEEP_PAGES`` pages per poll (the settled point
        moves as far as they reach), so re-reading a burst does not hold up the next polls; one lagging more than
        ``_SWEEP_LAG`` reads all it has to."""
        settled, head = _split_cursor(cursor)
        settled_at, head_at = parse_cxone_time(settled), parse_cxone_time(head)
        already, read_at = self._recall(cursor)
        if settled_at is None or head_at is None:
            return [], cursor
        vendor_now = head_at + timedelta(seconds=max(0.0, self._clock() - read_at))
        until = min(head_at, vendor_now - self.feed_overlap)
        if until <= settled_at or vendor_now - self.feed_overlap - settled_at < self.feed_sweep_every:
            return [], cursor
        lagging = until - settled_at > _SWEEP_LAG
        read = self._read_states(settled, already, until=until, pages=_FEED_MAX_PAGES if lagging else _SWEEP_PAGES)
        reached = read.covered or until
        swept = f"{format_since(reached)}/{head}"
        return read.states, self._remember(swept, already | read.returned, reached, read_at)

    def _read_states(
        self,
        since: str,
        already: set[tuple[int, str]],
        until: datetime | None = None,
        on_page: Callable[[list[AgentState]], Any] | None = None,
        pages: int = _FEED_MAX_PAGES,
    ) -> _Read:
        """Pages of ``agents/states`` after ``since`` (see ``agent_states``), up to a page past ``until``; after
        ``pages`` pages, ``covered`` is the time up to which every row was read."""
        read = _Read()
        poll_times: list[str] = []
        query_since, skip, ordered = since, 0, True
        for number in range(1, _FEED_MAX_PAGES + 1):
            page = self.request(
                "GET",
                self.api_url("agents/states"),
                "agent_states",
                "agents/states",
                params={"updatedSince": query_since, "orderBy": "lastUpdateTime", "skip": skip, "top": PAGE_SIZE},
            )
            self.feed_pages += 1
            if page is None:
                break
            if page.get("lastPollTime"):
                poll_times.append(str(page["lastPollTime"]))
            rows = [AgentState.model_validate(s) for s in page.get("agentStates") or []]
            new = _keep_new(rows, already, read.returned, read.states)
            if on_page is not None and new:
                on_page(new)
            total = page.get("totalRecords")
            if not rows or len(rows) < PAGE_SIZE or (isinstance(total, int) and skip + len(rows) >= total):
                break
            times = [parse_cxone_time(row.last_update_time) for row in rows]
            ordered = ordered and _in_order(times)
            newest = times[-1]
            if ordered and until is not None and newest is not None and newest > until:
                break  # the rest is newer than the window: the changes' reads returned it
            step = format_since(newest - timedelta(milliseconds=1)) if ordered and newest is not None else "0"
            floor = parse_cxone_time(step)
            if floor is not None and times[0] is not None and times[0] <= floor:
                query_since, skip = step, 0  # the next page starts at the newest time read: it moves on
                if number >= pages:
                    read.covered = floor
                    break
            else:  # out of order, or a whole page of rows sharing one millisecond: step over them
                skip += len(rows)
        else:
            log.warning("cxone: agents/states did not end after %d pages; keeping the cursor", _FEED_MAX_PAGES)
            read.poll_time = None
            return read
        read.poll_time = parse_cxone_time(poll_times[-1 if ordered else 0]) if poll_times else None
        return read

    def _recall(self, cursor: str) -> tuple[set[tuple[int, str]], float]:
        """What ``_remember`` kept for a cursor this client issued; for another (a restart), nothing, read now."""
        with self._feed_lock:
            keys, read_at = self._feed_returned.get(cursor, (frozenset(), self._clock()))
        return set(keys), read_at

    def _remember(self, cursor: str, keys: set[tuple[int, str]], since: datetime | None, read_at: float) -> str:
        """Keep, for ``cursor``, the rows returned after its settled point (``since``): the ones a sweep from it
        reads again; and when its head was read. Returns ``cursor``."""
        if since is not None:
            keys = {k for k in keys if (t := parse_cxone_time(k[1])) is not None and t > since}
        with self._feed_lock:
            self._feed_returned.pop(cursor, None)
            self._feed_returned[cursor] = (frozenset(keys), read_at)
            while len(self._feed_returned) > _FEED_MEMORY:
                self._feed_returned.pop(next(iter(self._feed_returned)))
        return cursor

    def agent_state(self, agent_id: int, *, updated_since: str | datetime | None = None) -> AgentState | None:
        """One agent's current state (``GET agents/{agentId}/states``): one cheap call, e.g. to learn whether a
        state write whose outcome was unknown (``OutcomeUnknown``) landed before writing again.

        With ``updated_since``: None when the state has not changed since then (204). Raises ``NotFound`` for
        an unknown agent. The answer's ``lastPollTime`` is in ``AgentState.last_poll_time``.
        """
        params = {"updatedSince": format_since(updated_since)} if updated_since is not None else None
        body = self.request(
            "GET", self.api_url(f"agents/{int(agent_id)}/states"), "agent_state", f"agent {agent_id}", params=params
        )
        rows = (body or {}).get("agentStates") or []
        return AgentState.model_validate(rows[0]) if rows else None

    def join_agent_session(self, agent_id: int) -> str:
        """Join the agent's running session (``POST /agent-sessions/join?asAgentId=``); returns its id."""
        body = self.request(
            "POST",
            self.api_url("agent-sessions/join"),
            "join_agent_session",
            f"agent {agent_id}",
            params={"asAgentId": int(agent_id)},
            idempotent=True,  # joining twice joins the same running session; nothing about the agent changes
        )
        session_id = (body or {}).get("sessionId")
        if not session_id:
            raise PermanentVendorError(
                "the answer carried no sessionId",
                vendor="cxone",
                operation="join_agent_session",
                object=f"agent {agent_id}",
            )
        return str(session_id)

    def set_agent_state(self, session_id: str, state: str, reason: str | None = None) -> None:
        """Set Available, or Unavailable with an unavailable code's *name* as ``reason``.

        Not idempotent: repeated after a lost answer it could overwrite a change the agent made meanwhile. It is
        retried only after errors proving CXone did not process it; otherwise ``OutcomeUnknown`` is raised, and
        the caller reads ``agent_state(agent_id)`` before deciding to write again.
        """
        if state not in ("Available", "Unavailable"):
            raise InvalidRequest(
                f"state must be Available or Unavailable, got {state!r}",
                vendor="cxone",
                operation="set_agent_state",
                object=f"agent session {session_id}",
                field="state",
                hint="Other agent states are controlled by the platform.",
            )
        body: dict[str, Any] = {"state": state}
        if reason:
            body["reason"] = reason
        self.request(
            "POST",
            self.api_url(f"agent-sessions/{session_id}/state"),
            "set_agent_state",
            f"agent session {session_id}",
            body=body,
        )


class _Read:
    """One read of ``agents/states``: the new rows, their keys, and the poll time the read reached."""

    def __init__(self) -> None:
        self.states: list[AgentState] = []
        self.returned: set[tuple[int, str]] = set()
        self.poll_time: datetime | None = None
        self.covered: datetime | None = None  # a read stopped at its page limit: every row up to here was read


def _split_cursor(cursor: str) -> tuple[str, str]:
    """``<settled>/<head>`` -> (settled, head); a plain time (or "0") is both."""
    settled, _, head = cursor.partition("/")
    return settled, head or settled


def _keep_new(
    rows: list[AgentState], already: set[tuple[int, str]], returned: set[tuple[int, str]], states: list[AgentState]
) -> list[AgentState]:
    """Append the rows not returned before, by (agentId, lastUpdateTime), to ``states``; returns them."""
    new = []
    for row in rows:
        key = (row.agent_id, row.last_update_time or "")
        if row.last_update_time is not None and (key in already or key in returned):
            continue
        returned.add(key)
        new.append(row)
    states.extend(new)
    return new


def _in_order(times: list[datetime | None]) -> bool:
    """Whether a page is ordered by lastUpdateTime, as asked; when not, the rest is read by skip (logged)."""
    if None not in times and times == sorted(times):  # type: ignore[type-var]
        return True
    log.warning(
        "cxone: agents/states is not ordered by lastUpdateTime; paging by skip "
        "(a row may be missed while agents change)"
    )
    return False

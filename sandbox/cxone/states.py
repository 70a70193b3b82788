"""The agent state machine, shared by the Agent API (``agent-sessions``), the emulator's softphone
(``/__sandbox/agent/...``) and the real-time API (``agents/states``).

Vendor facts (Studio "SET AGENT STATE", help.nicecxone.com/content/Studio/actionscx/setagentstate/
setagentstate.htm; docs/vendor-apis.md §7e, §7f):
* an agent can only be *set* to Available or Unavailable (+ an unavailable code as the reason); the other
  states (contacts, logged in/out) are the platform's;
* a new session starts Unavailable with no reason code;
* reason codes come from the agent's team (``GET /teams/{teamId}/unavailable-codes``);
* ACW codes can be the reason only while the agent handles a contact, "otherwise the API will return a
  409 error".

Emulator model (GUESSES): a state requested through the API while the agent is on a contact becomes the
agent's *next* state, applied when the contact ends (as MAX does for "Unavailable after this call");
without one, the agent returns to the state held before the contact. Setting the state the agent is
already in changes nothing (no new ``lastUpdateTime``). ``agentStateId`` numbers are our own.

Every visible change writes one ``state_history`` row naming its source (``agent`` = the softphone,
``api`` = an agent session, ``system``) and actor, so tests can tell who caused what.
"""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
from typing import Any

from sandbox.cxone.store import Store, format_ms
from sandbox.cxone.web import ApiError

__all__ = [
    "CONTACT_STATES",
    "SETTABLE_STATES",
    "STATE_IDS",
    "STATE_NAMES",
    "Actor",
    "agent_for_update",
    "api_set_state",
    "end_contact",
    "history",
    "login",
    "logout",
    "open_session",
    "resolve_code",
    "softphone_set_state",
    "start_contact",
]

CONTACT_STATES = ("InboundContact", "OutboundContact", "InboundConsult", "OutboundConsult", "Dialer")
SETTABLE_STATES = ("Available", "Unavailable")
STATE_NAMES = ("LoggedOut", "Available", "Unavailable", *CONTACT_STATES, "LoggedIn")
STATE_IDS = {name: number for number, name in enumerate(STATE_NAMES)}  # GUESS: CXone's ids are not published


@dataclasses.dataclass(frozen=True)
class Actor:
    source: str  # "agent" | "api" | "system"
    name: str  # e.g. "agent:100001" (the softphone's agent or a token's agent), "client:<client_id>"


def agent_for_update(conn: sqlite3.Connection, agent_id: int) -> dict[str, Any]:
    """The agent joined with its current state, as a mutable dict; 404 when the agent does not exist."""
    row = conn.execute(
        "SELECT s.*, a.team_id, a.is_active, t.name AS team_name FROM agent_states s "
        "JOIN agents a ON a.agent_id = s.agent_id JOIN teams t ON t.team_id = a.team_id "
        "WHERE s.agent_id = ?",
        (agent_id,),
    ).fetchone()
    if row is None:
        raise ApiError.not_found(f"agent {agent_id} does not exist")
    return dict(row)


def open_session(conn: sqlite3.Connection, agent_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM sessions WHERE agent_id = ? AND ended_at IS NULL", (agent_id,)).fetchone()


def resolve_code(
    conn: sqlite3.Connection,
    agent: dict[str, Any],
    *,
    name: str | None = None,
    code_id: int | None = None,
    field: str = "reason",
) -> sqlite3.Row:
    """The unavailable code an agent may use, by exact name or id; 400 when unknown, inactive or not
    assigned to the agent's team."""
    if name is not None:
        row = conn.execute("SELECT * FROM unavailable_codes WHERE name = ? COLLATE BINARY", (name,)).fetchone()
        label = repr(name)
    else:
        row = conn.execute("SELECT * FROM unavailable_codes WHERE code_id = ?", (code_id,)).fetchone()
        label = str(code_id)
    if row is None:
        raise ApiError.bad(f"{field}: unavailable code {label} does not exist")
    if not row["is_active"]:
        raise ApiError.bad(f"{field}: unavailable code {label} is inactive")
    assigned = conn.execute(
        "SELECT 1 FROM team_codes WHERE team_id = ? AND code_id = ?", (agent["team_id"], row["code_id"])
    ).fetchone()
    if assigned is None:
        raise ApiError.bad(
            f"{field}: unavailable code {label} is not assigned to team {agent['team_id']} "
            f"({agent['team_name']}) of agent {agent['agent_id']}"
        )
    return row


def _save(conn: sqlite3.Connection, store: Store, agent: dict[str, Any], actor: Actor) -> int:
    """Write the agent's new current state and its history row; returns the change's timestamp."""
    now = store.tick()
    agent.update(start_date=now, last_update=now)
    conn.execute(
        "UPDATE agent_states SET state = :state, out_state_id = :out_state_id, session_id = :session_id, "
        "contact_id = :contact_id, is_outbound = :is_outbound, start_date = :start_date, "
        "last_update = :last_update, resume_state = :resume_state, resume_code = :resume_code, "
        "pending_state = :pending_state, pending_code = :pending_code WHERE agent_id = :agent_id",
        agent,
    )
    conn.execute(
        "INSERT INTO state_history (agent_id, state, out_state_id, changed_at, source, actor, session_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (agent["agent_id"], agent["state"], agent["out_state_id"], now, actor.source, actor.name, agent["session_id"]),
    )
    return now


def _leave_contact(agent: dict[str, Any]) -> None:
    agent.update(
        contact_id=None, is_outbound=0, resume_state=None, resume_code=None, pending_state=None, pending_code=None
    )


def login(
    conn: sqlite3.Connection, store: Store, agent_id: int, station_phone: str | None, actor: Actor
) -> tuple[str, bool]:
    """Start the agent's session (Unavailable, no code); returns (session id, newly started)."""
    agent = agent_for_update(conn, agent_id)
    if not agent["is_active"]:
        raise ApiError.bad(f"agent {agent_id} is inactive and cannot log in")
    existing = open_session(conn, agent_id)
    if existing is not None:
        return existing["session_id"], False
    session_id = secrets.token_hex(16)
    now = store.now_ms()
    conn.execute(
        "INSERT INTO sessions (session_id, agent_id, station_phone, started_at) VALUES (?, ?, ?, ?)",
        (session_id, agent_id, station_phone, now),
    )
    conn.execute("UPDATE agents SET last_login = ? WHERE agent_id = ?", (now, agent_id))
    _leave_contact(agent)
    agent.update(state="Unavailable", out_state_id=None, session_id=session_id)
    _save(conn, store, agent, actor)
    return session_id, True


def logout(conn: sqlite3.Connection, store: Store, agent_id: int, actor: Actor, *, force: bool) -> bool:
    """End the agent's session (LoggedOut); False when there was none. On a contact, only with ``force``."""
    agent = agent_for_update(conn, agent_id)
    session = open_session(conn, agent_id)
    if session is None:
        return False
    if agent["state"] in CONTACT_STATES and not force:
        raise ApiError.conflict(f"agent {agent_id} is handling a contact; end it first or force the logoff")
    conn.execute("UPDATE sessions SET ended_at = ? WHERE session_id = ?", (store.now_ms(), session["session_id"]))
    _leave_contact(agent)
    agent.update(state="LoggedOut", out_state_id=None, session_id=None)
    _save(conn, store, agent, actor)
    return True


def _target(
    conn: sqlite3.Connection, agent: dict[str, Any], state: str, reason: str | None, code_id: int | None
) -> tuple[str, sqlite3.Row | None]:
    if state == "Available":
        return state, None
    if reason is None and code_id is None:
        return state, None
    return state, resolve_code(
        conn, agent, name=reason, code_id=code_id, field="reason" if reason is not None else "outStateId"
    )


def api_set_state(
    conn: sqlite3.Connection, store: Store, agent_id: int, state: str, reason: str | None, actor: Actor
) -> str:
    """``POST /agent-sessions/{id}/state``: returns "changed", "unchanged" or "pending" (on a contact)."""
    agent = agent_for_update(conn, agent_id)
    state, code = _target(conn, agent, state, reason, None)
    on_contact = agent["state"] in CONTACT_STATES
    if code is not None and code["is_acw"] and not on_contact:
        raise ApiError.conflict(
            f"reason: {code['name']!r} is an ACW code; it can only be set while the agent is handling a contact"
        )
    code_id = None if code is None else code["code_id"]
    if on_contact:
        conn.execute(
            "UPDATE agent_states SET pending_state = ?, pending_code = ? WHERE agent_id = ?", (state, code_id, agent_id)
        )
        return "pending"
    if (agent["state"], agent["out_state_id"]) == (state, code_id):
        return "unchanged"
    agent.update(state=state, out_state_id=code_id)
    _save(conn, store, agent, actor)
    return "changed"


def softphone_set_state(
    conn: sqlite3.Connection,
    store: Store,
    agent_id: int,
    state: str,
    reason: str | None,
    code_id: int | None,
    actor: Actor,
) -> str:
    """The agent picks Available/Unavailable(+code) in their softphone; doing so ends a contact."""
    agent = agent_for_update(conn, agent_id)
    if agent["session_id"] is None:
        raise ApiError.conflict(f"agent {agent_id} is not logged in; log in first")
    state, code = _target(conn, agent, state, reason, code_id)
    on_contact = agent["state"] in CONTACT_STATES
    if code is not None and code["is_acw"] and not on_contact:
        raise ApiError.conflict(f"{code['name']!r} is an ACW code; it can only be used while handling a contact")
    new_code = None if code is None else code["code_id"]
    if not on_contact and (agent["state"], agent["out_state_id"]) == (state, new_code):
        return "unchanged"
    _leave_contact(agent)
    agent.update(state=state, out_state_id=new_code)
    _save(conn, store, agent, actor)
    return "changed"


def start_contact(conn: sqlite3.Connection, store: Store, agent_id: int, state: str, actor: Actor) -> int:
    """The platform routes a contact to the agent (or the agent dials out); returns the contact id."""
    agent = agent_for_update(conn, agent_id)
    if agent["session_id"] is None:
        raise ApiError.conflict(f"agent {agent_id} is not logged in; log in first")
    if agent["state"] not in CONTACT_STATES:
        agent.update(
            resume_state=agent["state"],
            resume_code=agent["out_state_id"],
            contact_id=1_000_000_000 + secrets.randbelow(9_000_000_000),
        )
    agent.update(state=state, out_state_id=None, is_outbound=int(state.startswith("Outbound")))
    _save(conn, store, agent, actor)
    return int(agent["contact_id"])


def end_contact(conn: sqlite3.Connection, store: Store, agent_id: int, actor: Actor) -> None:
    """The contact ends: the agent moves to the state requested during it, else back to the one before."""
    agent = agent_for_update(conn, agent_id)
    if agent["state"] not in CONTACT_STATES:
        raise ApiError.conflict(f"agent {agent_id} is not handling a contact")
    if agent["pending_state"] is not None:
        state, code_id = agent["pending_state"], agent["pending_code"]
    else:
        state, code_id = agent["resume_state"] or "Unavailable", agent["resume_code"]
    _leave_contact(agent)
    agent.update(state=state, out_state_id=code_id)
    _save(conn, store, agent, actor)


def history(conn: sqlite3.Connection, agent_id: int, after_id: int = 0) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT h.*, c.name AS code_name FROM state_history h "
        "LEFT JOIN unavailable_codes c ON c.code_id = h.out_state_id "
        "WHERE h.agent_id = ? AND h.id > ? ORDER BY h.id",
        (agent_id, after_id),
    ).fetchall()
    return [
        {
            "id": r["id"],
            "agentId": r["agent_id"],
            "agentStateName": r["state"],
            "outStateId": r["out_state_id"] or 0,
            "outStateDescription": r["code_name"] or "",
            "lastUpdateTime": format_ms(r["changed_at"]),
            "source": r["source"],
            "actor": r["actor"],
            "sessionId": r["session_id"],
        }
        for r in rows
    ]

"""Real-time data API: the current state of every agent, polled with ``updatedSince``.

Shape: calljacob/nice-cxone-api src/services/realtime/RealtimedataRealtimeService.ts (``GET /agents/states``
and ``GET /agents/{agentId}/states``); docs/vendor-apis.md §7e. The endpoint returns each agent's
*current* state ("Returns the current state for all Agents"), not a history: an agent that changed
twice between two polls appears once, with its latest state.

Query parameters per the vendor's OpenAPI (updatedSince, reqBUIds, top, skip, fields, orderBy); the list
pages with ``skip``/``top`` and answers ``totalRecords``, ``_links`` and ``lastPollTime``. Each page is its
own query: an agent that changes between two page reads moves in the order, which is what a reader paging
by ``skip`` has to survive (``CxoneClient.agent_states`` pages by a moving ``updatedSince`` instead).

Cursor semantics (exact in the sandbox, see store.py): rows have ``lastUpdateTime > updatedSince``;
``lastPollTime`` is later than every row returned and earlier than any later change.
GUESS (no public source says): the default order is ``lastUpdateTime`` then ``agentId``; ``orderBy`` takes
``lastUpdateTime`` or ``agentId`` with an optional ``asc``/``desc`` (others are ignored, as ``fields`` is);
when ``updatedSince`` is given and nothing changed, the answer is ``204 No Content`` (no body, so the client
keeps its cursor); clients should also accept 200 with an empty ``agentStates``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.admin import path_int
from sandbox.cxone.auth import Principal, api
from sandbox.cxone.states import CONTACT_STATES, STATE_IDS
from sandbox.cxone.store import format_ms
from sandbox.cxone.web import ApiError, Ctx, Query, json_response, list_links, no_content

__all__ = ["ROUTES"]

_SELECT = (
    "SELECT s.*, a.first_name, a.last_name, a.user_name, a.is_active, a.team_id, t.name AS team_name, "
    "c.name AS code_name, c.is_acw, se.started_at AS session_started, se.station_phone "
    "FROM agent_states s JOIN agents a ON a.agent_id = s.agent_id JOIN teams t ON t.team_id = a.team_id "
    "LEFT JOIN unavailable_codes c ON c.code_id = s.out_state_id "
    "LEFT JOIN sessions se ON se.session_id = s.session_id"
)


def _state_json(row: sqlite3.Row, business_unit_id: int) -> dict[str, Any]:
    on_contact = row["state"] in CONTACT_STATES
    return {
        "agentId": row["agent_id"],
        "agentStateId": STATE_IDS[row["state"]],
        "agentStateName": row["state"],
        "businessUnitId": business_unit_id,
        "contactId": row["contact_id"] or 0,
        "isActive": bool(row["is_active"]),
        "isACW": bool(row["is_acw"]),
        "isOutbound": bool(row["is_outbound"]),
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "userName": row["user_name"],
        "fromAddress": "",
        "toAddress": "",
        "lastUpdateTime": format_ms(row["last_update"]),
        "mediaTypeId": 4 if on_contact else None,  # 4 = "Phone Call": Presence Sync is voice-only
        "mediaTypeName": "Phone Call" if on_contact else None,
        "openContacts": 1 if on_contact else 0,
        "outStateDescription": row["code_name"] or "",
        "outStateId": row["out_state_id"] or 0,
        "sessionStartTime": format_ms(row["session_started"]),
        "skillId": None,
        "skillName": None,
        "startDate": format_ms(row["start_date"]),
        "stationId": None,
        "stationPhoneNumber": row["station_phone"] or "",
        "teamId": row["team_id"],
        "teamName": row["team_name"],
    }


_ORDER_COLUMNS = {"lastupdatetime": "s.last_update", "agentid": "s.agent_id"}


def _order_by(raw: str | None) -> str:
    """SQL ORDER BY for ``orderBy`` (GUESS: ``<field> [asc|desc]``, lastUpdateTime or agentId; else the default)."""
    words = (raw or "").replace(",", " ").split()
    column = _ORDER_COLUMNS.get(words[0].lower()) if words else None
    if column is None:
        return "s.last_update, s.agent_id"
    direction = "DESC" if len(words) > 1 and words[1].lower() == "desc" else "ASC"
    return f"{column} {direction}, s.agent_id {direction}"


@api("realtime.agents.states")
async def agent_states(request: Request, ctx: Ctx, _: Principal) -> Response:
    query = Query(request)
    skip, top = query.page()
    since = query.since("updatedSince")
    order = _order_by(query.get("orderBy"))
    where, args = ("WHERE s.last_update > ?", [since]) if since is not None else ("", [])
    with ctx.store.read() as conn:
        poll_time = ctx.store.tick()
        total = conn.execute(f"SELECT COUNT(*) FROM agent_states s {where}", args).fetchone()[0]
        rows = conn.execute(f"{_SELECT} {where} ORDER BY {order} LIMIT ? OFFSET ?", [*args, top, skip]).fetchall()
    if total == 0 and since is not None:
        return no_content()
    return json_response(
        {
            "totalRecords": total,
            "_links": list_links(ctx, request, skip, top, total),
            "lastPollTime": format_ms(poll_time),
            "agentStates": [_state_json(r, ctx.business_unit_id) for r in rows],
        }
    )


@api("realtime.agent.states")
async def one_agent_states(request: Request, ctx: Ctx, _: Principal) -> Response:
    agent_id = path_int(request, "agentId", "agent")
    since = Query(request).since("updatedSince")
    with ctx.store.read() as conn:
        poll_time = ctx.store.tick()
        row = conn.execute(f"{_SELECT} WHERE s.agent_id = ?", (agent_id,)).fetchone()
    if row is None:
        raise ApiError.not_found(f"agent {agent_id} does not exist")
    if since is not None and row["last_update"] <= since:
        return no_content()
    return json_response(
        {"agentStates": [{**_state_json(row, ctx.business_unit_id), "lastPollTime": format_ms(poll_time)}]}
    )


ROUTES = [
    Route("/agents/states", agent_states, methods=["GET"]),
    Route("/agents/{agentId}/states", one_agent_states, methods=["GET"]),
]

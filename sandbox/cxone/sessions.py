"""Agent API: agent sessions -- start, join, set the agent's state, end.

Paths and parameters: calljacob/nice-cxone-api src/services/agent/SessionsService.ts; NICE's agent SDK
(nice-devone/nice-cxone-agent-sdk, ``SET_AGENT_STATE_URI``) sends the state as a JSON body
``{"state": "Unavailable", "reason": "Break"}`` where the OpenAPI has query parameters, so both are
accepted (a body value wins). ``reason`` is the unavailable code's *name*. See states.py for the rules.

GUESSES: state changes and session ends answer ``202 Accepted`` (the Agent API acts asynchronously;
inContact's FAQ: "A 202 return code means that an asynchronous action request completed successfully");
join answers 202 ``{"sessionId"}`` with the agent's existing session id; an unknown or ended session is
404; joining an agent without a session is 409; the state name is matched case-insensitively.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.auth import Principal, api
from sandbox.cxone.states import SETTABLE_STATES, Actor, agent_for_update, api_set_state, login, logout, open_session
from sandbox.cxone.web import ApiError, Ctx, Query, json_body, json_response

__all__ = ["ROUTES"]


def _session(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM sessions WHERE session_id = ? AND ended_at IS NULL", (session_id,)).fetchone()
    if row is None:
        raise ApiError.not_found(f"agent session {session_id} does not exist or has ended")
    return row


def _agent_param(query: Query, principal: Principal) -> int:
    agent_id = query.integer("asAgentId", minimum=1)
    if agent_id is None:
        if principal.agent_id is None:
            raise ApiError.bad("asAgentId is required: this token does not belong to an agent")
        agent_id = principal.agent_id
    return agent_id


@api("agent.sessions.start", write=True)
async def start_session(request: Request, ctx: Ctx, principal: Principal) -> Response:
    query = Query(request)
    station_id, phone = query.get("stationId"), query.get("stationPhoneNumber")
    if not station_id and not phone:
        raise ApiError.bad("stationId or stationPhoneNumber is required")
    agent_id = _agent_param(query, principal)
    with ctx.store.write() as conn:
        agent_for_update(conn, agent_id)
        if open_session(conn, agent_id) is not None:
            raise ApiError.conflict(f"agent {agent_id} already has a session; join it instead")
        session_id, _ = login(conn, ctx.store, agent_id, phone or station_id, Actor("api", principal.actor))
    return json_response({"sessionId": session_id}, 202)


@api("agent.sessions.join", write=True)
async def join_session(request: Request, ctx: Ctx, principal: Principal) -> Response:
    agent_id = _agent_param(Query(request), principal)
    with ctx.store.read() as conn:
        agent_for_update(conn, agent_id)
        session = open_session(conn, agent_id)
    if session is None:
        raise ApiError.conflict(f"agent {agent_id} has no active session to join; the agent must log in first")
    return json_response({"sessionId": session["session_id"]}, 202)


@api("agent.sessions.state", write=True)
async def set_state(request: Request, ctx: Ctx, principal: Principal) -> Response:
    query = Query(request)
    values: dict[str, Any] = {"state": query.get("state"), "reason": query.get("reason")}
    body = await json_body(request, required=False)
    if body is not None:
        if not isinstance(body, dict):
            raise ApiError.bad('the request body must be a JSON object such as {"state": "Available"}')
        for key in ("state", "reason"):
            if body.get(key) is not None:
                if not isinstance(body[key], str):
                    raise ApiError.bad(f"{key} must be a string")
                values[key] = body[key]
    raw_state = values["state"]
    if not raw_state:
        raise ApiError.bad("state is required: Available or Unavailable")
    state = next((s for s in SETTABLE_STATES if s.lower() == raw_state.strip().lower()), None)
    if state is None:
        raise ApiError.bad(
            f"state must be Available or Unavailable, got {raw_state!r}; the other agent states "
            "are controlled by the platform"
        )
    reason = values["reason"] or None
    with ctx.store.write() as conn:
        session = _session(conn, request.path_params["sessionId"])
        api_set_state(
            conn,
            ctx.store,
            session["agent_id"],
            state,
            reason if state == "Unavailable" else None,
            Actor("api", principal.actor),
        )
    return Response(status_code=202)


@api("agent.sessions.end", write=True)
async def end_session(request: Request, ctx: Ctx, principal: Principal) -> Response:
    query = Query(request)
    force = bool(query.boolean("forceLogoff")) or bool(query.boolean("endContacts"))
    query.boolean("ignorePersonalQueue")  # validated, no personal queues in the sandbox
    with ctx.store.write() as conn:
        session = _session(conn, request.path_params["sessionId"])
        logout(conn, ctx.store, session["agent_id"], Actor("api", principal.actor), force=force)
    return Response(status_code=202)


ROUTES = [
    Route("/agent-sessions", start_session, methods=["POST"]),
    Route("/agent-sessions/join", join_session, methods=["POST"]),
    Route("/agent-sessions/{sessionId}/state", set_state, methods=["POST"]),
    Route("/agent-sessions/{sessionId}", end_session, methods=["DELETE"]),
]

"""Emulator-only endpoints: the agent's side of CXone (what MAX or a softphone does) and test setup.

Not part of any NICE API; no authentication, like the operator endpoints under ``/__sandbox/``.

Agent side, ``/__sandbox/agent/{agentId}/...``:
* ``POST login``  ``{"stationPhoneNumber"?}`` → starts a session (Unavailable, no code); idempotent
* ``POST state``  ``{"state": "Available"}`` | ``{"state": "Unavailable", "reason"?: name, "outStateId"?: id}``
  (the agent's own choice; ends a contact) | ``{"state": "InboundContact" | "OutboundContact" |
  "InboundConsult" | "OutboundConsult" | "Dialer"}`` (a contact starts)
* ``POST end-contact`` → the contact ends (next state requested during it, else the state before it)
* ``POST logout`` ``{"force"?: bool}`` → LoggedOut; idempotent
* ``GET`` → the agent's current state and session; ``GET history?after=<id>`` → every change, with who
  caused it (``source``: agent | api | system, ``actor``)

Setup, ``/__sandbox/cxone/agents``: ``POST`` ``{firstName, lastName, emailAddress, teamId, isActive?}`` → 201
``{agentId}``; ``PATCH /{agentId}`` ``{isActive?, teamId?}`` (deactivating logs the agent out and revokes
its tokens, as a deactivated user could no longer sign in).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.admin import AGENT_SELECT, agent_json, path_int
from sandbox.cxone.auth import revoke_tokens, sandbox_endpoint
from sandbox.cxone.seed import insert_agent
from sandbox.cxone.states import (
    CONTACT_STATES,
    SETTABLE_STATES,
    Actor,
    agent_for_update,
    end_contact,
    history,
    login,
    logout,
    softphone_set_state,
    start_contact,
)
from sandbox.cxone.store import format_ms
from sandbox.cxone.web import ApiError, Ctx, Fields, Query, json_body, json_response

__all__ = ["ROUTES"]


def _view(ctx: Ctx, agent_id: int) -> dict[str, Any]:
    with ctx.store.read() as conn:
        agent = agent_for_update(conn, agent_id)
        code = conn.execute("SELECT name FROM unavailable_codes WHERE code_id = ?", (agent["out_state_id"],)).fetchone()
        pending = conn.execute(
            "SELECT name FROM unavailable_codes WHERE code_id = ?", (agent["pending_code"],)
        ).fetchone()
    return {
        "agentId": agent_id,
        "sessionId": agent["session_id"],
        "agentStateName": agent["state"],
        "outStateId": agent["out_state_id"] or 0,
        "outStateDescription": code["name"] if code else "",
        "contactId": agent["contact_id"],
        "lastUpdateTime": format_ms(agent["last_update"]),
        "nextState": None
        if agent["pending_state"] is None
        else {
            "state": agent["pending_state"],
            "outStateId": agent["pending_code"] or 0,
            "outStateDescription": pending["name"] if pending else "",
        },
    }


def _actor(agent_id: int) -> Actor:
    return Actor("agent", f"agent:{agent_id}")


@sandbox_endpoint("softphone.get")
async def get_agent(request: Request, ctx: Ctx) -> Response:
    return json_response(_view(ctx, path_int(request, "agentId", "agent")))


@sandbox_endpoint("softphone.login", write=True)
async def login_agent(request: Request, ctx: Ctx) -> Response:
    agent_id = path_int(request, "agentId", "agent")
    body = Fields(await json_body(request, required=False) or {}, "body", allowed={"stationPhoneNumber"})
    phone = body.string("stationPhoneNumber", required=False) or "+15555550100"
    with ctx.store.write() as conn:
        _, created = login(conn, ctx.store, agent_id, phone, _actor(agent_id))
    return json_response({**_view(ctx, agent_id), "newSession": created})


@sandbox_endpoint("softphone.state", write=True)
async def set_state(request: Request, ctx: Ctx) -> Response:
    agent_id = path_int(request, "agentId", "agent")
    body = Fields(await json_body(request), "body", allowed={"state", "reason", "outStateId"})
    state = body.string("state")
    reason = body.string("reason", required=False)
    code_id = body.integer("outStateId", required=False, minimum=1)
    with ctx.store.write() as conn:
        if state in SETTABLE_STATES:
            if state == "Available" and (reason is not None or code_id is not None):
                raise ApiError.bad("reason/outStateId only go with state Unavailable")
            if reason is not None and code_id is not None:
                raise ApiError.bad("give reason (a code name) or outStateId, not both")
            result = softphone_set_state(conn, ctx.store, agent_id, state, reason, code_id, _actor(agent_id))
        elif state in CONTACT_STATES:
            if reason is not None or code_id is not None:
                raise ApiError.bad("reason/outStateId only go with state Unavailable")
            start_contact(conn, ctx.store, agent_id, state, _actor(agent_id))
            result = "changed"
        else:
            raise ApiError.bad(
                f"state must be one of {', '.join(SETTABLE_STATES + CONTACT_STATES)}, got {state!r}; "
                "use login/logout for the session"
            )
    return json_response({**_view(ctx, agent_id), "result": result})


@sandbox_endpoint("softphone.end-contact", write=True)
async def end_agent_contact(request: Request, ctx: Ctx) -> Response:
    agent_id = path_int(request, "agentId", "agent")
    with ctx.store.write() as conn:
        end_contact(conn, ctx.store, agent_id, _actor(agent_id))
    return json_response(_view(ctx, agent_id))


@sandbox_endpoint("softphone.logout", write=True)
async def logout_agent(request: Request, ctx: Ctx) -> Response:
    agent_id = path_int(request, "agentId", "agent")
    body = Fields(await json_body(request, required=False) or {}, "body", allowed={"force"})
    force = body.boolean("force", required=False, default=False)
    with ctx.store.write() as conn:
        ended = logout(conn, ctx.store, agent_id, _actor(agent_id), force=bool(force))
    return json_response({**_view(ctx, agent_id), "sessionEnded": ended})


@sandbox_endpoint("softphone.history")
async def agent_history(request: Request, ctx: Ctx) -> Response:
    agent_id = path_int(request, "agentId", "agent")
    after = Query(request).integer("after", default=0, minimum=0) or 0
    with ctx.store.read() as conn:
        agent_for_update(conn, agent_id)
        changes = history(conn, agent_id, after)
    return json_response({"agentId": agent_id, "changes": changes})


# ------------------------------------------------------------------------------------------------ setup


def _team_exists(conn: Any, team_id: int) -> None:
    if conn.execute("SELECT 1 FROM teams WHERE team_id = ?", (team_id,)).fetchone() is None:
        raise ApiError.bad(f"teamId: team {team_id} does not exist")


@sandbox_endpoint("setup.agents.create", write=True)
async def create_agent(request: Request, ctx: Ctx) -> Response:
    body = Fields(
        await json_body(request), "body", allowed={"firstName", "lastName", "emailAddress", "teamId", "isActive"}
    )
    first, last, email = body.string("firstName"), body.string("lastName"), body.string("emailAddress")
    team_id = body.integer("teamId")
    active = body.boolean("isActive", required=False, default=True)
    assert first and last and email and team_id is not None
    with ctx.store.write() as conn:
        _team_exists(conn, team_id)
        if conn.execute("SELECT 1 FROM agents WHERE user_name = ?", (email,)).fetchone():
            raise ApiError.conflict(f"emailAddress: an agent with user name {email!r} already exists")
        agent_id = insert_agent(conn, ctx.store.tick(), None, first, last, email, team_id, active=bool(active))
        row = conn.execute(f"{AGENT_SELECT} WHERE a.agent_id = ?", (agent_id,)).fetchone()
    return json_response(agent_json(row), 201)


@sandbox_endpoint("setup.agents.update", write=True)
async def update_agent(request: Request, ctx: Ctx) -> Response:
    agent_id = path_int(request, "agentId", "agent")
    body = Fields(await json_body(request), "body", allowed={"isActive", "teamId"})
    active = body.boolean("isActive", required=False)
    team_id = body.integer("teamId", required=False)
    with ctx.store.write() as conn:
        agent_for_update(conn, agent_id)
        if team_id is not None:
            _team_exists(conn, team_id)
            conn.execute(
                "UPDATE agents SET team_id = ?, last_update = ? WHERE agent_id = ?",
                (team_id, ctx.store.tick(), agent_id),
            )
        if active is not None:
            if not active:
                logout(conn, ctx.store, agent_id, Actor("system", "deactivation"), force=True)
                revoke_tokens(conn, agent_id=agent_id)
            conn.execute(
                "UPDATE agents SET is_active = ?, last_update = ? WHERE agent_id = ?",
                (int(active), ctx.store.tick(), agent_id),
            )
        row = conn.execute(f"{AGENT_SELECT} WHERE a.agent_id = ?", (agent_id,)).fetchone()
    return json_response(agent_json(row))


ROUTES = [
    Route("/__sandbox/agent/{agentId}", get_agent, methods=["GET"]),
    Route("/__sandbox/agent/{agentId}/login", login_agent, methods=["POST"]),
    Route("/__sandbox/agent/{agentId}/state", set_state, methods=["POST"]),
    Route("/__sandbox/agent/{agentId}/end-contact", end_agent_contact, methods=["POST"]),
    Route("/__sandbox/agent/{agentId}/logout", logout_agent, methods=["POST"]),
    Route("/__sandbox/agent/{agentId}/history", agent_history, methods=["GET"]),
    Route("/__sandbox/cxone/agents", create_agent, methods=["POST"]),
    Route("/__sandbox/cxone/agents/{agentId}", update_agent, methods=["PATCH"]),
]

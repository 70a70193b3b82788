"""Admin API: agents (users) and teams, under ``/incontactapi/services/v{N}.0/``.

Shapes follow NICE's OpenAPI set as mirrored by the generated client calljacob/nice-cxone-api
(src/services/admin/AdminAgentsService.ts, AdminGeneralService.ts); see docs/vendor-apis.md §7b, §7c.
Only the fields the emulator can fill meaningfully are returned. ``fields`` and ``orderBy`` are accepted
and ignored (lists are ordered by id). Unknown JSON fields in request bodies are ignored, as ASP.NET
model binding does.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.auth import Principal, api
from sandbox.cxone.store import format_ms
from sandbox.cxone.web import MAX_INT, ApiError, Ctx, Fields, Query, json_body, json_response, list_links

__all__ = ["AGENT_SELECT", "ROUTES", "agent_json", "id_value", "paged", "path_int", "team_json", "team_row"]

AGENT_SELECT = "SELECT a.*, t.name AS team_name, t.team_uuid FROM agents a JOIN teams t ON t.team_id = a.team_id"


def path_int(request: Request, name: str, what: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError.not_found(f"{what} {raw!r} does not exist")
    return int(raw)


def agent_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "agentId": row["agent_id"],
        "userName": row["user_name"],
        "firstName": row["first_name"],
        "middleName": "",
        "lastName": row["last_name"],
        "userID": row["user_id"],
        "emailAddress": row["email"],
        "isActive": bool(row["is_active"]),
        "teamId": row["team_id"],
        "teamName": row["team_name"],
        "teamUuId": row["team_uuid"],
        "reportToId": None,
        "isSupervisor": bool(row["is_supervisor"]),
        "lastLogin": format_ms(row["last_login"]),
        "lastUpdated": format_ms(row["last_update"]),
        "profileId": row["profile_id"],
        "profileName": row["profile_name"],
        "timeZone": row["time_zone"],
        "internalId": "",
        "federatedId": "",
        "crmUserName": "",
        "locked": False,
    }


def team_json(row: sqlite3.Row, agent_count: int) -> dict[str, Any]:
    return {
        "teamId": row["team_id"],
        "teamName": row["name"],
        "isActive": bool(row["is_active"]),
        "description": row["description"] or "",
        "notes": row["notes"] or "",
        "lastUpdateTime": format_ms(row["last_update"]),
        "agentCount": agent_count,
        "teamUuid": row["team_uuid"],
        "teamLeadId": None,
        "divisionNo": 0,
    }


def _agent_filters(query: Query, prefix: str = "a.") -> tuple[list[str], list[Any]]:
    where, args = query.list_filters(
        ("first_name", "last_name", "user_name", "email"), since_column="last_update", prefix=prefix
    )
    if query.boolean("isLocked"):
        where.append("0")  # no agent is ever locked in the sandbox
    return where, args


def paged(
    conn: sqlite3.Connection, select: str, where: list[str], args: list[Any], order: str, skip: int, top: int
) -> tuple[int, list[sqlite3.Row]]:
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM ({select}{clause})", args).fetchone()[0]
    rows = conn.execute(f"{select}{clause} ORDER BY {order} LIMIT ? OFFSET ?", [*args, top, skip]).fetchall()
    return int(total), rows


def _agent_counts(conn: sqlite3.Connection) -> dict[int, int]:
    return {r[0]: r[1] for r in conn.execute("SELECT team_id, COUNT(*) FROM agents GROUP BY team_id")}


# ------------------------------------------------------------------------------------------------ agents


@api("admin.agents.list")
async def list_agents(request: Request, ctx: Ctx, _: Principal) -> Response:
    query = Query(request)
    skip, top = query.page()
    where, args = _agent_filters(query)
    with ctx.store.read() as conn:
        total, rows = paged(conn, AGENT_SELECT, where, args, "agent_id", skip, top)
    return json_response(
        {
            "businessUnitId": ctx.business_unit_id,
            "_links": list_links(ctx, request, skip, top, total),
            "lastPollTime": format_ms(ctx.store.tick()),
            "totalRecords": total,
            "hiddenAgents": 0,
            "agents": [agent_json(r) for r in rows],
        }
    )


@api("admin.agents.get")
async def get_agent(request: Request, ctx: Ctx, _: Principal) -> Response:
    raw = request.path_params["agentId"]  # the path is /agents/{agentId|userId}
    by_id = raw.isdigit() and len(raw) <= 18
    with ctx.store.read() as conn:
        row = conn.execute(
            f"{AGENT_SELECT} WHERE {'a.agent_id' if by_id else 'a.user_id'} = ?", (int(raw) if by_id else raw.lower(),)
        ).fetchone()
    if row is None:
        raise ApiError.not_found(f"agent {raw} does not exist")
    return json_response({"agents": [agent_json(row)]})


# ------------------------------------------------------------------------------------------------- teams


def team_row(conn: sqlite3.Connection, team_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM teams WHERE team_id = ?", (team_id,)).fetchone()
    if row is None:
        raise ApiError.not_found(f"team {team_id} does not exist")
    return row


@api("admin.teams.list")
async def list_teams(request: Request, ctx: Ctx, _: Principal) -> Response:
    query = Query(request)
    skip, top = query.page()
    where, args = query.list_filters(("name",), since_column="last_update")
    with ctx.store.read() as conn:
        total, rows = paged(conn, "SELECT * FROM teams", where, args, "team_id", skip, top)
        counts = _agent_counts(conn)
    return json_response(
        {
            "_links": list_links(ctx, request, skip, top, total),
            "businessUnitId": ctx.business_unit_id,
            "lastPollTime": format_ms(ctx.store.tick()),
            "totalRecords": total,
            "teams": [team_json(r, counts.get(r["team_id"], 0)) for r in rows],
        }
    )


@api("admin.teams.get")
async def get_team(request: Request, ctx: Ctx, _: Principal) -> Response:
    team_id = path_int(request, "teamId", "team")
    with ctx.store.read() as conn:
        row = team_row(conn, team_id)
        count = _agent_counts(conn).get(team_id, 0)
    return json_response(
        {
            "businessUnitId": ctx.business_unit_id,
            "lastPollTime": format_ms(ctx.store.tick()),
            "teams": [team_json(row, count)],
        }
    )


@api("admin.teams.create", write=True)
async def create_teams(request: Request, ctx: Ctx, _: Principal) -> Response:
    body = Fields(await json_body(request), "body")
    items = body.array("teams")
    if not items:
        raise ApiError.bad("teams must contain at least one team")
    results: list[dict[str, Any]] = []
    with ctx.store.write() as conn:
        for index, item in enumerate(items):
            try:
                fields = Fields(item, f"teams[{index}]")
                name = fields.string("teamName")
                is_active = fields.boolean("isActive", required=False, default=True)
                description = fields.string("description", required=False, allow_empty=True)
                notes = fields.string("notes", required=False, allow_empty=True)
                if conn.execute("SELECT 1 FROM teams WHERE name = ?", (name,)).fetchone():
                    raise ApiError.conflict(f"teams[{index}].teamName: a team named {name!r} already exists")
            except ApiError as exc:
                results.append({"success": False, "teamId": None, "error": exc.description})
                continue
            cursor = conn.execute(
                "INSERT INTO teams (team_uuid, name, is_active, description, notes, last_update) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), name, int(bool(is_active)), description, notes, ctx.store.tick()),
            )
            results.append({"success": True, "teamId": cursor.lastrowid, "error": None})
    errors = sum(1 for r in results if not r["success"])
    return json_response({"errorCount": errors, "results": results})


@api("admin.teams.agents.list")
async def list_team_agents(request: Request, ctx: Ctx, _: Principal) -> Response:
    team_id = path_int(request, "teamId", "team")
    query = Query(request)
    skip, top = query.page()
    where, args = _agent_filters(query)
    with ctx.store.read() as conn:
        team = team_row(conn, team_id)
        total, rows = paged(conn, AGENT_SELECT, ["a.team_id = ?", *where], [team_id, *args], "agent_id", skip, top)
        count = _agent_counts(conn).get(team_id, 0)
    return json_response(
        {
            "businessUnitId": ctx.business_unit_id,
            "_links": list_links(ctx, request, skip, top, total),
            "totalRecords": total,
            "lastPollTime": format_ms(ctx.store.tick()),
            "teams": [{**team_json(team, count), "agents": [agent_json(r) for r in rows]}],
        }
    )


def id_value(item: Any, keys: tuple[str, ...], where: str) -> int:
    """An id from ``{"<one of keys>": 123 | "123"}``; the OpenAPI types these ids both ways."""
    fields = Fields(item, where)
    for key in keys:
        value = fields.data.get(key)
        if isinstance(value, bool):
            break
        if isinstance(value, int) and abs(value) <= MAX_INT:
            return value
        if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
            return int(value.strip())
        if value is not None:
            break
    raise ApiError.bad(f"{where} needs {' or '.join(keys)} as an integer")


@api("admin.teams.agents.assign", write=True)
async def assign_team_agents(request: Request, ctx: Ctx, _: Principal) -> Response:
    team_id = path_int(request, "teamId", "team")
    body = Fields(await json_body(request), "body")
    items = body.array("agents")
    if not items:
        raise ApiError.bad("agents must contain at least one agent")
    results: list[dict[str, Any]] = []
    with ctx.store.write() as conn:
        team = team_row(conn, team_id)
        if not team["is_active"]:
            raise ApiError.bad(f"team {team_id} is inactive; agents cannot be assigned to it")
        for index, item in enumerate(items):
            try:
                agent_id = id_value(item, ("agentId",), f"agents[{index}]")
            except ApiError as exc:
                results.append({"agentId": None, "success": False, "error": exc.description})
                continue
            cursor = conn.execute(
                "UPDATE agents SET team_id = ?, last_update = ? WHERE agent_id = ?",
                (team_id, ctx.store.tick(), agent_id),
            )
            if cursor.rowcount:
                results.append({"agentId": agent_id, "success": True, "error": None})
            else:
                results.append({"agentId": agent_id, "success": False, "error": f"agent {agent_id} does not exist"})
    errors = sum(1 for r in results if not r["success"])
    return json_response({"resultSet": {"errorCount": errors, "agentResults": results}})


ROUTES = [
    Route("/agents", list_agents, methods=["GET"]),
    Route("/agents/{agentId}", get_agent, methods=["GET"]),
    Route("/teams", list_teams, methods=["GET"]),
    Route("/teams", create_teams, methods=["POST"]),
    Route("/teams/{teamId}", get_team, methods=["GET"]),
    Route("/teams/{teamId}/agents", list_team_agents, methods=["GET"]),
    Route("/teams/{teamId}/agents", assign_team_agents, methods=["POST"]),
]

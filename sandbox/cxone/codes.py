"""Admin API: unavailable codes (CXone's "agent states") and their assignment to teams.

Shapes: calljacob/nice-cxone-api src/services/admin/AdminUnavailablecodesService.ts and
AdminGeneralService.ts; docs/vendor-apis.md §7d. The team-assignment bodies spell the code id three
ways (``outstateId`` in POST/DELETE, ``outStateId`` in PUT, ``id`` elsewhere) and type it as a number or
a string; all of those are accepted in every item.

GUESSES: create answers 200 ``{id}``; a duplicate name is 409; PUT/PATCH answer 204; PUT on the team's
codes adds (like POST) rather than replacing the set -- a client that wants a replace must also DELETE,
which is correct whichever way the real endpoint behaves.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.admin import id_value, paged, path_int, team_row
from sandbox.cxone.auth import Principal, api
from sandbox.cxone.web import ApiError, Ctx, Fields, Query, json_body, json_response, list_links, no_content

__all__ = ["ROUTES"]

_CODE_KEYS = ("outstateId", "outStateId", "id")


def _code(conn: sqlite3.Connection, code_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM unavailable_codes WHERE code_id = ?", (code_id,)).fetchone()
    if row is None:
        raise ApiError.not_found(f"unavailable code {code_id} does not exist")
    return row


def _code_summary(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["code_id"],
        "name": row["name"],
        "isActive": bool(row["is_active"]),
        "isACW": bool(row["is_acw"]),
        "agentTimeout": row["agent_timeout"],
    }


def _check_name_free(conn: sqlite3.Connection, name: str, own_id: int | None = None) -> None:
    row = conn.execute("SELECT code_id FROM unavailable_codes WHERE name = ?", (name,)).fetchone()
    if row is not None and row[0] != own_id:
        raise ApiError.conflict(f"name: an unavailable code named {name!r} already exists (id {row[0]})")


@api("admin.unavailable-codes.list")
async def list_codes(request: Request, ctx: Ctx, _: Principal) -> Response:
    query = Query(request)
    skip, top = query.page()
    where, args = query.list_filters(("name",))
    with ctx.store.read() as conn:
        total, rows = paged(conn, "SELECT * FROM unavailable_codes", where, args, "code_id", skip, top)
    return json_response(
        {
            "totalRecords": total,
            "businessUnitId": ctx.business_unit_id,
            "unavailableCodes": [_code_summary(r) for r in rows],
            "_links": list_links(ctx, request, skip, top, total),
        }
    )


@api("admin.unavailable-codes.create", write=True)
async def create_code(request: Request, ctx: Ctx, _: Principal) -> Response:
    body = Fields(await json_body(request), "body")
    name = body.string("name")
    is_acw = body.boolean("isACW", required=False, default=False)
    timeout = body.integer("agentTimeout", required=False, minimum=0)
    notes = body.string("notes", required=False, allow_empty=True)
    with ctx.store.write() as conn:
        assert name is not None
        _check_name_free(conn, name)
        cursor = conn.execute(
            "INSERT INTO unavailable_codes (name, is_acw, agent_timeout, notes, last_update) VALUES (?, ?, ?, ?, ?)",
            (name, int(bool(is_acw)), timeout, notes, ctx.store.tick()),
        )
    return json_response({"id": cursor.lastrowid})


@api("admin.unavailable-codes.get")
async def get_code(request: Request, ctx: Ctx, _: Principal) -> Response:
    code_id = path_int(request, "codeId", "unavailable code")
    with ctx.store.read() as conn:
        row = _code(conn, code_id)
    return json_response({"unavailableCode": {**_code_summary(row), "notes": row["notes"] or ""}})


@api("admin.unavailable-codes.update", write=True)
async def update_code(request: Request, ctx: Ctx, _: Principal) -> Response:
    code_id = path_int(request, "codeId", "unavailable code")
    body = Fields(await json_body(request), "body")
    name = body.string("name")
    with ctx.store.write() as conn:
        row = _code(conn, code_id)
        assert name is not None
        _check_name_free(conn, name, code_id)
        is_acw = body.boolean("isACW", required=False, default=bool(row["is_acw"]))
        is_active = body.boolean("isActive", required=False, default=bool(row["is_active"]))
        timeout = body.integer("agentTimeout", required=False, default=row["agent_timeout"], minimum=0)
        notes = body.string("notes", required=False, default=row["notes"], allow_empty=True)
        conn.execute(
            "UPDATE unavailable_codes SET name = ?, is_acw = ?, is_active = ?, agent_timeout = ?, "
            "notes = ?, last_update = ? WHERE code_id = ?",
            (name, int(bool(is_acw)), int(bool(is_active)), timeout, notes, ctx.store.tick(), code_id),
        )
    return no_content()


@api("admin.unavailable-codes.status", write=True)
async def set_code_status(request: Request, ctx: Ctx, _: Principal) -> Response:
    code_id = path_int(request, "codeId", "unavailable code")
    is_active = Query(request).boolean("isActive")
    if is_active is None:
        raise ApiError.bad("query parameter isActive (true|false) is required")
    with ctx.store.write() as conn:
        _code(conn, code_id)
        conn.execute(
            "UPDATE unavailable_codes SET is_active = ?, last_update = ? WHERE code_id = ?",
            (int(is_active), ctx.store.tick(), code_id),
        )
    return no_content()


# ---------------------------------------------------------------------------------------- team assignment


@api("admin.teams.unavailable-codes.list")
async def list_team_codes(request: Request, ctx: Ctx, _: Principal) -> Response:
    team_id = path_int(request, "teamId", "team")
    active_only = Query(request).boolean("activeOnly")
    with ctx.store.read() as conn:
        team = team_row(conn, team_id)
        rows = conn.execute(
            "SELECT c.* FROM team_codes tc JOIN unavailable_codes c ON c.code_id = tc.code_id "
            "WHERE tc.team_id = ? ORDER BY c.code_id",
            (team_id,),
        ).fetchall()
    return json_response(
        {
            "teamId": team_id,
            "teamName": team["name"],
            "teamUuid": team["team_uuid"],
            "divisionNo": 0,
            "unavailableCodes": [
                {
                    "outstateId": r["code_id"],
                    "outstateName": r["name"],
                    "isActive": bool(r["is_active"]),
                    "isAcw": bool(r["is_acw"]),
                    "agentTimeoutMins": None if r["agent_timeout"] is None else str(r["agent_timeout"]),
                }
                for r in rows
                if r["is_active"] or not active_only
            ],
        }
    )


async def _change_team_codes(request: Request, ctx: Ctx, array_key: str, add: bool) -> tuple[int, list[Any]]:
    team_id = path_int(request, "teamId", "team")
    items = Fields(await json_body(request), "body").array(array_key)
    if not items:
        raise ApiError.bad(f"{array_key} must contain at least one code")
    results: list[dict[str, Any]] = []
    with ctx.store.write() as conn:
        team_row(conn, team_id)
        for index, item in enumerate(items):
            code_id: int | None = None
            try:
                code_id = id_value(item, _CODE_KEYS, f"{array_key}[{index}]")
                if conn.execute("SELECT 1 FROM unavailable_codes WHERE code_id = ?", (code_id,)).fetchone() is None:
                    raise ApiError.bad(f"unavailable code {code_id} does not exist")
                if add:
                    conn.execute("INSERT OR IGNORE INTO team_codes VALUES (?, ?)", (team_id, code_id))
                elif not conn.execute(
                    "DELETE FROM team_codes WHERE team_id = ? AND code_id = ?", (team_id, code_id)
                ).rowcount:
                    raise ApiError.bad(f"unavailable code {code_id} is not assigned to team {team_id}")
            except ApiError as exc:
                results.append({"outstateId": code_id, "success": False, "error": exc.description})
                continue
            results.append({"outstateId": code_id, "success": True, "error": None})
        conn.execute("UPDATE teams SET last_update = ? WHERE team_id = ?", (ctx.store.tick(), team_id))
    return sum(1 for r in results if not r["success"]), results


@api("admin.teams.unavailable-codes.assign", write=True)
async def assign_team_codes(request: Request, ctx: Ctx, _: Principal) -> Response:
    errors, results = await _change_team_codes(request, ctx, "codes", add=True)
    return json_response({"resultSet": {"errorCount": errors, "codeResults": results}})


@api("admin.teams.unavailable-codes.update", write=True)
async def put_team_codes(request: Request, ctx: Ctx, _: Principal) -> Response:
    errors, results = await _change_team_codes(request, ctx, "unavailableCodes", add=True)
    return json_response({"resultSet": {"errorCount": errors, "codeResults": results}})


@api("admin.teams.unavailable-codes.remove", write=True)
async def remove_team_codes(request: Request, ctx: Ctx, _: Principal) -> Response:
    errors, results = await _change_team_codes(request, ctx, "codes", add=False)
    return json_response({"errorCount": errors, "codeResults": results})


ROUTES = [
    Route("/unavailable-codes", list_codes, methods=["GET"]),
    Route("/unavailable-codes", create_code, methods=["POST"]),
    Route("/unavailable-codes/{codeId}", get_code, methods=["GET"]),
    Route("/unavailable-codes/{codeId}", update_code, methods=["PUT"]),
    Route("/unavailable-codes/{codeId}/status", set_code_status, methods=["PATCH"]),
    Route("/teams/{teamId}/unavailable-codes", list_team_codes, methods=["GET"]),
    Route("/teams/{teamId}/unavailable-codes", assign_team_codes, methods=["POST"]),
    Route("/teams/{teamId}/unavailable-codes", put_team_codes, methods=["PUT"]),
    Route("/teams/{teamId}/unavailable-codes", remove_team_codes, methods=["DELETE"]),
]

"""Access keys: ``/access-keys`` (Admin API), the credential of the password grant.

Shapes: calljacob/nice-cxone-api src/services/admin/AdminGeneralService.ts (``getAccessKeys``,
``postAccessKeys``, ``getAccessKeysId``, ``deleteAccessKeysId``, ``patchAccessKeysId``); docs/vendor-apis.md
§7a. The secret is only ever returned by the create call.

GUESSES: create answers 200; DELETE and PATCH answer 204; PATCH takes ``{"isActive": bool}`` as JSON (or
``?isActive=``); deactivating or deleting a key revokes the tokens issued through it at once.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.auth import Principal, api, new_access_key, revoke_tokens, secret_hash
from sandbox.cxone.store import Store, format_ms
from sandbox.cxone.web import ApiError, Ctx, Fields, Query, json_body, json_response, no_content

__all__ = ["ROUTES", "create_access_key", "key_json"]


def create_access_key(conn: sqlite3.Connection, store: Store, agent_id: int) -> tuple[str, str]:
    """A new active access key for ``agent_id`` (an active agent); returns (id, secret)."""
    agent = conn.execute("SELECT is_active FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
    if agent is None:
        raise ApiError.bad(f"agent {agent_id} does not exist")
    if not agent["is_active"]:
        raise ApiError.bad(f"agent {agent_id} is inactive")
    key_id, secret = new_access_key()
    conn.execute(
        "INSERT INTO access_keys (access_key_id, agent_id, secret_hash, created_at) VALUES (?, ?, ?, ?)",
        (key_id, agent_id, secret_hash(secret), store.now_ms()),
    )
    return key_id, secret


def key_json(row: sqlite3.Row, business_unit_id: int) -> dict[str, Any]:
    return {
        "accessKeyId": row["access_key_id"],
        "agentId": row["agent_id"],
        "billingId": business_unit_id,
        "isActive": bool(row["is_active"]),
        "lastUsedDate": format_ms(row["last_used"]),
    }


def _key(conn: sqlite3.Connection, key_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM access_keys WHERE access_key_id = ?", (key_id,)).fetchone()
    if row is None:
        raise ApiError.not_found(f"access key {key_id} does not exist")
    return row


@api("admin.access-keys.create", write=True)
async def create(request: Request, ctx: Ctx, principal: Principal) -> Response:
    agent_id = Query(request).integer("agentId", minimum=1)
    if agent_id is None:
        if principal.agent_id is None:
            raise ApiError.bad("query parameter agentId is required: this token does not belong to an agent")
        agent_id = principal.agent_id
    with ctx.store.write() as conn:
        key_id, secret = create_access_key(conn, ctx.store, agent_id)
    return json_response(
        {
            "accesskeys": [
                {
                    "accessKeyId": key_id,
                    "accessKeySecret": secret,
                    "agentId": agent_id,
                    "billingId": ctx.business_unit_id,
                    "isActive": True,
                }
            ]
        }
    )


@api("admin.access-keys.list")
async def list_keys(request: Request, ctx: Ctx, _: Principal) -> Response:
    agent_id = Query(request).integer("agentId", minimum=1)
    if agent_id is None:
        raise ApiError.bad("query parameter agentId is required")
    with ctx.store.read() as conn:
        rows = conn.execute(
            "SELECT * FROM access_keys WHERE agent_id = ? ORDER BY created_at, access_key_id", (agent_id,)
        ).fetchall()
    return json_response({"totalRecords": len(rows), "accesskeys": [key_json(r, ctx.business_unit_id) for r in rows]})


@api("admin.access-keys.get")
async def get_key(request: Request, ctx: Ctx, _: Principal) -> Response:
    with ctx.store.read() as conn:
        row = _key(conn, request.path_params["accessKeyId"])
    return json_response({"accessKey": key_json(row, ctx.business_unit_id)})


@api("admin.access-keys.delete", write=True)
async def delete_key(request: Request, ctx: Ctx, _: Principal) -> Response:
    key_id = request.path_params["accessKeyId"]
    with ctx.store.write() as conn:
        _key(conn, key_id)
        conn.execute("DELETE FROM access_keys WHERE access_key_id = ?", (key_id,))
        revoke_tokens(conn, access_key_id=key_id)
    return no_content()


@api("admin.access-keys.update", write=True)
async def patch_key(request: Request, ctx: Ctx, _: Principal) -> Response:
    key_id = request.path_params["accessKeyId"]
    is_active = Query(request).boolean("isActive")
    body = await json_body(request, required=False)
    if body is not None:
        is_active = Fields(body, "body").boolean("isActive")
    if is_active is None:
        raise ApiError.bad("isActive (true|false) is required, as a JSON body or a query parameter")
    with ctx.store.write() as conn:
        _key(conn, key_id)
        conn.execute("UPDATE access_keys SET is_active = ? WHERE access_key_id = ?", (int(is_active), key_id))
        if not is_active:
            revoke_tokens(conn, access_key_id=key_id)
    return no_content()


ROUTES = [
    Route("/access-keys", create, methods=["POST"]),
    Route("/access-keys", list_keys, methods=["GET"]),
    Route("/access-keys/{accessKeyId}", get_key, methods=["GET"]),
    Route("/access-keys/{accessKeyId}", delete_key, methods=["DELETE"]),
    Route("/access-keys/{accessKeyId}", patch_key, methods=["PATCH"]),
]

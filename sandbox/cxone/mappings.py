"""Presence Sync account mappings -- OUR MODEL, not a NICE API (none is public; docs/vendor-apis.md §7g).

Modelled under ``/adapter-apis/v1/{partner}/`` in the shape NICE's agent SDK reads presence-sync rules
from (docs/peers.md §1.2). The facts it keeps from NICE's help ("Account Mapping",
help.incontact.com/Content/Adapters/AccountMapping.htm): a mapping names an "access key user", and "this
user must not be deactivated, or the account mapping will stop functioning".

Contract (sandbox/CXONE.md has the full text):
* ``POST .../account-mappings`` ``{name, accessKeyAgentId, salesforceEnvironment: {name, instanceUrl,
  consumerKey, consumerSecret}, isSelected}`` → 201 with ``mappingId``, ``accessKeyId`` and
  ``accessKeySecret`` -- the only answer that ever carries the secret. Creating a mapping creates an
  access key for the agent, usable at ``/auth/token``.
* ``GET`` never returns secrets (``hasConsumerSecret`` instead of ``consumerSecret``).
* ``PUT`` replaces name / salesforceEnvironment / isSelected (``consumerSecret`` may be left out to keep
  it; a missing ``isSelected`` means false); ``accessKeyAgentId`` cannot change (400).
* ``DELETE`` → 204 and deactivates the mapping's access key (revoking its tokens).
* At most one mapping per partner is selected; selecting one deselects the others.
* 400 for an unknown or inactive agent, 409 for a duplicate name (case-insensitive), 404 for an unknown id.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.access_keys import create_access_key
from sandbox.cxone.auth import Principal, api, revoke_tokens
from sandbox.cxone.store import format_ms
from sandbox.cxone.web import ApiError, Ctx, Fields, json_body, json_response, no_content

__all__ = ["PARTNERS", "ROUTES", "partner"]

PARTNERS = ("salesforce",)
_BODY = {"name", "accessKeyAgentId", "salesforceEnvironment", "isSelected"}
_ENVIRONMENT = {"name", "instanceUrl", "consumerKey", "consumerSecret"}


def partner(request: Request) -> str:
    name = request.path_params["partner"]
    if name not in PARTNERS:
        raise ApiError.not_found(f"partner {name!r} is not known; the sandbox models {', '.join(PARTNERS)}")
    return name


def _mapping_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "mappingId": row["mapping_id"],
        "name": row["name"],
        "accessKeyAgentId": row["agent_id"],
        "accessKeyId": row["access_key_id"],
        "salesforceEnvironment": {
            "name": row["sf_name"],
            "instanceUrl": row["sf_instance_url"],
            "consumerKey": row["sf_consumer_key"],
            "hasConsumerSecret": True,
        },
        "isSelected": bool(row["is_selected"]),
        "lastModified": format_ms(row["last_modified"]),
    }


def _environment(body: Fields, *, secret_required: bool) -> dict[str, str | None]:
    env = body.obj("salesforceEnvironment", allowed=_ENVIRONMENT)
    instance_url = env.string("instanceUrl")
    assert instance_url is not None
    try:
        parts = urlsplit(instance_url)
        valid = parts.scheme == "https" and bool(parts.hostname) and not parts.query and not parts.fragment
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        valid = False
    if not valid:
        raise ApiError.bad(
            "salesforceEnvironment.instanceUrl must be an https:// URL such as "
            f"https://example.my.salesforce.com, got {instance_url!r}"
        )
    return {
        "name": env.string("name"),
        "instanceUrl": instance_url,
        "consumerKey": env.string("consumerKey"),
        "consumerSecret": env.string("consumerSecret", required=secret_required),
    }


def _check_agent(conn: sqlite3.Connection, agent_id: int) -> None:
    agent = conn.execute("SELECT is_active FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
    if agent is None:
        raise ApiError.bad(f"accessKeyAgentId: agent {agent_id} does not exist")
    if not agent["is_active"]:
        raise ApiError.bad(f"accessKeyAgentId: agent {agent_id} is inactive; the access key user must be active")


def _check_name(conn: sqlite3.Connection, partner_name: str, name: str, own_id: str | None = None) -> None:
    row = conn.execute(
        "SELECT mapping_id FROM account_mappings WHERE partner = ? AND name = ?", (partner_name, name)
    ).fetchone()
    if row is not None and row[0] != own_id:
        raise ApiError.conflict(f"name: an account mapping named {name!r} already exists ({row[0]})")


def _select(conn: sqlite3.Connection, partner_name: str, mapping_id: str, now: int) -> None:
    conn.execute(
        "UPDATE account_mappings SET is_selected = 0, last_modified = ? "
        "WHERE partner = ? AND is_selected = 1 AND mapping_id != ?",
        (now, partner_name, mapping_id),
    )


def _mapping(conn: sqlite3.Connection, partner_name: str, mapping_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM account_mappings WHERE partner = ? AND mapping_id = ?", (partner_name, mapping_id)
    ).fetchone()
    if row is None:
        raise ApiError.not_found(f"account mapping {mapping_id} does not exist")
    return row


@api("adapters.account-mappings.list")
async def list_mappings(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    with ctx.store.read() as conn:
        rows = conn.execute(
            "SELECT * FROM account_mappings WHERE partner = ? ORDER BY created_at, mapping_id", (partner_name,)
        ).fetchall()
    return json_response({"accountMappings": [_mapping_json(r) for r in rows]})


@api("adapters.account-mappings.create", write=True)
async def create_mapping(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    body = Fields(await json_body(request), "body", allowed=_BODY)
    name = body.string("name")
    agent_id = body.integer("accessKeyAgentId")
    env = _environment(body, secret_required=True)
    selected = body.boolean("isSelected", required=False, default=False)
    assert name is not None and agent_id is not None
    mapping_id = str(uuid.uuid4())
    with ctx.store.write() as conn:
        _check_agent(conn, agent_id)
        _check_name(conn, partner_name, name)
        key_id, key_secret = create_access_key(conn, ctx.store, agent_id)
        now = ctx.store.tick()
        conn.execute(
            "INSERT INTO account_mappings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mapping_id,
                partner_name,
                name,
                agent_id,
                key_id,
                env["name"],
                env["instanceUrl"],
                env["consumerKey"],
                env["consumerSecret"],
                int(bool(selected)),
                now,
                now,
            ),
        )
        if selected:
            _select(conn, partner_name, mapping_id, now)
        row = _mapping(conn, partner_name, mapping_id)
    return json_response({**_mapping_json(row), "accessKeySecret": key_secret}, 201)


@api("adapters.account-mappings.get")
async def get_mapping(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    with ctx.store.read() as conn:
        row = _mapping(conn, partner_name, request.path_params["mappingId"])
    return json_response(_mapping_json(row))


@api("adapters.account-mappings.update", write=True)
async def update_mapping(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    mapping_id = request.path_params["mappingId"]
    with ctx.store.read() as conn:
        _mapping(conn, partner_name, mapping_id)
    body = Fields(await json_body(request), "body", allowed=_BODY)
    name = body.string("name")
    agent_id = body.integer("accessKeyAgentId", required=False)
    env = _environment(body, secret_required=False)
    selected = body.boolean("isSelected", required=False, default=False)
    assert name is not None
    with ctx.store.write() as conn:
        current = _mapping(conn, partner_name, mapping_id)
        if agent_id is not None and agent_id != current["agent_id"]:
            raise ApiError.bad(
                f"accessKeyAgentId cannot be changed (it is {current['agent_id']}); "
                "create a new account mapping for another access key user"
            )
        _check_name(conn, partner_name, name, mapping_id)
        now = ctx.store.tick()
        conn.execute(
            "UPDATE account_mappings SET name = ?, sf_name = ?, sf_instance_url = ?, sf_consumer_key = ?, "
            "sf_consumer_secret = COALESCE(?, sf_consumer_secret), is_selected = ?, last_modified = ? "
            "WHERE mapping_id = ?",
            (
                name,
                env["name"],
                env["instanceUrl"],
                env["consumerKey"],
                env["consumerSecret"],
                int(bool(selected)),
                now,
                mapping_id,
            ),
        )
        if selected:
            _select(conn, partner_name, mapping_id, now)
        row = _mapping(conn, partner_name, mapping_id)
    return json_response(_mapping_json(row))


@api("adapters.account-mappings.delete", write=True)
async def delete_mapping(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    with ctx.store.write() as conn:
        row = _mapping(conn, partner_name, request.path_params["mappingId"])
        conn.execute("DELETE FROM account_mappings WHERE mapping_id = ?", (row["mapping_id"],))
        conn.execute("UPDATE access_keys SET is_active = 0 WHERE access_key_id = ?", (row["access_key_id"],))
        revoke_tokens(conn, access_key_id=row["access_key_id"])
    return no_content()


ROUTES = [
    Route("/adapter-apis/v1/{partner}/account-mappings", list_mappings, methods=["GET"]),
    Route("/adapter-apis/v1/{partner}/account-mappings", create_mapping, methods=["POST"]),
    Route("/adapter-apis/v1/{partner}/account-mappings/{mappingId}", get_mapping, methods=["GET"]),
    Route("/adapter-apis/v1/{partner}/account-mappings/{mappingId}", update_mapping, methods=["PUT"]),
    Route("/adapter-apis/v1/{partner}/account-mappings/{mappingId}", delete_mapping, methods=["DELETE"]),
]

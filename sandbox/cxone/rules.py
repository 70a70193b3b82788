"""Presence Sync presence rules: the read NICE's agent SDK makes, and OUR MODEL of the writes behind it.

**Vendor (the read).** NICE's agent SDK (npm ``@nice-devone/agent-sdk`` 25.1.2, ``PresenceSyncService.
getPresenceSyncRule``; docs/apis.md, "CXone presence-sync rule") fetches the rule CXone Agent Embedded applies
with ``GET /adapter-apis/v1/{partnerName}/rule/{partnerId}`` (bearer token of the logged-in agent) and parses
``publisherStateMap[]`` / ``subscriberStateMap[]`` of the body itself (no envelope), each item
``{"incontactAgentState": str, "partnerAgentState": str}``.

**GUESS (what the strings hold; the SDK passes them through).** ``incontactAgentState``: a CXone state name as
the SDK's agent-state events carry it (``Available``, ``Unavailable``, ``LoggedOut``, ``InboundContact``...)
or, for Unavailable with a code, the unavailable code's name (the event's ``reason``; NICE's help: "agent
states are unavailable codes"). ``partnerAgentState``: a ServicePresenceStatus id, what the Omni-Channel
toolkit's ``setServicePresenceStatus(statusId)`` takes. ``PreviousState`` in the target's place means "the
state before the rule last changed it". ``partnerId`` is the Salesforce organization id (``00D...``); the
emulator does not know the org behind an account mapping, so any well-formed org id names the tenant's
selected mapping. The read answers the one active rule that applies to the token's agent (a rule naming the
agent beats one naming their team, then the lower priority); none (inactive rules do not count) → 404.

**OUR MODEL (the writes; NICE publishes none, docs/vendor-apis.md §7g).** ``/adapter-apis/v1/{partner}/
presence-rules[/{ruleId}]``: GET (list ``{"presenceRules": [...]}``), POST (201), PUT (replaces all of it),
DELETE. Body: ``{"name", "priority" (int >= 0, default 0), "isActive" (default true), "publisherStateMap",
"subscriberStateMap", "teamIds", "agentIds"}``; the two maps exactly as the read serves them. Every answer,
the read's included, is the stored rule plus ``ruleId`` and ``lastModified``. Unknown fields → 400.

Vendor facts kept as validation (help.incontact.com/Content/Adapters/PresenceSync/PresenceSync.htm): rules
apply to teams or individual users; "In CXone, agent states are unavailable codes. You must apply these codes
to teams." -- so every code a rule names must be assigned to every team it covers, the team of each user it
names included. 400: a malformed field (named), a repeated source within one map (status ids compare on their
15-character form), an unknown/inactive/unassigned code, unknown ``teamIds``/``agentIds``. 409: a duplicate
name (case-insensitive), or a team already covered by another rule at the same priority.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.auth import Principal, api
from sandbox.cxone.mappings import partner
from sandbox.cxone.states import SETTABLE_STATES, STATE_NAMES
from sandbox.cxone.store import format_ms
from sandbox.cxone.web import MAX_INT, ApiError, Ctx, Fields, json_body, json_response, no_content

__all__ = ["PREVIOUS_STATE", "ROUTES"]

PREVIOUS_STATE = "PreviousState"
_BODY = {"name", "priority", "isActive", "publisherStateMap", "subscriberStateMap", "teamIds", "agentIds"}
_ITEM = {"incontactAgentState", "partnerAgentState"}
_STATUS_ID = re.compile(r"0N5[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?")
_ORG_ID = re.compile(r"00D[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?")


@dataclasses.dataclass
class _Rule:
    name: str
    priority: int
    is_active: bool
    publisher: list[dict[str, str]]
    subscriber: list[dict[str, str]]
    team_ids: list[int]
    agent_ids: list[int]
    code_refs: list[tuple[str, str]]  # (field path, unavailable code name)

    def body(self) -> dict[str, Any]:
        return {
            "isActive": self.is_active,
            "publisherStateMap": self.publisher,
            "subscriberStateMap": self.subscriber,
            "teamIds": self.team_ids,
            "agentIds": self.agent_ids,
        }


# ------------------------------------------------------------------------------------------------ parsing


def _status_id(value: str, where: str) -> str:
    if not _STATUS_ID.fullmatch(value):
        raise ApiError.bad(
            f"{where} must be a ServicePresenceStatus id: 15 or 18 letters and digits starting with 0N5"
            + (f" or {PREVIOUS_STATE}" if "publisher" in where else "")
            + f", got {value!r}"
        )
    return value


def _acd_state(value: str, where: str, refs: list[tuple[str, str]], *, source: bool) -> None:
    """A state name is checked here; anything else must be an unavailable code's name (checked in the store)."""
    if value == PREVIOUS_STATE:
        if source:
            raise ApiError.bad(f"{where}: {PREVIOUS_STATE} can only be a target")
        return
    if value in STATE_NAMES:
        if not source and value not in SETTABLE_STATES:
            raise ApiError.bad(
                f"{where} must be {', '.join(SETTABLE_STATES)}, an unavailable code's name or {PREVIOUS_STATE}, "
                f"got {value!r} (CXone can only set an agent to Available or Unavailable)"
            )
        return
    refs.append((where, value))


def _state_map(body: Fields, key: str, refs: list[tuple[str, str]]) -> list[dict[str, str]]:
    publisher = key == "publisherStateMap"
    items: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(body.array(key, required=False)):
        where = f"{key}[{index}]"
        fields = Fields(raw, where, allowed=_ITEM)
        acd = fields.string("incontactAgentState")
        status = fields.string("partnerAgentState")
        assert acd is not None and status is not None
        _acd_state(acd, f"{where}.incontactAgentState", refs, source=publisher)
        if not (publisher and status == PREVIOUS_STATE):
            _status_id(status, f"{where}.partnerAgentState")
        marker = acd if publisher else status[:15]
        if marker in seen:
            side = "incontactAgentState" if publisher else "partnerAgentState"
            raise ApiError.bad(
                f"{where}.{side} repeats {key}[{seen[marker]}]; each source state may appear only once in a map"
            )
        seen[marker] = index
        items.append({"incontactAgentState": acd, "partnerAgentState": status})
    return items


def _ids(body: Fields, key: str) -> list[int]:
    values = body.array(key, required=False)
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
            raise ApiError.bad(f"{key}[{index}] must be a positive integer id")
        if value in values[:index]:
            raise ApiError.bad(f"{key}[{index}] repeats id {value}")
    return list(values)


def _parse(raw: Any) -> _Rule:
    body = Fields(raw, "body", allowed=_BODY)
    name = body.string("name")
    priority = body.integer("priority", required=False, default=0, minimum=0)
    is_active = body.boolean("isActive", required=False, default=True)
    refs: list[tuple[str, str]] = []
    publisher = _state_map(body, "publisherStateMap", refs)
    subscriber = _state_map(body, "subscriberStateMap", refs)
    assert name is not None and priority is not None and is_active is not None
    return _Rule(name, priority, is_active, publisher, subscriber, _ids(body, "teamIds"), _ids(body, "agentIds"), refs)


# ----------------------------------------------------------------------------------------------- checking


def _covered_teams(conn: sqlite3.Connection, rule: _Rule) -> dict[int, str]:
    covered: dict[int, str] = {}  # team id -> how the message names it
    for index, team_id in enumerate(rule.team_ids):
        team = conn.execute("SELECT name FROM teams WHERE team_id = ?", (team_id,)).fetchone()
        if team is None:
            raise ApiError.bad(f"teamIds[{index}]: team {team_id} does not exist")
        covered[team_id] = f"team {team_id} ({team['name']})"
    for index, agent_id in enumerate(rule.agent_ids):
        agent = conn.execute(
            "SELECT a.team_id, t.name FROM agents a JOIN teams t ON t.team_id = a.team_id WHERE a.agent_id = ?",
            (agent_id,),
        ).fetchone()
        if agent is None:
            raise ApiError.bad(f"agentIds[{index}]: agent {agent_id} does not exist")
        covered.setdefault(agent["team_id"], f"team {agent['team_id']} ({agent['name']}) of agent {agent_id}")
    return covered


def _check_references(conn: sqlite3.Connection, rule: _Rule) -> None:
    covered = _covered_teams(conn, rule)
    for path, code_name in rule.code_refs:
        code = conn.execute("SELECT * FROM unavailable_codes WHERE name = ?", (code_name,)).fetchone()
        if code is None:
            raise ApiError.bad(
                f"{path}: {code_name!r} is neither an agent state ({', '.join(STATE_NAMES)}) nor an unavailable "
                "code's name"
            )
        if not code["is_active"]:
            raise ApiError.bad(f"{path}: unavailable code {code_name!r} ({code['code_id']}) is inactive")
        for team_id, label in covered.items():
            assigned = conn.execute(
                "SELECT 1 FROM team_codes WHERE team_id = ? AND code_id = ?", (team_id, code["code_id"])
            ).fetchone()
            if assigned is None:
                raise ApiError.bad(
                    f"{path}: unavailable code {code_name!r} is not assigned to {label}; agent states are "
                    "unavailable codes; you must apply these codes to teams (POST /teams/{teamId}/unavailable-codes)"
                )


def _check_conflicts(conn: sqlite3.Connection, partner_name: str, rule: _Rule, own_id: str | None) -> None:
    for other in conn.execute(
        "SELECT * FROM presence_rules WHERE partner = ? AND rule_id IS NOT ?", (partner_name, own_id)
    ):
        if other["name"].lower() == rule.name.lower():
            raise ApiError.conflict(
                f"name: a presence rule named {other['name']!r} already exists ({other['rule_id']})"
            )
        if other["priority"] != rule.priority:
            continue
        shared = sorted(set(json.loads(other["body"])["teamIds"]) & set(rule.team_ids))
        if shared:
            raise ApiError.conflict(
                f"teamIds: team {shared[0]} already has presence rule {other['name']!r} ({other['rule_id']}) at "
                f"priority {rule.priority}; rules covering the same team need different priorities"
            )


def _rule_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "ruleId": row["rule_id"],
        "name": row["name"],
        "priority": row["priority"],
        **json.loads(row["body"]),
        "lastModified": format_ms(row["last_modified"]),
    }


def _rule_row(conn: sqlite3.Connection, partner_name: str, rule_id: str) -> sqlite3.Row:
    row = conn.execute(
        "SELECT * FROM presence_rules WHERE partner = ? AND rule_id = ?", (partner_name, rule_id)
    ).fetchone()
    if row is None:
        raise ApiError.not_found(f"presence rule {rule_id} does not exist")
    return row


# ------------------------------------------------------------------------------------------------ handlers


@api("adapters.presence-rules.list")
async def list_rules(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    with ctx.store.read() as conn:
        rows = conn.execute(
            "SELECT * FROM presence_rules WHERE partner = ? ORDER BY created_at, rule_id", (partner_name,)
        ).fetchall()
    return json_response({"presenceRules": [_rule_json(r) for r in rows]})


@api("adapters.presence-rules.create", write=True)
async def create_rule(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    rule = _parse(await json_body(request))
    rule_id = str(uuid.uuid4())
    with ctx.store.write() as conn:
        _check_references(conn, rule)
        _check_conflicts(conn, partner_name, rule, None)
        now = ctx.store.tick()
        conn.execute(
            "INSERT INTO presence_rules VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rule_id, partner_name, rule.name, rule.priority, json.dumps(rule.body()), now, now),
        )
        row = _rule_row(conn, partner_name, rule_id)
    return json_response(_rule_json(row), 201)


@api("adapters.presence-rules.get")
async def get_rule(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    with ctx.store.read() as conn:
        row = _rule_row(conn, partner_name, request.path_params["ruleId"])
    return json_response(_rule_json(row))


@api("adapters.presence-rules.update", write=True)
async def update_rule(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    rule_id = request.path_params["ruleId"]
    with ctx.store.read() as conn:
        _rule_row(conn, partner_name, rule_id)
    rule = _parse(await json_body(request))
    with ctx.store.write() as conn:
        _rule_row(conn, partner_name, rule_id)
        _check_references(conn, rule)
        _check_conflicts(conn, partner_name, rule, rule_id)
        conn.execute(
            "UPDATE presence_rules SET name = ?, priority = ?, body = ?, last_modified = ? WHERE rule_id = ?",
            (rule.name, rule.priority, json.dumps(rule.body()), ctx.store.tick(), rule_id),
        )
        row = _rule_row(conn, partner_name, rule_id)
    return json_response(_rule_json(row))


@api("adapters.presence-rules.delete", write=True)
async def delete_rule(request: Request, ctx: Ctx, _: Principal) -> Response:
    partner_name = partner(request)
    with ctx.store.write() as conn:
        row = _rule_row(conn, partner_name, request.path_params["ruleId"])
        conn.execute("DELETE FROM presence_rules WHERE rule_id = ?", (row["rule_id"],))
    return no_content()


def _applies(conn: sqlite3.Connection, partner_name: str, agent_id: int) -> sqlite3.Row | None:
    """The active rule for ``agent_id``: one naming the agent beats one naming their team, then the lower
    priority, then the older rule."""
    agent = conn.execute("SELECT team_id FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
    team_id = None if agent is None else agent["team_id"]
    ranked = []
    for row in conn.execute(
        "SELECT * FROM presence_rules WHERE partner = ? ORDER BY created_at, rule_id", (partner_name,)
    ):
        body = json.loads(row["body"])
        if not body["isActive"]:
            continue
        if agent_id in body["agentIds"]:
            ranked.append((0, row["priority"], row))
        elif team_id is not None and team_id in body["teamIds"]:
            ranked.append((1, row["priority"], row))
    ranked.sort(key=lambda entry: entry[:2])  # stable: the older rule first among equals
    return ranked[0][2] if ranked else None


@api("adapters.rule.read")
async def read_rule(request: Request, ctx: Ctx, principal: Principal) -> Response:
    """What NICE's agent SDK reads: the rule CXone Agent Embedded applies for the token's agent."""
    partner_name = partner(request)
    partner_id = request.path_params["partnerId"]
    if not _ORG_ID.fullmatch(partner_id):
        raise ApiError.bad(f"partnerId must be a Salesforce organization id (00D..., 15 or 18), got {partner_id!r}")
    if principal.agent_id is None:
        raise ApiError.bad("the presence-sync rule is read with an agent's token (this token speaks for no agent)")
    with ctx.store.read() as conn:
        selected = conn.execute(
            "SELECT 1 FROM account_mappings WHERE partner = ? AND is_selected = 1", (partner_name,)
        ).fetchone()
        if selected is None:
            raise ApiError.not_found(f"no account mapping to {partner_name} organization {partner_id} is selected")
        row = _applies(conn, partner_name, principal.agent_id)
    if row is None:
        raise ApiError.not_found(f"no active presence-sync rule applies to agent {principal.agent_id}")
    return json_response(_rule_json(row))


ROUTES = [
    Route("/adapter-apis/v1/{partner}/presence-rules", list_rules, methods=["GET"]),
    Route("/adapter-apis/v1/{partner}/presence-rules", create_rule, methods=["POST"]),
    Route("/adapter-apis/v1/{partner}/presence-rules/{ruleId}", get_rule, methods=["GET"]),
    Route("/adapter-apis/v1/{partner}/presence-rules/{ruleId}", update_rule, methods=["PUT"]),
    Route("/adapter-apis/v1/{partner}/presence-rules/{ruleId}", delete_rule, methods=["DELETE"]),
    Route("/adapter-apis/v1/{partner}/rule/{partnerId}", read_rule, methods=["GET"]),
]

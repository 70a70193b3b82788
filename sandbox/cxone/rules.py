"""Presence Sync presence rules -- OUR MODEL, not a NICE API (none is public; docs/vendor-apis.md §7g).

The shape follows what NICE's agent SDK reads (a rule is ``publisherStateMap`` + ``subscriberStateMap``,
docs/peers.md §1.2). Vendor facts kept as validation (help.incontact.com/Content/Adapters/PresenceSync/
PresenceSync.htm): rules apply to teams or individual users; "In CXone, agent states are unavailable
codes. You must apply these codes to teams." -- so every ``outStateId`` a rule names must be assigned to
every team the rule covers, including the team of each user it names.

Body (``POST``; ``PUT`` replaces all of it):
``{"name", "priority" (int >= 0, default 0), "publisherStateMap": [{"from": AcdState, "to": ExternalStatus
| {"previousState": true}}], "subscriberStateMap": [{"from": ExternalStatus, "to": AcdState |
{"previousState": true}}], "teamIds": [int], "agentIds": [int]}`` where AcdState is ``{"state":
"Available"}`` or ``{"state": "Unavailable", "outStateId": int}`` (a publisher ``from`` may also be any
platform state, e.g. ``{"state": "InboundContact"}``) and ExternalStatus is ``{"statusId": "0N5..." (15 or
18 characters), "developerName": str}``. Answers add ``ruleId`` and ``lastModified``. Unknown fields → 400.

400: a malformed field (named in the message), a duplicate ``from`` within one map (Salesforce ids compare
on their 15-character form), an unknown/inactive/unassigned ``outStateId``, unknown ``teamIds``/``agentIds``.
409: a duplicate name (case-insensitive), or a team already covered by another rule at the same priority.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.cxone.auth import Principal, api
from sandbox.cxone.mappings import partner
from sandbox.cxone.states import SETTABLE_STATES, STATE_NAMES
from sandbox.cxone.store import format_ms
from sandbox.cxone.web import MAX_INT, ApiError, Ctx, Fields, json_body, json_response, no_content

__all__ = ["ROUTES"]

_BODY = {"name", "priority", "publisherStateMap", "subscriberStateMap", "teamIds", "agentIds"}
_STATUS_ID = re.compile(r"0N5[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?")
# Salesforce API names: a letter first, then letters, digits and single underscores, no trailing underscore.
_DEVELOPER_NAME = re.compile(r"[A-Za-z](?:_?[A-Za-z0-9])*")


@dataclasses.dataclass
class _Rule:
    name: str
    priority: int
    publisher: list[dict[str, Any]]
    subscriber: list[dict[str, Any]]
    team_ids: list[int]
    agent_ids: list[int]
    code_refs: list[tuple[str, int]]  # (field path, outStateId)

    def body(self) -> dict[str, Any]:
        return {
            "publisherStateMap": self.publisher,
            "subscriberStateMap": self.subscriber,
            "teamIds": self.team_ids,
            "agentIds": self.agent_ids,
        }


# ------------------------------------------------------------------------------------------------ parsing


def _acd_state(value: Any, where: str, *, platform: bool) -> dict[str, Any]:
    fields = Fields(value, where, allowed={"state", "outStateId"})
    state = fields.string("state")
    allowed = STATE_NAMES if platform else SETTABLE_STATES
    if state not in allowed:
        hint = "" if platform else " (CXone can only set an agent to Available or Unavailable)"
        raise ApiError.bad(f"{where}.state must be one of {', '.join(allowed)}, got {state!r}{hint}")
    if state == "Unavailable":
        # Without a code: plain Unavailable (the state an agent is in after logging in, and what the agent API
        # sets when no reason is given). With one: Unavailable for that reason.
        code = fields.integer("outStateId", required=False, minimum=1)
        return {"state": state} if code is None else {"state": state, "outStateId": code}
    if fields.has("outStateId"):
        raise ApiError.bad(f"{where}.outStateId is only allowed with state Unavailable")
    return {"state": state}


def _external_status(value: Any, where: str) -> dict[str, Any]:
    fields = Fields(value, where, allowed={"statusId", "developerName"})
    status_id = fields.string("statusId")
    if status_id is None or not _STATUS_ID.fullmatch(status_id):
        raise ApiError.bad(
            f"{where}.statusId must be a ServicePresenceStatus id: 15 or 18 letters and digits "
            f"starting with 0N5, got {status_id!r}"
        )
    developer_name = fields.string("developerName")
    if developer_name is None or len(developer_name) > 80 or not _DEVELOPER_NAME.fullmatch(developer_name):
        raise ApiError.bad(
            f"{where}.developerName must be a Salesforce API name (a letter first, then letters, "
            f"digits and single underscores, at most 80), got {developer_name!r}"
        )
    return {"statusId": status_id, "developerName": developer_name}


def _or_previous(parse: Callable[[Any, str], dict[str, Any]]) -> Callable[[Any, str], dict[str, Any]]:
    def parse_target(value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, dict) and "previousState" in value:
            fields = Fields(value, where, allowed={"previousState"})
            if fields.data["previousState"] is not True:
                raise ApiError.bad(f"{where}.previousState must be true (or leave it out and name a state)")
            return {"previousState": True}
        return parse(value, where)

    return parse_target


def _state_map(
    body: Fields,
    key: str,
    parse_from: Callable[[Any, str], dict[str, Any]],
    parse_to: Callable[[Any, str], dict[str, Any]],
    source_key: Callable[[dict[str, Any]], Any],
) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for index, item in enumerate(body.array(key, required=False)):
        where = f"{key}[{index}]"
        fields = Fields(item, where, allowed={"from", "to"})
        for part in ("from", "to"):
            if fields.data.get(part) is None:
                raise ApiError.bad(f"{where}.{part} is required")
        source = parse_from(fields.data["from"], f"{where}.from")
        target = parse_to(fields.data["to"], f"{where}.to")
        marker = source_key(source)
        if marker in seen:
            raise ApiError.bad(
                f"{where}.from repeats {key}[{seen[marker]}].from; each source state may appear only once in a map"
            )
        seen[marker] = index
        pairs.append({"from": source, "to": target})
    return pairs


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
    publisher = _state_map(
        body,
        "publisherStateMap",
        lambda v, w: _acd_state(v, w, platform=True),
        _or_previous(_external_status),
        lambda s: (s["state"], s.get("outStateId")),
    )
    subscriber = _state_map(
        body,
        "subscriberStateMap",
        _external_status,
        _or_previous(lambda v, w: _acd_state(v, w, platform=False)),
        lambda s: s["statusId"][:15],
    )
    code_refs = [
        (f"publisherStateMap[{i}].from.outStateId", p["from"]["outStateId"])
        for i, p in enumerate(publisher)
        if "outStateId" in p["from"]
    ]
    code_refs += [
        (f"subscriberStateMap[{i}].to.outStateId", p["to"]["outStateId"])
        for i, p in enumerate(subscriber)
        if "outStateId" in p["to"]
    ]
    assert name is not None and priority is not None
    return _Rule(name, priority, publisher, subscriber, _ids(body, "teamIds"), _ids(body, "agentIds"), code_refs)


# ----------------------------------------------------------------------------------------------- checking


def _check_references(conn: sqlite3.Connection, rule: _Rule) -> None:
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
    for path, code_id in rule.code_refs:
        code = conn.execute("SELECT * FROM unavailable_codes WHERE code_id = ?", (code_id,)).fetchone()
        if code is None:
            raise ApiError.bad(f"{path}: unavailable code {code_id} does not exist")
        if not code["is_active"]:
            raise ApiError.bad(f"{path}: unavailable code {code_id} ({code['name']}) is inactive")
        for team_id, label in covered.items():
            if (
                conn.execute(
                    "SELECT 1 FROM team_codes WHERE team_id = ? AND code_id = ?", (team_id, code_id)
                ).fetchone()
                is None
            ):
                raise ApiError.bad(
                    f"{path}: unavailable code {code_id} ({code['name']}) is not assigned to {label}; agent states "
                    "are unavailable codes; you must apply these codes to teams "
                    "(POST /teams/{teamId}/unavailable-codes)"
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


ROUTES = [
    Route("/adapter-apis/v1/{partner}/presence-rules", list_rules, methods=["GET"]),
    Route("/adapter-apis/v1/{partner}/presence-rules", create_rule, methods=["POST"]),
    Route("/adapter-apis/v1/{partner}/presence-rules/{ruleId}", get_rule, methods=["GET"]),
    Route("/adapter-apis/v1/{partner}/presence-rules/{ruleId}", update_rule, methods=["PUT"]),
    Route("/adapter-apis/v1/{partner}/presence-rules/{ruleId}", delete_rule, methods=["DELETE"]),
]

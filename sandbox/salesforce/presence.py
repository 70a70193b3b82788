"""Omni-Channel presence, emulator-only: an "agent console" that plays the Omni widget and the Lightning
bridge, and a durable change feed of UserServicePresence changes.

Real Salesforce has no server API to set presence; agents do it in the Omni widget, and the product's
Lightning component applies ``Omni_Presence_Command__e`` platform events in the agent's browser through the
Omni toolkit. Here:

* ``POST /__sandbox/console/login|status|logout`` act as the agent in the widget.
* A published ``Omni_Presence_Command__e`` is applied like the bridge would (reason OmniToolkitStatusChange);
  each outcome is readable at ``GET /__sandbox/console/results``.
* Every change writes UserServicePresence rows as Salesforce does (the current row is closed with
  StatusEndDate/StatusDuration, a new one opened with IsCurrentState) and appends change events modelled on
  ``UserServicePresenceChangeEvent`` to the org's event bus, which the Pub/Sub API serves (``pubsub/``) on
  ``/data/UserServicePresenceChangeEvent``, as production delivers change data capture.
"""

from __future__ import annotations

import collections
import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .dml import stamp
from .ids import is_id
from .org import Org, parse_datetime
from .pubsub.bus import EventBus

__all__ = ["CDC_CHANNEL", "COMMAND_EVENT", "AgentConsole"]

CDC_CHANNEL = "UserServicePresenceChangeEvent"
COMMAND_EVENT = "Omni_Presence_Command__e"
RESULTS_CHANNEL = "__console_results"
MANUAL_REASONS = frozenset(
    {
        "OmniManualStatusChange",
        "OmniSupervisorStatusChange",
        "OmniPushTimeout",
        "OmniDeclineWork",
        "OmniLoginStatusChange",
        "OmniToolkitStatusChange",
    }
)
DEFAULT_CAPACITY = 5


class ConsoleError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class HandledCommands:
    """The bridge's memory of the command ids a console handled (salesforce/bridge/.../bridgeLogic.js
    ``createDeduper``): the same bounds (the newest 500, for 10 minutes), so a command delivered twice -- a
    repeated publish, or a replica's write that was on the wire when it froze and landed after the new owner
    repeated it under the same id -- is applied once."""

    CAPACITY, TTL_SECONDS = 500, 600.0

    def __init__(self) -> None:
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()

    def first_time(self, command_id: str) -> bool:
        now, seen = time.monotonic(), self._seen
        while seen and (len(seen) >= self.CAPACITY or next(iter(seen.values())) < now - self.TTL_SECONDS):
            seen.popitem(last=False)
        if command_id in self._seen:
            return False
        self._seen[command_id] = now
        return True


class AgentConsole:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.bus = EventBus(org)
        self._handled: dict[str, HandledCommands] = {}  # one per agent's console
        org.event_listeners.append(self._on_platform_event)

    # -- presence rules ------------------------------------------------------------------------------------
    def _user(self, ref: Any) -> dict[str, Any]:
        if not isinstance(ref, str) or not ref:
            raise ConsoleError(400, "user (id, username or email) is required")
        user = (
            (self.org.store.get("User", ref) if is_id(ref) else None)
            or self.org.find_live("User", Username=ref)
            or self.org.find_live("User", Email=ref)
        )
        if user is None or user.get("IsDeleted"):
            raise ConsoleError(404, f"no user {ref}")
        if not user.get("IsActive"):
            raise ConsoleError(409, f"user {ref} is inactive")
        return user

    def _status(self, ref: Any) -> dict[str, Any]:
        if not isinstance(ref, str) or not ref:
            raise ConsoleError(400, "status (id or developer name) is required")
        status = (self.org.store.get("ServicePresenceStatus", ref) if is_id(ref) else None) or self.org.find_live(
            "ServicePresenceStatus", DeveloperName=ref
        )
        if status is None or status.get("IsDeleted"):
            raise ConsoleError(404, f"no presence status {ref}")
        return status

    def granted_status_ids(self, user: dict[str, Any]) -> set[str]:
        """Statuses granted to the user's profile (SetupEntityAccess on its profile-owned permission set)."""
        sets = {
            p["Id"]
            for p in self.org.live("PermissionSet")
            if p.get("IsOwnedByProfile") and p.get("ProfileId") == user.get("ProfileId")
        }
        return {g["SetupEntityId"] for g in self.org.store.table("SetupEntityAccess").values() if g["ParentId"] in sets}

    def current(self, user_id: str) -> dict[str, Any] | None:
        return next(
            (r for r in self.org.live("UserServicePresence") if r["UserId"] == user_id and r.get("IsCurrentState")),
            None,
        )

    def _has_channels(self, status_id: str) -> bool:
        return any(r["ServicePresenceStatusId"] == status_id for r in self.org.live("ServiceChannelStatus"))

    def set_status(
        self, user: dict[str, Any], status: dict[str, Any] | None, reason: str, *, require_login: bool
    ) -> dict[str, Any] | None:
        """Move ``user`` to ``status`` (None: log out). Returns the new current row."""
        current = self.current(user["Id"])
        if require_login and current is None:
            raise ConsoleError(409, "the agent is not logged in to Omni-Channel")
        if status is not None:
            if status["Id"] not in self.granted_status_ids(user):
                raise ConsoleError(
                    403, f"presence status {status['DeveloperName']} is not granted to the agent's profile"
                )
            if current is not None and current["ServicePresenceStatusId"] == status["Id"]:
                return current
        obj = self.org.require_object("UserServicePresence")
        now = self.org.now()
        transaction = str(uuid.uuid4())
        events: list[dict[str, Any]] = []
        with self.org.store.batch():
            if current is not None:
                started = parse_datetime(current["StatusStartDate"])
                duration = int(max(0.0, parse_datetime(now).timestamp() - started.timestamp()))
                closed = {**current, "IsCurrentState": False, "StatusEndDate": now, "StatusDuration": duration}
                stamp(obj, closed, user["Id"], now, created=False)
                self.org.store.save(obj.name, closed)
                changed = ["IsCurrentState", "StatusEndDate", "StatusDuration", "LastModifiedDate"]
                events.append(self._change_event(closed, "UPDATE", changed, transaction, user["Id"]))
            row: dict[str, Any] | None = None
            if status is not None:
                row = {f.name: None for f in obj.fields}
                number = sum(1 for _ in self.org.store.table(obj.name)) + 1
                row.update(
                    Id=self.org.store.new_id(obj.key_prefix),
                    Name=f"USP-{number:010d}",
                    OwnerId=user["Id"],
                    UserId=user["Id"],
                    ServicePresenceStatusId=status["Id"],
                    IsAway=not self._has_channels(status["Id"]),
                    IsCurrentState=True,
                    StatusStartDate=now,
                    ConfiguredCapacity=DEFAULT_CAPACITY,
                    AtCapacityDuration=0,
                    AverageCapacity=0.0,
                    IdleDuration=0,
                )
                stamp(obj, row, user["Id"], now, created=True)
                self.org.store.save(obj.name, row)
                fields = [k for k, v in row.items() if v is not None and k != "Id"]
                events.append(self._change_event(row, "CREATE", fields, transaction, user["Id"]))
            for sequence, event in enumerate(events, start=1):
                event["ChangeEventHeader"]["sequenceNumber"] = sequence
                self.org.store.append_event(CDC_CHANNEL, event)
        self._notify()
        return row

    def _change_event(
        self, row: dict[str, Any], change_type: str, changed: list[str], transaction: str, user_id: str
    ) -> dict[str, Any]:
        header = {
            "entityName": "UserServicePresence",
            "recordIds": [row["Id"]],
            "changeType": change_type,
            "changeOrigin": "",
            "transactionKey": transaction,
            "sequenceNumber": 1,
            "commitTimestamp": int(time.time() * 1000),
            "commitNumber": int(time.time() * 1_000_000),
            "commitUser": user_id,
            "changedFields": changed if change_type == "UPDATE" else [],
            "nulledFields": [],
            "diffFields": [],
        }
        if change_type == "CREATE":
            return {"ChangeEventHeader": header, **{k: v for k, v in row.items() if k != "Id" and v is not None}}
        return {"ChangeEventHeader": header, **{k: row.get(k) for k in changed}}

    def _notify(self) -> None:
        self.bus.notify()

    # -- the Lightning bridge ---------------------------------------------------------------------------------
    def _on_platform_event(self, name: str, event: dict[str, Any], publisher_id: str) -> None:
        if name != COMMAND_EVENT:
            self._notify()
            return
        result: dict[str, Any] = {
            "commandId": event.get("CommandId__c"),
            "userId": event.get("UserId__c"),
            "statusId": event.get("StatusId__c"),
            "replayId": event.get("ReplayId"),
            "at": self.org.now(),
        }
        try:
            user = self._user(event.get("UserId__c"))
            command_id = str(event.get("CommandId__c") or "").strip()
            if command_id and not self._handled.setdefault(user["Id"], HandledCommands()).first_time(command_id):
                return  # the bridge ignores a command id it handled (no result either)
            status = self._status(event.get("StatusId__c"))
            self.set_status(user, status, "OmniToolkitStatusChange", require_login=True)
            result.update(success=True, error=None)
        except ConsoleError as failure:
            result.update(success=False, error=failure.message)
        self.org.store.append_event(RESULTS_CHANNEL, result)
        self._notify()

    # -- HTTP -------------------------------------------------------------------------------------------------
    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            raise ConsoleError(400, f"malformed JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ConsoleError(400, "the body must be a JSON object")
        return body

    def _agent(self, user: dict[str, Any]) -> dict[str, Any]:
        row = self.current(user["Id"])
        status = self.org.store.get("ServicePresenceStatus", row["ServicePresenceStatusId"]) if row else None
        return {
            "userId": user["Id"],
            "username": user["Username"],
            "email": user["Email"],
            "loggedIn": row is not None,
            "statusId": status["Id"] if status else None,
            "statusDeveloperName": status["DeveloperName"] if status else None,
            "isAway": row["IsAway"] if row else None,
            "since": row["StatusStartDate"] if row else None,
        }

    async def handle(self, request: Request) -> Response:
        action = request.path_params["action"]
        try:
            if action == "agents" and request.method == "GET":
                return JSONResponse({"agents": [self._agent(u) for u in self.org.live("User")]})
            if action == "results" and request.method == "GET":
                after, limit = _int(request, "after", 0), _int(request, "limit", 100)
                results = [
                    {"sequence": rid, **r} for rid, r in self.org.store.events(RESULTS_CHANNEL, after, min(limit, 1000))
                ]
                return JSONResponse({"results": results})
            if request.method != "POST" or action not in ("login", "status", "logout"):
                raise ConsoleError(404, f"no console action {request.method} {action}")
            body = await self._body(request)
            user = self._user(body.get("user"))
            if action == "logout":
                if self.current(user["Id"]) is None:
                    raise ConsoleError(409, "the agent is not logged in to Omni-Channel")
                self.set_status(user, None, "OmniLoginStatusChange", require_login=True)
            else:
                reason = body.get("reason", "OmniLoginStatusChange" if action == "login" else "OmniManualStatusChange")
                if reason not in MANUAL_REASONS:
                    raise ConsoleError(400, f"reason must be one of {sorted(MANUAL_REASONS)}")
                self.set_status(user, self._status(body.get("status")), reason, require_login=action == "status")
            return JSONResponse(self._agent(user))
        except ConsoleError as failure:
            return JSONResponse({"error": failure.message}, status_code=failure.status)


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConsoleError(400, f"{name} must be an integer") from None

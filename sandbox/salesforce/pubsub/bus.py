"""The org's event bus as the Pub/Sub API sees it: topics, schemas, replay ids, retention, wake-ups.

Events live in the org store's ``events`` table (the replay id is the row id); the channel of a change event
is ``<Entity>ChangeEvent`` and of a platform event its API name. A custom channel ``/data/<Name>__chn``
(deployed PlatformEventChannel + PlatformEventChannelMember, ``metadata_channels``) serves its member's change
events with the standard channel's replay ids (a model: Salesforce's are per channel, and opaque either way). A
replay id travels as 8 bytes, big-endian (opaque to clients, which must not compute with it). Retention: 72 hours,
as Salesforce keeps events; an operator can also purge everything up to now (``POST /__sandbox/eventbus/purge``)
to stand in for time passing.

Operator routes (emulator-only, ``/__sandbox/eventbus/{action}``):

* ``GET status``                       topics, latest replay ids, purge floors, open streams
* ``POST purge``                       every event so far falls out of retention (older replay ids are refused)
* ``POST drop-streams``                every open Subscribe call ends with UNAVAILABLE (a server-side drop)
* ``POST cdc {"entity", "enabled"}``   select or deselect an entity for Change Data Capture (Setup's choice)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..metadata_base import one
from ..metadata_channels import channel_members
from ..org import Org
from .avro import EventSchema, change_event_schema, platform_event_schema

__all__ = ["RETENTION_SECONDS", "EventBus", "Topic", "replay_bytes", "replay_int"]

RETENTION_SECONDS = 72 * 3600
CDC_SELECTED_BY_DEFAULT = ("UserServicePresence",)
REPLAY_ID_BYTES = 8


def replay_bytes(replay_id: int) -> bytes:
    return max(replay_id, 0).to_bytes(REPLAY_ID_BYTES, "big")


def replay_int(raw: bytes) -> int | None:
    return int.from_bytes(raw, "big") if len(raw) == REPLAY_ID_BYTES else None


class Topic:
    def __init__(self, name: str, channel: str, schema: EventSchema) -> None:
        self.name = name
        self.channel = channel
        self.schema = schema


class TopicUnknown(Exception):
    """No such topic, or (for a change event channel) the entity is not selected for Change Data Capture."""


class EventBus:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.cdc_selected = set(CDC_SELECTED_BY_DEFAULT)
        self.drops = 0  # bumped by drop-streams; a stream that sees it change ends
        self.open_streams = 0
        self._floors: dict[str, int] = {}  # channel -> newest purged replay id
        self._wakeup = asyncio.Event()
        self._schemas: dict[str, EventSchema] = {}
        org.event_listeners.append(lambda *_: self.notify())

    # -- topics and schemas
    def topic(self, name: str) -> Topic:
        if name.startswith("/data/") and name.endswith("ChangeEvent"):
            entity = name.removeprefix("/data/").removesuffix("ChangeEvent")
            obj = self.org.object_def(entity)
            if obj is None or obj.is_event or obj.name not in self.cdc_selected:
                raise TopicUnknown(name)
            return self._topic(name, f"{obj.name}ChangeEvent", change_event_schema(obj))
        if name.startswith("/data/") and name.endswith("__chn"):
            return self._custom_channel(name)
        if name.startswith("/event/"):
            obj = self.org.object_def(name.removeprefix("/event/"))
            if obj is None or not obj.is_event:
                raise TopicUnknown(name)
            return self._topic(name, obj.name, platform_event_schema(obj))
        raise TopicUnknown(name)

    def _custom_channel(self, name: str) -> Topic:
        """A deployed ``data`` channel serves its member's change events (the first member's: a model, Salesforce
        interleaves several members' events); none selected yet, NOT_FOUND like an unknown topic."""
        channel = self.org.store.metadata("PlatformEventChannel", name.removeprefix("/data/"))
        members = channel_members(self.org, name.removeprefix("/data/")) if channel else []
        if not members or one(channel or {}, "channelType") != "data":
            raise TopicUnknown(name)
        entity = str(one(members[0], "selectedEntity")).removesuffix("ChangeEvent")
        obj = self.org.object_def(entity[:-2] + "__c" if entity.endswith("__") else entity)
        if obj is None:
            raise TopicUnknown(name)
        return self._topic(name, f"{obj.name}ChangeEvent", change_event_schema(obj))

    def _topic(self, name: str, channel: str, schema: EventSchema) -> Topic:
        self._schemas[schema.id] = schema
        return Topic(name, channel, schema)

    def schema(self, schema_id: str) -> EventSchema | None:
        if schema_id not in self._schemas:  # ids of topics nobody asked for yet
            for name in [f"/data/{e}ChangeEvent" for e in self.cdc_selected] + [
                f"/event/{o.name}" for o in self.org.objects() if o.is_event
            ]:
                with contextlib.suppress(TopicUnknown):
                    self.topic(name)
        return self._schemas.get(schema_id)

    # -- positions and retention
    def latest(self, channel: str) -> int:
        return max(self.org.store.latest_replay_id(channel), self._floors.get(channel, 0))

    def floor(self, channel: str) -> int:
        """The newest replay id no longer retained (0: nothing purged)."""
        floor = self._floors.get(channel, 0)
        cutoff_ms = (time.time() - RETENTION_SECONDS) * 1000
        for replay_id, payload in self.org.store.events(channel, floor, 1000):
            if _event_time_ms(payload) >= cutoff_ms:
                break
            floor = replay_id
        return floor

    def events(self, channel: str, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        return self.org.store.events(channel, after, limit)

    # -- wake-ups
    def notify(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)

    @contextlib.contextmanager
    def stream(self) -> Iterator[None]:
        self.open_streams += 1
        try:
            yield
        finally:
            self.open_streams -= 1

    # -- operator
    async def operate(self, request: Request) -> Response:
        action = request.path_params["action"]
        if request.method == "GET" and action == "status":
            return JSONResponse(self._status())
        if request.method != "POST":
            return JSONResponse({"error": f"no event bus action {request.method} {action}"}, status_code=404)
        if action == "purge":
            for channel in {c for c, _ in self._channels()}:
                self._floors[channel] = self.latest(channel)
        elif action == "drop-streams":
            self.drops += 1
        elif action == "cdc":
            try:
                body = json.loads(await request.body() or b"{}")
                entity, enabled = str(body["entity"]), bool(body["enabled"])
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"error": 'the body must be {"entity": "<Name>", "enabled": bool}'}, 400)
            (self.cdc_selected.add if enabled else self.cdc_selected.discard)(entity)
        else:
            return JSONResponse({"error": f"no event bus action {action}"}, status_code=404)
        self.notify()
        return JSONResponse(self._status())

    def _channels(self) -> list[tuple[str, str]]:
        cdc = [(f"{e}ChangeEvent", f"/data/{e}ChangeEvent") for e in sorted(self.cdc_selected)]
        return cdc + [(o.name, f"/event/{o.name}") for o in self.org.objects() if o.is_event]

    def _status(self) -> dict[str, Any]:
        topics = {
            topic: {"latestReplayId": self.latest(channel), "purgedThrough": self.floor(channel)}
            for channel, topic in self._channels()
        }
        return {"topics": topics, "cdcSelected": sorted(self.cdc_selected), "openStreams": self.open_streams}


def _event_time_ms(payload: dict[str, Any]) -> float:
    header = payload.get("ChangeEventHeader")
    if isinstance(header, dict) and isinstance(header.get("commitTimestamp"), int | float):
        return float(header["commitTimestamp"])
    created = payload.get("CreatedDate")
    if isinstance(created, str):
        return datetime.fromisoformat(created.replace("Z", "+00:00").replace("+0000", "+00:00")).timestamp() * 1000
    return time.time() * 1000

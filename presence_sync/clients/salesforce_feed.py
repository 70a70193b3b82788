"""Where presence changes come from: the ``PresenceChangeFeed`` seam.

Production Salesforce delivers ``UserServicePresenceChangeEvent`` (change data capture) through the
Pub/Sub API (gRPC, Avro payloads, replay ids). That is a streaming subscription, not a REST call, so
the client reads changes through this protocol: ``read(after_replay_id, wait_ms, limit)`` returns the
events after a replay id and the replay id to resume from. ``SandboxPresenceChangeFeed`` reads the
sandbox's long-poll rendition of the same stream:

    GET {instance_url}/__sandbox/cdc/UserServicePresenceChangeEvent?replayId=&limit=&waitMs=

A Pub/Sub implementation plugs in here without touching the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from presence_sync.clients.salesforce_models import PresenceChangeEvent, parse_datetime

__all__ = ["CDC_PATH", "PresenceChangeFeed", "SandboxPresenceChangeFeed", "event_from_message"]

CDC_PATH = "/__sandbox/cdc/UserServicePresenceChangeEvent"
EARLIEST = -2
LATEST = -1


class PresenceChangeFeed(Protocol):
    def read(
        self, sf: Any, instance_url: str, after_replay_id: int | None, wait_ms: int, limit: int
    ) -> tuple[list[PresenceChangeEvent], int | None]:
        """Events after ``after_replay_id`` (None = the earliest retained), and the replay id to resume from.

        ``sf`` is the logged-in simple-salesforce handle (its ``session`` and ``session_id``); raise
        simple-salesforce or ``requests`` exceptions and the client maps and retries them.
        """
        ...


class SandboxPresenceChangeFeed:
    """Long-polls the sandbox's CDC endpoint with the client's session and token."""

    def __init__(self, owner: object | None = None) -> None:
        self._owner = owner  # kept for symmetry with feeds that need the client; unused here

    def read(
        self, sf: Any, instance_url: str, after_replay_id: int | None, wait_ms: int, limit: int
    ) -> tuple[list[PresenceChangeEvent], int | None]:
        from simple_salesforce.util import exception_handler

        # Pub/Sub's conventions: -2 = from the earliest retained event, -1 = only new ones.
        replay = EARLIEST if after_replay_id is None else after_replay_id
        params: dict[str, Any] = {"replayId": replay, "limit": limit, "waitMs": wait_ms}
        response = sf.session.get(
            f"{instance_url}{CDC_PATH}",
            params=params,
            headers={"Authorization": f"Bearer {sf.session_id}", "Accept": "application/json"},
            # the long poll must not hit the session's default read timeout
            timeout=(10.0, max(30.0, wait_ms / 1000 + 15.0)),
        )
        if response.status_code >= 300:
            exception_handler(response, name="cdc")
        body = response.json()
        raw_events = body.get("events", []) if isinstance(body, Mapping) else body
        events = [event_from_message(raw) for raw in raw_events]
        last = _int_or_none(body.get("latestReplayId") if isinstance(body, Mapping) else None)
        if events:
            last = max(last or 0, events[-1].replay_id)
        if last is not None and last < 0:
            last = None
        return events, last if last is not None else after_replay_id


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def event_from_message(message: Mapping[str, Any]) -> PresenceChangeEvent:
    """A CDC event as Salesforce shapes it: ``{replayId, payload: {ChangeEventHeader, <fields>}}``.

    Flat messages (fields beside ``replayId``) are accepted too.
    """
    payload: Mapping[str, Any] = message.get("payload") or message.get("event") or message
    header: Mapping[str, Any] = payload.get("ChangeEventHeader") or {}
    record_ids = header.get("recordIds") or []
    fields = {k: v for k, v in payload.items() if k != "ChangeEventHeader"}
    timestamp = header.get("commitTimestamp")
    committed: datetime | None
    if isinstance(timestamp, int | float):
        committed = datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    else:
        committed = parse_datetime(timestamp)
    return PresenceChangeEvent(
        replay_id=int(message.get("replayId") or payload.get("replayId") or 0),
        change_type=str(header.get("changeType") or payload.get("changeType") or "UPDATE"),
        record_id=record_ids[0] if record_ids else payload.get("Id"),
        user_id=payload.get("UserId"),
        status_id=payload.get("ServicePresenceStatusId"),
        status_developer_name=payload.get("ServicePresenceStatusDeveloperName")
        or (payload.get("ServicePresenceStatus") or {}).get("DeveloperName"),
        is_away=payload.get("IsAway"),
        is_current=payload.get("IsCurrentState"),
        commit_timestamp=committed,
        commit_user=header.get("commitUser"),
        changed_fields=list(header.get("changedFields") or []),
        fields=dict(fields),
    )

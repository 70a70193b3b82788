"""``PubSubPresenceFeed``: Omni-Channel presence changes from the Salesforce Pub/Sub API, for the runtime.

The same code runs against a real org and against the sandbox; only the connection settings differ:

* where: ``SF_PUBSUB_ENDPOINT`` (``api.pubsub.salesforce.com:7443`` by default), TLS trusting
  ``REQUESTS_CA_BUNDLE`` when set (the sandbox's CA), the system's roots otherwise, as the REST client does;
* who: the REST client's login (``accesstoken`` = its session, ``instanceurl``, ``tenantid`` = the org id,
  the 18-character form of the session id's first 15 characters); an expired session is refreshed through
  that client, which logs in again;
* what: ``topic`` (``/data/UserServicePresenceChangeEvent``, or a custom channel ``/data/<Name>__chn``).

``read_presence_changes(after, wait_ms, limit)`` is the runtime's pull: the events after ``after`` (a replay
id as hex text, as the runtime stores it; None: from when the stream was opened; -1: open it at LATEST
now; -2: from the earliest event retained) and the position to store with them. The subscription stays open
between reads; a read from another position (a restart, a resync) reopens it there. A refused replay id
raises ``ReplayIdRefused``, a refused topic
``TopicRefused`` (its message names what the admin enables), a stream that lost its position before it had
one ``StreamPositionLost``: the runtime resyncs in the first and last cases.
"""

from __future__ import annotations

import pathlib
import queue
import threading
from datetime import datetime
from typing import Any

import grpc

from presence_sync.clients.pubsub import pubsub_api_pb2 as pb2
from presence_sync.clients.pubsub import pubsub_api_pb2_grpc as pb2_grpc
from presence_sync.clients.pubsub.codec import SchemaCache
from presence_sync.clients.pubsub.stream import (
    Item,
    Sessions,
    StreamSession,
    Subscription,
    drain,
    vendor_error,
)
from presence_sync.clients.salesforce_models import CurrentPresence, PresenceChangeEvent

__all__ = ["DEFAULT_TOPIC", "EARLIEST", "LATEST", "MAX_BATCH", "ClientSessions", "PubSubPresenceFeed", "org_id_18"]

DEFAULT_TOPIC = "/data/UserServicePresenceChangeEvent"
MAX_BATCH = 100  # the most events a Subscribe call may have requested and not yet received
LATEST = -1
EARLIEST = -2
OPEN_WAIT_SECONDS = 10.0
CHANNEL_OPTIONS = (
    # HTTP/2 pings find a dead connection between events; not more often than every 5 minutes, gRPC servers'
    # default floor for pings without data (more often and a server answers GOAWAY "too_many_pings"). The
    # server's own keepalive responses (within 270 s) carry data in between.
    ("grpc.keepalive_time_ms", 300_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def org_id_18(org_id: str) -> str:
    """A Salesforce id in its 18-character, case-safe form (the 3-character checksum of 3 chunks of 5)."""
    if len(org_id) != 15:
        return org_id
    suffix = ""
    for chunk in (org_id[0:5], org_id[5:10], org_id[10:15]):
        suffix += _CHECKSUM[sum(1 << i for i, c in enumerate(chunk) if c.isupper())]
    return org_id + suffix


class ClientSessions:
    """The REST client's login as Pub/Sub call metadata; ``refresh`` logs in again (once for many callers)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def current(self) -> StreamSession:
        conn = self._client._connect()  # the client's login; presence_sync.clients owns both sides
        token = str(conn.sf.session_id)
        return StreamSession(token, conn.instance_url, org_id_18(token.split("!", 1)[0]), conn.generation)

    def refresh(self, stale: StreamSession) -> StreamSession:
        self._client._relogin(stale.generation)
        return self.current()


def _credentials(ca_bundle: str | None) -> grpc.ChannelCredentials:
    roots = pathlib.Path(ca_bundle).read_bytes() if ca_bundle else None
    return grpc.ssl_channel_credentials(root_certificates=roots)


class PubSubPresenceFeed:
    """Presence changes over the Pub/Sub API, with ``poll_current_presence`` from the REST client beside it."""

    vendor = "salesforce"

    def __init__(
        self,
        client: Any,
        *,
        topic: str = DEFAULT_TOPIC,
        batch: int = MAX_BATCH,
        sessions: Sessions | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        settings = client.settings
        self._client = client
        self.topic = topic
        self._batch = max(1, min(batch, MAX_BATCH))
        self._sessions = sessions or ClientSessions(client)
        self._channel = channel or grpc.secure_channel(
            settings.pubsub_endpoint, _credentials(settings.ca_bundle), options=CHANNEL_OPTIONS
        )
        self._stub = pb2_grpc.PubSubStub(self._channel)
        self.schemas = SchemaCache(self._get_schema)
        self._items: queue.Queue[Item] = queue.Queue()
        self._subscription: Subscription | None = None
        self._position: str | None = None
        self._generation = 0
        self._lock = threading.Lock()

    # -- the runtime's surface
    def read_presence_changes(
        self, after: str | int | None, wait_ms: int = 0, limit: int = MAX_BATCH
    ) -> tuple[list[PresenceChangeEvent], str | None]:
        with self._lock:
            if after == EARLIEST:
                self._open(None, earliest=True)
                after = None
            elif after == LATEST:
                self._open(None)
                assert self._subscription is not None
                # Positioned before the caller looks elsewhere (a snapshot): a change after this is on the stream.
                self._subscription.opened.wait(OPEN_WAIT_SECONDS)
                return [], None
            wanted = None if after is None else str(after)
            if self._subscription is None or wanted != self._position:
                self._open(wanted)
            return self._take(wait_ms / 1000, limit)

    def position_from_text(self, text: str) -> str:
        """A stored position as this feed takes it back: the replay id's hex text, unchanged."""
        return text

    def poll_current_presence(self, since: datetime | None = None) -> tuple[list[CurrentPresence], datetime | None]:
        result: tuple[list[CurrentPresence], datetime | None] = self._client.poll_current_presence(since)
        return result

    @property
    def reconnects(self) -> int:
        return self._subscription.reconnects if self._subscription is not None else 0

    def close(self) -> None:
        self._items.put(Item(generation=-1))  # wakes a reader waiting for the next item (nothing it keeps)
        with self._lock:
            self._stop()
        self._channel.close()

    # -- inside
    def _open(self, position: str | None, *, earliest: bool = False) -> None:
        self._stop()
        self._generation += 1
        self._position = position
        self._subscription = Subscription(
            self._stub,
            self._sessions,
            self.schemas,
            topic=self.topic,
            start=None if position is None else bytes.fromhex(position),
            earliest=earliest,
            batch=self._batch,
            out=self._items,
            generation=self._generation,
        )
        self._subscription.start()

    def _stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    def _take(self, wait: float, limit: int) -> tuple[list[PresenceChangeEvent], str | None]:
        events: list[PresenceChangeEvent] = []
        for item in drain(self._items, wait, limit):
            if item.generation != self._generation:
                continue  # from a subscription closed since
            if item.error is not None:
                self._stop()
                raise item.error
            if item.event is not None:
                events.append(item.event)
            self._position = item.replay_id.hex()
        if events and self._subscription is not None:
            self._subscription.grant(len(events))
        return events, self._position

    def _get_schema(self, schema_id: str) -> str:
        session = self._sessions.current()
        try:
            info = self._stub.GetSchema(pb2.SchemaRequest(schema_id=schema_id), metadata=session.metadata())
        except grpc.RpcError as error:
            raise vendor_error(error, "GetSchema", self.topic) from None
        return str(info.schema_json)

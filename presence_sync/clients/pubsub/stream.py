"""One Pub/Sub ``Subscribe`` call kept alive in a thread: reconnects, refreshes the session, flow control.

The thread opens ``Subscribe`` with a first ``FetchRequest`` (topic, replay preset, ``num_requested``), decodes
each event (schemas cached per id) and puts it on the reader's queue, then asks for as many more as the reader
took (``grant``): the server never has more than ``batch`` events in flight for us, and the queue stays short.

When the stream ends it resumes after the last event it queued (CUSTOM + that replay id, or the keepalive's
latest replay id), so nothing queued is asked for twice and nothing after it is skipped:

* UNAUTHENTICATED (the session expired): the session is refreshed (a new login) and the stream reopened at
  once, position kept;
* UNAVAILABLE and other transient failures (the server dropped the stream, the network broke): reopened with
  exponential backoff and jitter (tenacity), reset once a reopened stream delivered something;
* a refused topic, a refused replay id or a failed login: the error goes to the reader and the thread ends;
* a stream opened at LATEST that ends before any event or keepalive told it its position cannot be resumed
  without a gap: ``StreamPositionLost`` goes to the reader (the runtime resyncs).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterator
from typing import Any, Protocol

import grpc
import tenacity

from presence_sync.clients.errors import (
    AuthenticationFailed,
    InvalidRequest,
    PermissionDenied,
    ServiceUnavailable,
    TransientVendorError,
    VendorError,
)
from presence_sync.clients.pubsub import pubsub_api_pb2 as pb2
from presence_sync.clients.pubsub.codec import SchemaCache, presence_change
from presence_sync.clients.salesforce_models import PresenceChangeEvent

__all__ = [
    "Item",
    "ReplayIdRefused",
    "Sessions",
    "StreamPositionLost",
    "StreamSession",
    "Subscription",
    "TopicRefused",
    "vendor_error",
]

REPLAY_REFUSED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
MAX_AUTH_FAILURES = 2
PERMANENT = frozenset(
    {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNIMPLEMENTED}
)


class TopicRefused(PermissionDenied):
    """The org does not deliver the topic to this user: not enabled, not permitted, or no such channel."""

    hint = (
        "In Setup > Change Data Capture, add 'User Presence' (UserServicePresence, API 62.0+) to Selected Entities "
        "(or add it to the custom channel named by salesforce_topic), and give the integration user 'View All "
        "Data' or read access to UserServicePresence; or set salesforce_poll_fallback: true in the runtime config "
        "to poll UserServicePresence instead."
    )


class ReplayIdRefused(InvalidRequest):
    """The stored replay id is outside the retention window (72 hours) or otherwise no longer valid."""


class StreamPositionLost(ServiceUnavailable):
    """A stream opened at LATEST ended before it told us any position: what happened meanwhile is unknown."""


@dataclasses.dataclass(frozen=True)
class StreamSession:
    access_token: str
    instance_url: str
    tenant_id: str
    generation: int

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("accesstoken", self.access_token), ("instanceurl", self.instance_url), ("tenantid", self.tenant_id))


class Sessions(Protocol):
    def current(self) -> StreamSession: ...

    def refresh(self, stale: StreamSession) -> StreamSession: ...


@dataclasses.dataclass(frozen=True)
class Item:
    generation: int
    replay_id: bytes = b""
    event: PresenceChangeEvent | None = None  # None: a keepalive (replay_id is the latest)
    error: VendorError | None = None


def vendor_error(error: grpc.RpcError, operation: str, topic: str) -> VendorError:
    """A gRPC failure as the client's error tree has it (the ``error-code`` trailer kept)."""
    code = error.code()
    trailers = dict(error.trailing_metadata() or ())
    error_code = str(trailers.get("error-code") or code.name)
    detail = f"{code.name}: {error.details() or 'no details'}"
    kwargs: dict[str, Any] = {"vendor": "salesforce", "operation": operation, "object": topic}
    if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
        return TopicRefused(detail, error_code=error_code, **kwargs)
    if error_code == REPLAY_REFUSED:
        return ReplayIdRefused(detail, error_code=error_code, **kwargs)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return AuthenticationFailed(detail, error_code=error_code, **kwargs)
    if code in PERMANENT:
        return InvalidRequest(detail, error_code=error_code, **kwargs)
    return ServiceUnavailable(detail, error_code=error_code, **kwargs)


class _Dropped(Exception):
    def __init__(self, progressed: bool, cause: VendorError) -> None:
        super().__init__(str(cause))
        self.progressed = progressed
        self.cause = cause


class _Lost(Exception):
    def __init__(self, cause: VendorError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Subscription(threading.Thread):
    def __init__(
        self,
        stub: Any,
        sessions: Sessions,
        schemas: SchemaCache,
        *,
        topic: str,
        start: bytes | None,
        earliest: bool = False,
        batch: int,
        out: queue.Queue[Item],
        generation: int,
    ) -> None:
        super().__init__(name=f"pubsub-{topic}", daemon=True)
        self._stub, self._sessions, self._schemas = stub, sessions, schemas
        self.topic, self._position, self._batch = topic, start, batch
        self._earliest = earliest  # with no position: from the oldest event retained, not from now
        self._out, self.generation = out, generation
        self._closed = threading.Event()
        self.opened = threading.Event()  # the server answered the first request with its headers: positioned
        self._requests: queue.Queue[Any] = queue.Queue()
        self._call: Any = None
        self._auth_failures = 0  # in a row, without anything delivered in between
        self.reconnects = 0

    # -- the reader's side
    def grant(self, count: int) -> None:
        if count > 0:
            self._requests.put(pb2.FetchRequest(num_requested=count))

    def close(self) -> None:
        self._closed.set()
        self._requests.put(None)
        call = self._call
        if call is not None:
            call.cancel()

    # -- the thread
    def run(self) -> None:
        while not self._closed.is_set():
            retrying = tenacity.Retrying(
                retry=tenacity.retry_if_exception(_worth_retrying),
                wait=tenacity.wait_exponential_jitter(multiplier=0.2, max=30.0),
                stop=lambda _state: self._closed.is_set(),
                sleep=self._pause,
                reraise=True,
            )
            try:
                retrying(self._pump)
            except _Dropped:  # it had delivered: reopen at once, backoff from the start
                continue
            except _Lost as lost:
                detail = f"the stream ended before it had a position ({lost.cause})"
                self._fail(StreamPositionLost(detail, vendor="salesforce", operation="Subscribe", object=self.topic))
                return
            except VendorError as exc:
                self._fail(exc)
                return
            except Exception as exc:  # never die silently: the reader must learn the stream is gone
                self._fail(ServiceUnavailable(repr(exc), vendor="salesforce", operation="Subscribe", object=self.topic))
                return

    def _pause(self, seconds: float) -> None:
        self._closed.wait(seconds)  # a backoff that close() cuts short

    def _fail(self, error: VendorError) -> None:
        if not self._closed.is_set():
            self._out.put(Item(self.generation, error=error))

    def _first_request(self) -> Any:
        if self._position is not None:
            preset = pb2.ReplayPreset.CUSTOM
        else:
            preset = pb2.ReplayPreset.EARLIEST if self._earliest else pb2.ReplayPreset.LATEST
        return pb2.FetchRequest(
            topic_name=self.topic, replay_preset=preset, replay_id=self._position or b"", num_requested=self._batch
        )

    def _pump(self) -> None:
        if self._closed.is_set():
            return
        session = self._sessions.current()
        self._requests = queue.Queue()
        self._requests.put(self._first_request())
        requests = self._requests
        progressed = False
        try:
            self._call = self._stub.Subscribe(iter(requests.get, None), metadata=session.metadata())
            self._call.initial_metadata()  # sent once the subscription is set up (or with its end)
            self.opened.set()
            for response in self._call:
                progressed = True
                self._deliver(response)
            cause: VendorError = ServiceUnavailable(
                "the server ended the stream", vendor="salesforce", operation="Subscribe", object=self.topic
            )
        except grpc.RpcError as error:
            if self._closed.is_set():
                return
            cause = vendor_error(error, "Subscribe", self.topic)
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                self._auth_failures = 0 if progressed else self._auth_failures + 1
                if self._auth_failures > MAX_AUTH_FAILURES:  # a fresh session refused too: not an expiry
                    raise cause from None
                self._sessions.refresh(session)  # a failed login raises AuthenticationFailed: the reader gets it
            elif not isinstance(cause, TransientVendorError):
                raise cause from None
        finally:
            requests.put(None)
            if self._call is not None:
                self._call.cancel()  # ended already, or left behind by a failure while decoding
        if not self._closed.is_set():
            self.reconnects += 1
            if self._position is None and not self._earliest:  # never told where it was: a reopen skips a gap
                raise _Lost(cause)
            raise _Dropped(progressed, cause)

    def _deliver(self, response: Any) -> None:
        for consumer in response.events:
            schema, record = self._schemas.decode(consumer.event.schema_id, consumer.event.payload)
            event = presence_change(consumer.replay_id, schema, record)
            self._out.put(Item(self.generation, consumer.replay_id, event))
            self._position = consumer.replay_id
        if not response.events and response.latest_replay_id:
            self._out.put(Item(self.generation, response.latest_replay_id))
            self._position = response.latest_replay_id


def _worth_retrying(exc: BaseException) -> bool:
    if isinstance(exc, _Dropped):
        return not exc.progressed
    return isinstance(exc, TransientVendorError)


def drain(items: queue.Queue[Item], wait: float, limit: int) -> Iterator[Item]:
    """Up to ``limit`` items: the first waited for up to ``wait`` seconds, the rest only if already there."""
    try:
        yield items.get(timeout=wait) if wait > 0 else items.get_nowait()
    except queue.Empty:
        return
    for _ in range(limit - 1):
        try:
            yield items.get_nowait()
        except queue.Empty:
            return

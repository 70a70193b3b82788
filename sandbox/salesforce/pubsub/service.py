"""``eventbus.v1.PubSub`` over gRPC (grpc.aio, TLS with the sandbox's CA), on the emulator's event loop.

GetTopic, GetSchema and Subscribe as Salesforce documents them (docs/apis.md, "Pub/Sub API"):

* Auth: every call carries ``accesstoken`` (a session of the org), ``instanceurl`` and ``tenantid`` (the org
  id) in its metadata. A missing/expired token or another org's id ends the call with UNAUTHENTICATED and the
  trailer ``error-code: sfdc.platform.eventbus.grpc.service.auth.error``; a session that expires while a
  Subscribe stream is open ends that stream the same way.
* Errors: gRPC status + ``error-code`` and ``rpc-id`` trailers; the details end with ``rpcId: <id>``.
* Subscribe: response headers go out once the subscription is positioned. The first FetchRequest names the
  topic and the replay preset (LATEST, EARLIEST, CUSTOM + replay_id); each request grants ``num_requested`` more
  events, at most 100 outstanding. A CUSTOM replay id that is malformed or older than retention is refused:
  INVALID_ARGUMENT, ``sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted``. A later request naming
  another topic: INVALID_ARGUMENT. With nothing to deliver the server sends an empty FetchResponse carrying the
  latest replay id every ``keepalive_seconds`` (Salesforce: within 270 s).
* Unknown topic, or a change event channel whose entity is not selected for Change Data Capture: NOT_FOUND
  with ``sfdc.platform.eventbus.grpc.subscription.topic.notfound`` (a model: the exact code is not published).

Publish is not served (UNIMPLEMENTED): the product publishes its commands through REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from ..errors import ApiError
from ..ids import same_id
from ..oauth import authenticate
from ..org import Org
from .bus import EventBus, Topic, TopicUnknown, replay_bytes, replay_int

__all__ = ["KEEPALIVE_SECONDS", "MAX_REQUESTED", "PubSubService", "start_server"]

SERVICE = "eventbus.v1.PubSub"
MAX_REQUESTED = 100
KEEPALIVE_SECONDS = 270.0
AUTH_ERROR = "sfdc.platform.eventbus.grpc.service.auth.error"
REPLAY_ERROR = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
TOPIC_ERROR = "sfdc.platform.eventbus.grpc.subscription.topic.notfound"
SCHEMA_ERROR = "sfdc.platform.eventbus.grpc.schema.notfound"
ARGUMENT_ERROR = "sfdc.platform.eventbus.grpc.fetch.request.invalid"
LATEST, EARLIEST, CUSTOM = 0, 1, 2
_DESCRIPTORS = pathlib.Path(__file__).with_name("pubsub_api.binpb")


def _messages() -> dict[str, Any]:
    """The protocol's message classes, from the descriptor set generated from proto/pubsub_api.proto, in a pool
    of the sandbox's own (the sandbox shares no code with the product's generated client)."""
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(_DESCRIPTORS.read_bytes()).file:
        pool.Add(file)
    names = ("TopicRequest", "TopicInfo", "SchemaRequest", "SchemaInfo", "FetchRequest", "FetchResponse")
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"eventbus.v1.{n}")) for n in names}


M = _messages()


class _Refused(Exception):
    def __init__(self, code: grpc.StatusCode, error_code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.error_code, self.message = code, error_code, message


class PubSubService:
    def __init__(
        self, org: Org, bus: EventBus, log: Callable[[dict[str, Any]], None], keepalive_seconds: float
    ) -> None:
        self.org, self.bus, self._log, self.keepalive = org, bus, log, keepalive_seconds

    # -- plumbing
    def handler(self) -> grpc.GenericRpcHandler:
        def unary(fn: Callable[..., Any], req: str, resp: str) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=M[req].FromString, response_serializer=M[resp].SerializeToString
            )

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "GetTopic": unary(self.get_topic, "TopicRequest", "TopicInfo"),
                "GetSchema": unary(self.get_schema, "SchemaRequest", "SchemaInfo"),
                "Subscribe": grpc.stream_stream_rpc_method_handler(
                    self.subscribe,
                    request_deserializer=M["FetchRequest"].FromString,
                    response_serializer=M["FetchResponse"].SerializeToString,
                ),
            },
        )

    async def _abort(self, context: grpc.aio.ServicerContext, refused: _Refused, rpc_id: str) -> None:
        await context.abort(
            refused.code,
            f"{refused.message} rpcId: {rpc_id}",
            trailing_metadata=(("error-code", refused.error_code), ("rpc-id", rpc_id)),
        )

    def _record(self, method: str, status: str, started: float, **extra: Any) -> None:
        entry = {"time": time.time(), "vendor": "salesforce", "method": "GRPC", "path": f"/{SERVICE}/{method}"}
        self._log(
            {
                **entry,
                "query": "",
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                **extra,
            }
        )

    def _auth(self, context: grpc.aio.ServicerContext) -> str:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        try:
            user = authenticate(self.org, metadata.get("accesstoken"))
        except ApiError:
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                AUTH_ERROR,
                "An authentication exception occurred. Provide valid authentication via metadata headers.",
            ) from None
        if not same_id(metadata.get("tenantid") or "", self.org.org_id) or not metadata.get("instanceurl"):
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED,
                AUTH_ERROR,
                "An authentication exception occurred: tenantid and instanceurl must name the session's org.",
            )
        return user

    def _topic(self, name: str) -> Topic:
        try:
            return self.bus.topic(name)
        except TopicUnknown:
            raise _Refused(
                grpc.StatusCode.NOT_FOUND, TOPIC_ERROR, f"Topic {name} not found or not available to this org."
            ) from None

    async def _unary(self, method: str, context: grpc.aio.ServicerContext, fn: Callable[[str], Any]) -> Any:
        rpc_id, started = str(uuid.uuid4()), time.perf_counter()
        try:
            self._auth(context)
            answer = fn(rpc_id)
        except _Refused as refused:
            self._record(method, refused.code.name, started)
            await self._abort(context, refused, rpc_id)
        self._record(method, "OK", started)
        return answer

    # -- GetTopic / GetSchema
    async def get_topic(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        def answer(rpc_id: str) -> Any:
            topic = self._topic(request.topic_name)
            return M["TopicInfo"](
                topic_name=topic.name,
                tenant_guid=self.org.org_id,
                can_publish=False,
                can_subscribe=True,
                schema_id=topic.schema.id,
                rpc_id=rpc_id,
            )

        return await self._unary("GetTopic", context, answer)

    async def get_schema(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        def answer(rpc_id: str) -> Any:
            schema = self.bus.schema(request.schema_id)
            if schema is None:
                raise _Refused(grpc.StatusCode.NOT_FOUND, SCHEMA_ERROR, f"Schema {request.schema_id} not found.")
            return M["SchemaInfo"](schema_json=schema.json, schema_id=schema.id, rpc_id=rpc_id)

        return await self._unary("GetSchema", context, answer)

    # -- Subscribe
    async def subscribe(self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        rpc_id, started = str(uuid.uuid4()), time.perf_counter()
        status = "OK"
        try:
            with self.bus.stream():
                async for response in self._deliver(requests, context, rpc_id):
                    yield response
        except _Refused as refused:
            status = refused.code.name
            self._record("Subscribe", status, started)
            await self._abort(context, refused, rpc_id)
        finally:
            if status == "OK":
                self._record("Subscribe", "CANCELLED" if context.cancelled() else "OK", started)

    def _start(self, first: Any, topic: Topic) -> int:
        floor = self.bus.floor(topic.channel)
        if first.replay_preset == EARLIEST:
            return floor
        if first.replay_preset == CUSTOM:
            position = replay_int(bytes(first.replay_id))
            if position is None or position < floor or position > self.bus.latest(topic.channel):
                raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, REPLAY_ERROR, "The Replay ID validation failed.")
            return position
        return self.bus.latest(topic.channel)

    async def _deliver(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext, rpc_id: str
    ) -> AsyncIterator[Any]:
        token = dict(context.invocation_metadata() or ()).get("accesstoken")
        self._auth(context)
        first = await anext(requests, None)
        if first is None:
            return
        topic = self._topic(first.topic_name)
        position = self._start(first, topic)
        await context.send_initial_metadata(())  # the subscription is set up: the client may rely on it
        state = {"pending": min(max(first.num_requested, 0), MAX_REQUESTED), "error": None}
        reader = asyncio.create_task(self._read_requests(requests, topic.name, state))
        drops = self.bus.drops
        try:
            last_sent = time.monotonic()
            while True:
                if state["error"] is not None:
                    raise state["error"]
                if self.bus.drops != drops:
                    raise _Refused(
                        grpc.StatusCode.UNAVAILABLE,
                        "sfdc.platform.eventbus.grpc.service.unavailable",
                        "The Pub/Sub API service is unavailable.",
                    )
                if token not in self.org.store.tokens or self.org.store.tokens[token]["expires_at"] < time.time():
                    raise _Refused(
                        grpc.StatusCode.UNAUTHENTICATED,
                        AUTH_ERROR,
                        "An authentication exception occurred. Provide valid authentication via metadata headers.",
                    )
                batch = self.bus.events(topic.channel, position, state["pending"]) if state["pending"] else []
                if batch:
                    position = batch[-1][0]
                    state["pending"] -= len(batch)
                    yield self._response(topic, batch, position, state["pending"], rpc_id)
                    last_sent = time.monotonic()
                    continue
                if time.monotonic() - last_sent >= self.keepalive:
                    yield M["FetchResponse"](
                        latest_replay_id=replay_bytes(position), rpc_id=rpc_id, pending_num_requested=state["pending"]
                    )
                    last_sent = time.monotonic()
                await self.bus.wait(max(0.0, min(1.0, self.keepalive - (time.monotonic() - last_sent))))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _read_requests(self, requests: AsyncIterator[Any], topic: str, state: dict[str, Any]) -> None:
        async for request in requests:
            if request.topic_name and request.topic_name != topic:
                state["error"] = _Refused(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    ARGUMENT_ERROR,
                    f"The topic of a subscription cannot change (was {topic}).",
                )
            else:
                state["pending"] = min(state["pending"] + max(request.num_requested, 0), MAX_REQUESTED)
            self.bus.notify()

    def _response(
        self, topic: Topic, batch: list[tuple[int, dict[str, Any]]], position: int, pending: int, rpc_id: str
    ) -> Any:
        response = M["FetchResponse"](
            latest_replay_id=replay_bytes(position), rpc_id=rpc_id, pending_num_requested=pending
        )
        for replay_id, payload in batch:
            consumer = response.events.add()
            consumer.replay_id = replay_bytes(replay_id)
            consumer.event.id = str(
                payload.get("EventUuid") or payload.get("ChangeEventHeader", {}).get("transactionKey", "")
            )
            consumer.event.schema_id = topic.schema.id
            consumer.event.payload = topic.schema.encode(payload)
        return response


async def start_server(
    org: Org,
    bus: EventBus,
    *,
    host: str,
    port: int,
    cert: bytes,
    key: bytes,
    log: Callable[[dict[str, Any]], None],
    keepalive_seconds: float = KEEPALIVE_SECONDS,
) -> tuple[grpc.aio.Server, int]:
    """Listen with TLS on ``host:port`` (0: any free port); returns the server and the port."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((PubSubService(org, bus, log, keepalive_seconds).handler(),))
    bound = server.add_secure_port(f"{host}:{port}", grpc.ssl_server_credentials([(key, cert)]))
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    await server.start()
    return server, bound

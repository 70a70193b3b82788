"""Operator controls shared by both emulators: a request log and fault injection.

``OperatorMiddleware`` wraps an emulator's ASGI app. Everything under ``/__sandbox/`` is left out of the log
and out of the faults (the Salesforce emulator's Pub/Sub API calls are gRPC on their own port: its server
appends them to the same request log, method ``GRPC``); the operator endpoints themselves are:

* ``GET /__sandbox/ready``                    200 once the emulator serves
* ``GET|DELETE /__sandbox/requests``          the request log (bounded ring, newest last) / clear it
* ``GET|PUT|DELETE /__sandbox/faults``        show / change (merge) / clear the injected faults

Faults, per vendor (each emulator port has its own):

* ``latency_ms``      added before every request is handled
* ``error_rate``      share (0..1) of requests answered with ``error_status`` in the vendor's error shape
* ``error_next``      the next N requests are answered with ``error_status`` (deterministic, for tests)
* ``error_status``    429, 503 (default) or 403
* ``path_prefix``     the faults above only hit paths starting with it
* ``refuse_seconds``  for this long, connections are dropped without a response (``requests`` raises
                      ``ConnectionError``); done in the HTTP protocol, see ``refusing_protocol``
* ``expire_tokens``   (action) calls ``app.state.expire_all_tokens()``: every access token becomes invalid
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import random
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["FaultState", "OperatorMiddleware", "RequestLog", "refusing_protocol", "vendor_error"]

OPERATOR_PREFIX = "/__sandbox/"
LOG_EXTRA_KEY = "sandbox.log"  # the app may put {"operation": ..., "write": bool} here for the log entry
ERROR_STATUSES = (403, 429, 503)


def vendor_error(vendor: str, status: int, path: str = "/") -> tuple[bytes, str]:
    """The body an injected error carries, in the shape the vendor uses for it (a SOAP fault on SOAP paths,
    so that zeep raises ``Fault`` rather than choking on JSON)."""
    if vendor == "salesforce" and path.startswith("/services/Soap/"):
        code, text = (
            ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry later.")
            if status == 503
            else ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        )
        fault = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:sf="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {text}</faultstring>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return fault.encode(), "text/xml;charset=UTF-8"
    if vendor == "salesforce":
        if status == 503:
            body: Any = [
                {"message": "Server temporarily unavailable, please retry later.", "errorCode": "SERVER_UNAVAILABLE"}
            ]
        else:
            body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    else:
        descriptions = {
            503: ("ServiceUnavailable", "The service is temporarily unavailable."),
            429: ("TooManyRequests", "Rate limit exceeded; retry later."),
            403: ("Forbidden", "Request limit exceeded."),
        }
        error, description = descriptions.get(status, ("Error", "Injected error."))
        body = {"error": error, "error_description": description}
    return json.dumps(body).encode(), "application/json;charset=UTF-8"


class RequestLog:
    """The last ``capacity`` requests, each a dict; ``seq`` increases for the life of the process."""

    def __init__(self, capacity: int = 5000) -> None:
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=capacity)
        self._seq = 0

    def append(self, entry: dict[str, Any]) -> None:
        self._seq += 1
        entry["seq"] = self._seq
        self._entries.append(entry)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self._entries if e["seq"] > since]

    def clear(self) -> None:
        self._entries.clear()


@dataclasses.dataclass
class FaultState:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    error_next: int = 0
    path_prefix: str | None = None
    refuse_until: float = 0.0  # time.monotonic()
    injected_errors: int = 0
    refused_connections: int = 0

    def refusing(self) -> bool:
        return time.monotonic() < self.refuse_until

    def applies_to(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def take_error(self) -> bool:
        """Decide whether this request gets an injected error (consumes one of ``error_next``)."""
        if self.error_next > 0:
            self.error_next -= 1
            return True
        return self.error_rate > 0 and random.random() < self.error_rate

    def update(self, changes: dict[str, Any]) -> None:
        """Merge operator-supplied changes; raises ValueError on a bad value."""
        unknown = set(changes) - {
            "latency_ms",
            "error_rate",
            "error_status",
            "error_next",
            "path_prefix",
            "refuse_seconds",
            "expire_tokens",
        }
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        if "latency_ms" in changes:
            self.latency_ms = _number(changes, "latency_ms", int, 0, 60_000)
        if "error_rate" in changes:
            self.error_rate = _number(changes, "error_rate", float, 0.0, 1.0)
        if "error_status" in changes:
            status = _number(changes, "error_status", int, 0, 999)
            if status not in ERROR_STATUSES:
                raise ValueError(f"error_status must be one of {ERROR_STATUSES}")
            self.error_status = status
        if "error_next" in changes:
            self.error_next = _number(changes, "error_next", int, 0, 1_000_000)
        if "path_prefix" in changes:
            prefix = changes["path_prefix"]
            if prefix is not None and not (isinstance(prefix, str) and prefix.startswith("/")):
                raise ValueError("path_prefix must be null or a path starting with '/'")
            self.path_prefix = prefix
        if "refuse_seconds" in changes:
            seconds = _number(changes, "refuse_seconds", float, 0.0, 3600.0)
            self.refuse_until = time.monotonic() + seconds if seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "error_next": self.error_next,
            "path_prefix": self.path_prefix,
            "refuse_seconds_left": round(max(0.0, self.refuse_until - time.monotonic()), 3),
            "injected_errors": self.injected_errors,
            "refused_connections": self.refused_connections,
        }


def _number(changes: dict[str, Any], key: str, kind: type, low: float, high: float) -> Any:
    value = changes[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
        raise ValueError(f"{key} must be a number")
    if not low <= value <= high:
        raise ValueError(f"{key} must be between {low} and {high}")
    return kind(value)


class OperatorMiddleware:
    """Wraps one emulator app with the request log, fault injection and the operator endpoints."""

    def __init__(
        self, app: ASGIApp, *, vendor: str, faults: FaultState | None = None, log: RequestLog | None = None
    ) -> None:
        self.app = app
        self.vendor = vendor
        self.faults = faults or FaultState()
        self.log = log or RequestLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(OPERATOR_PREFIX):
            handler = self._operator_routes().get(path)
            if handler is None:  # emulator-only app endpoints (console, event bus, settings)
                await self.app(scope, receive, send)
                return
            response = await handler(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self._vendor_call(scope, receive, send)

    async def _vendor_call(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        scope[LOG_EXTRA_KEY] = extra
        status = 500
        fault: str | None = None

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            faults = self.faults
            if faults.applies_to(scope["path"]):
                if faults.latency_ms:
                    fault = "latency"
                    await asyncio.sleep(faults.latency_ms / 1000)
                if faults.take_error():
                    faults.injected_errors += 1
                    fault = "error"
                    body, content_type = vendor_error(self.vendor, faults.error_status, scope["path"])
                    await Response(body, status_code=faults.error_status, media_type=content_type)(
                        scope, receive, send_and_record
                    )
                    return
            await self.app(scope, receive, send_and_record)
        finally:
            self.log.append(
                {
                    "time": time.time(),
                    "vendor": self.vendor,
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "fault": fault,
                    **extra,
                }
            )

    def _operator_routes(self) -> dict[str, Callable[[Request], Any]]:
        return {
            "/__sandbox/ready": self._ready,
            "/__sandbox/requests": self._requests,
            "/__sandbox/faults": self._faults,
        }

    async def _ready(self, request: Request) -> Response:
        return JSONResponse({"status": "ready", "vendor": self.vendor})

    async def _requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.log.clear()
            return Response(status_code=204)
        if request.method != "GET":
            return JSONResponse({"error": "method not allowed"}, status_code=405)
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return JSONResponse({"error": "since must be an integer"}, status_code=400)
        return JSONResponse({"vendor": self.vendor, "requests": self.log.entries(since)})

    async def _faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.update(
                {
                    "latency_ms": 0,
                    "error_rate": 0.0,
                    "error_status": 503,
                    "error_next": 0,
                    "path_prefix": None,
                    "refuse_seconds": 0,
                }
            )
        elif request.method == "PUT":
            try:
                changes = json.loads(await request.body() or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("the body must be a JSON object")
                self.faults.update(changes)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            if changes.get("expire_tokens"):
                expire = getattr(getattr(self.app, "state", None), "expire_all_tokens", None)
                if expire is None:
                    return JSONResponse({"error": "this emulator cannot expire tokens"}, status_code=400)
                expire()
        elif request.method != "GET":
            return JSONResponse({"error": "method not allowed"}, status_code=405)
        return JSONResponse({"vendor": self.vendor, "faults": self.faults.as_dict()})


def refusing_protocol(faults: FaultState) -> type[H11Protocol]:
    """An h11 protocol class that drops connections without a response while ``faults`` says so.

    A request on a new or kept-alive connection is aborted (TCP reset) as its bytes arrive, which makes
    ``requests`` raise ``ConnectionError``. Requests to ``/__sandbox/`` still pass, so the operator can
    always look and lift the fault.
    """

    class RefusingH11Protocol(H11Protocol):
        def data_received(self, data: bytes) -> None:
            if faults.refusing() and not _is_operator_request(data):
                faults.refused_connections += 1
                self.transport.abort()
                return
            super().data_received(data)

        def shutdown(self) -> None:
            # An idle kept-alive TLS connection would wait for the client's close_notify, which an idle
            # client never sends: drop it at once so that a stop or restart takes milliseconds.
            if self.cycle is None or self.cycle.response_complete:
                self.transport.abort()
            else:
                super().shutdown()

    return RefusingH11Protocol


def _is_operator_request(data: bytes) -> bool:
    request_line = data[:200].split(b"\r\n", 1)[0]
    parts = request_line.split(b" ")
    return len(parts) >= 2 and parts[1].startswith(OPERATOR_PREFIX.encode())

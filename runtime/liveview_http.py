"""The live view over HTTP: who may see it, the page's static files, the JSON API and the server-sent events.

Access: with ``live_view_token_env`` unset the API is served only on a loopback bind and only to requests whose
``Host`` is a loopback name (a web page elsewhere cannot reach it through DNS rebinding); with it set, every API
request needs ``Authorization: Bearer <token>`` or the page's cookie. The static files carry no data and are served
whenever the view is enabled. Every body leaving here is scrubbed once more of the vendor secrets in the process
environment (defence in depth).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import queue
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .liveview_api import DEFAULT_WINDOW_SECONDS, STATUSES, LiveViewState

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

__all__ = ["COOKIE_NAME", "LiveViewHttp"]

COOKIE_NAME = "presence_sync_live_view"
HEARTBEAT_SECONDS = 15.0
MAX_WINDOW_SECONDS = 3600
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name in a Host header, without the port (``[::1]:80`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class LiveViewHttp(LiveViewState):
    """The HTTP side of ``LiveView``."""

    token: str | None
    enabled: bool
    why_disabled: str
    _secrets: list[str]

    def start(self) -> None:
        raise NotImplementedError  # LiveView

    def _access_policy(self, token_env: str | None) -> tuple[bool, str]:
        if token_env and not self.token:
            return False, f"live_view_token_env names {token_env}, which is empty or not set"
        if self.token:
            return True, ""
        if _is_loopback(self.config.metrics_host):
            return True, ""
        return False, (
            f"bound to {self.config.metrics_host}, not a loopback address, and no live_view_token_env is configured"
        )

    def _authorized(self, headers: Any) -> bool:
        if self.token is None:
            return _is_loopback(_host_name(str(headers.get("Host") or "")))
        presented: list[str] = []
        auth = str(headers.get("Authorization") or "")
        if auth[:7].lower() == "bearer ":
            presented.append(auth[7:].strip())
        try:
            cookie = SimpleCookie(str(headers.get("Cookie") or ""))
        except CookieError:
            cookie = SimpleCookie()
        if COOKIE_NAME in cookie:
            presented.append(unquote(cookie[COOKIE_NAME].value))  # the page sets it URI-encoded
        expected = self.token.encode()
        return any(hmac.compare_digest(value.encode(), expected) for value in presented)

    def handle(self, request: BaseHTTPRequestHandler) -> bool:
        """Answer a GET the service's handler does not know; False when the path is not ours (a 404 follows)."""
        url = urlsplit(request.path)
        path = url.path
        if path != "/" and not path.startswith(("/static/", "/api/")):
            return False
        self.start()
        if not self.enabled:
            self._send(request, 403, f"live view disabled: {self.why_disabled}\n".encode(), "text/plain")
            return True
        if path == "/" or path.startswith("/static/"):
            return self._static(request, "index.html" if path == "/" else path[len("/static/") :])
        if not self._authorized(request.headers):
            body = (
                {
                    "error": "unauthorized",
                    "hint": "send Authorization: Bearer <token> (the value of the variable "
                    "live_view_token_env names), or enter it in the page",
                }
                if self.token
                else {"error": "forbidden", "hint": "the live view answers loopback host names only"}
            )
            self._json(request, 401 if self.token else 403, body)
            return True
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            return self._api(request, path, query)
        except ValueError as exc:
            self._json(request, 400, {"error": "bad request", "hint": str(exc)})
            return True

    def _api(self, request: BaseHTTPRequestHandler, path: str, query: dict[str, str]) -> bool:
        if path == "/api/v1/summary":
            window = min(MAX_WINDOW_SECONDS, max(1.0, float(query.get("window", DEFAULT_WINDOW_SECONDS))))
            self._json(request, 200, self.summary(window))
        elif path == "/api/v1/agents":
            status = query.get("status") or None
            if status is not None and status not in (*STATUSES, "not_in_step"):
                raise ValueError(f"status must be one of {', '.join((*STATUSES, 'not_in_step'))}")
            team = query.get("team")
            self._json(
                request,
                200,
                self.agents(
                    status=status,
                    rule=query.get("rule") or None,
                    team=int(team) if team else None,
                    q=query.get("q"),
                    offset=int(query.get("offset", 0)),
                    limit=int(query.get("limit", 100)),
                ),
            )
        elif path.startswith("/api/v1/agents/"):
            agent_id = int(path.rsplit("/", 1)[1])
            with self._lock:
                row = self._rows.get(agent_id)
            if row is None:
                self._json(request, 404, {"error": "no such matched agent"})
            else:
                self._json(request, 200, row)
        elif path == "/api/v1/events":
            self._stream(request)
        else:
            self._json(request, 404, {"error": "not found", "hint": "see docs/runtime.md, 'The live view'"})
        return True

    def _static(self, request: BaseHTTPRequestHandler, name: str) -> bool:
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if "/" in name or name.startswith(".") or suffix not in STATIC_TYPES:
            return False
        resource = resources.files("runtime") / "static" / name
        if not resource.is_file():
            return False
        self._send(request, 200, resource.read_bytes(), STATIC_TYPES[suffix])
        return True

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return text

    def _json(self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        payload = self._scrub(json.dumps(body, default=str)).encode()
        self._send(request, status, payload, "application/json")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)

    def _stream(self, request: BaseHTTPRequestHandler) -> None:
        """Server-sent events until the client goes or the service stops: a summary first, then changes."""
        inbox: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        request.send_response(200)
        request.send_header("Content-Type", "text/event-stream")
        for name, value in SECURITY_HEADERS.items():
            request.send_header(name, value)
        request.send_header("Connection", "close")
        request.end_headers()
        request.close_connection = True
        with self._lock:
            self._subscribers.add(inbox)
        try:
            write: Callable[[bytes], Any] = request.wfile.write
            write(b"retry: 2000\n\n")
            write(self._event("summary", self._scrub(json.dumps(self.summary(), default=str))))
            request.wfile.flush()
            quiet_since = time.monotonic()
            while not self._stopped.is_set() and not self._service_stopping():
                try:
                    item = inbox.get(timeout=1.0)
                except queue.Empty:
                    if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
                        write(b": keep-alive\n\n")  # a proxy or a dead client shows itself
                        request.wfile.flush()
                        quiet_since = time.monotonic()
                    continue
                quiet_since = time.monotonic()
                if item is None:
                    break
                write(self._event(*item))
                request.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            pass
        finally:
            with self._lock:
                self._subscribers.discard(inbox)

    @staticmethod
    def _event(name: str, data: str) -> bytes:
        return f"event: {name}\ndata: {data}\n\n".encode()

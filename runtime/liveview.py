"""The live view: every matched agent's state on both sides, sync latency and health, for people and scripts.

Served by the runtime's own HTTP server (the port of ``/metrics``), read-only:

* ``GET /`` and ``GET /static/<file>``: the page (plain HTML and ES modules from ``runtime/static``; no data in it);
* ``GET /api/v1/summary``: counts, latency per direction over a window, circuits, feeds, API calls today, errors;
* ``GET /api/v1/agents``: the agent table, filtered and paged on the server (``status``, ``rule``, ``team``,
  ``q``, ``offset``, ``limit``); ``GET /api/v1/agents/<id>``: one row;
* ``GET /api/v1/events``: server-sent events -- ``agent`` (a row that changed), ``summary`` (at most one a
  second while anything changes, and every few seconds regardless), ``vendor_error`` (an error as it happens).

Where the data comes from: the store (``SqliteStore.all_agents``/``load_agent``, the outbox), the config (e-mail,
team, rule, status names), the reconciler's circuits and its hooks (``on_change``: agents whose record may have
changed; ``on_write``: latency; ``on_error``: write failures) and the feeds' ``on_failure``: each hook only notes
the agent ids and wakes a refresher thread, which re-reads those agents from the store, diffs them against its
snapshot and pushes what changed.
A full re-read every ``FULL_REFRESH_SECONDS`` (longer for many agents) is the safety net. The API answers from
the in-memory snapshot, so the first page at 10,000 agents costs a filter and a slice (~4 ms), not a store scan.

Access: with ``live_view_token_env`` unset the API is served only on a loopback bind and only to requests whose
``Host`` is a loopback name (a web page elsewhere cannot reach it through DNS rebinding); with it set, every API
request needs ``Authorization: Bearer <token>`` or the page's cookie. The static files carry no data and are served
whenever the view is enabled. Nothing here holds a credential: the config has none, vendor error texts are
redacted by the clients, and every body leaving this module is scrubbed once more of the vendor secrets in the
process environment (defence in depth).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hmac
import ipaddress
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from presence_sync.clients.errors import VendorError

from .metrics import LATENCY_BUCKETS
from .reconciler import DIRECTION
from .rules import decide, rule_for
from .store import AgentRecord, PendingWrite

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from .service import SyncService

__all__ = ["API_VERSION", "COOKIE_NAME", "LiveView"]

log = logging.getLogger("runtime.liveview")

API_VERSION = 1
COOKIE_NAME = "presence_sync_live_view"
FULL_REFRESH_SECONDS = 5.0
REFRESH_GATHER_SECONDS = 0.5  # a change reaches the page within this (plus a store read) of the wake-up
SUMMARY_EVERY_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
DEFAULT_WINDOW_SECONDS = 900
MAX_WINDOW_SECONDS = 3600
MAX_PAGE = 500
STATUSES = ("in_step", "pending", "failing", "out_of_step")
SIDE_NAMES = {"acd": "cxone", "sf": "salesforce"}
# Vendor credentials the clients read from the environment: never in a body we send, whatever a bug lets through.
SECRET_VARIABLES = (
    "SF_CLIENT_SECRET",
    "SF_PASSWORD",
    "SF_SECURITY_TOKEN",
    "CXONE_CLIENT_SECRET",
    "CXONE_ACCESS_KEY_ID",
    "CXONE_ACCESS_KEY_SECRET",
)
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


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class _Sync:
    """The last write the runtime made for an agent."""

    at: float
    latency: float | None
    direction: str


class LiveView:
    """State, API and event stream of the live view for one ``SyncService``."""

    def __init__(self, service: SyncService, *, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.service = service
        self.config = service.config
        self.store = service.store
        self.reconciler = service.reconciler
        self.clock = service.clock
        name = self.config.live_view_token_env
        self.token: str | None = (env.get(name) or None) if name else None
        self.enabled, self.why_disabled = self._access_policy(name)
        self._secrets = sorted({v for k in SECRET_VARIABLES if len(v := env.get(k, "")) >= 4}, key=len, reverse=True)
        self.links = {link.agent_id: link for link in self.config.agents}
        self.status_names = self.config.status_names()
        self.rule_names = [rule.name for rule in self.config.rules]
        self.teams = sorted({link.team_id for link in self.config.agents if link.team_id is not None})
        self._rules = {aid: rule_for(self.config.rules, aid, link.team_id) for aid, link in self.links.items()}
        self._lock = threading.Lock()
        self._rows: dict[int, dict[str, Any]] = {}
        self._order: list[int] = sorted(self.links)
        self._touched: set[int] = set()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._subscribers: set[queue.SimpleQueue[tuple[str, str] | None]] = set()
        self._samples: deque[tuple[float, str, float]] = deque(maxlen=200_000)  # (at, direction, seconds)
        self._last_sync: dict[int, _Sync] = {}
        self._errors: deque[dict[str, Any]] = deque(maxlen=50)
        self._agent_failed_at: dict[int, float] = {}
        self._day = ""
        self._calls_at_day_start: dict[str, int] = {}
        self._summary_dirty = True
        self._started = False
        # The full re-read costs ~35 ms per 1,000 agents (measured at 10,000): every 5 s, slower for big tenants.
        self.full_refresh_seconds = max(FULL_REFRESH_SECONDS, len(self.links) / 300)
        self._hook()
        log.info(
            "live view %s",
            "enabled" if self.enabled else f"disabled: {self.why_disabled}",
            extra={"feed": "token" if self.token else "loopback"},
        )

    # ------------------------------------------------------------------------------------- access

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

    # ------------------------------------------------------------------------------------- hooks

    def _hook(self) -> None:
        """Wrap the reconciler's and feeds' methods (on the instances) to learn which agents changed."""
        rec = self.reconciler
        chained = rec.on_write

        def on_write(item: PendingWrite, done: float) -> None:
            if chained is not None:
                chained(item, done)
            self._record_write(item, done)

        def on_error(item: PendingWrite, exc: VendorError, retrying: bool) -> None:
            self._record_error(exc, item, retrying=retrying)

        rec.on_change = self.touch
        rec.on_error = on_error
        rec.on_write = on_write
        for feed in (self.service.cxone_feed, self.service.salesforce_feed):
            feed.on_failure = functools.partial(self._feed_failed, feed.name)

    def _feed_failed(self, feed: str, exc: VendorError) -> None:
        self._record_error(exc, None, retrying=True, feed=feed)

    def touch(self, agent_ids: Iterable[int]) -> None:
        ids = [a for a in agent_ids if a in self.links]
        if not ids:
            return
        with self._lock:
            self._touched.update(ids)
        self._wake.set()

    def _record_write(self, item: PendingWrite, done: float) -> None:
        latency = None if item.source_changed_at is None else max(0.0, done - item.source_changed_at)
        direction = DIRECTION[item.side]
        with self._lock:
            if latency is not None:
                self._samples.append((done, direction, latency))
            self._last_sync[item.agent_id] = _Sync(done, latency, direction)
            self._agent_failed_at.pop(item.agent_id, None)
            self._summary_dirty = True
        self.touch((item.agent_id,))

    def _record_error(self, exc: Any, item: PendingWrite | None, *, retrying: bool, feed: str | None = None) -> None:
        hint = str(getattr(exc, "hint", "") or "")
        message = str(exc)
        if hint and message.endswith(hint):
            message = message[: -len(hint)].rstrip()
        vendor = getattr(exc, "vendor", None) or (SIDE_NAMES[item.side] if item is not None else feed)
        entry = {
            "at": _iso(self.clock()),
            "vendor": vendor,
            "kind": type(exc).__name__,
            "agent_id": item.agent_id if item else None,
            "side": SIDE_NAMES[item.side] if item else None,
            "feed": feed,
            "retrying": retrying,
            "message": message,
            "hint": hint,
        }
        with self._lock:
            self._errors.append(entry)
            if item is not None:
                self._agent_failed_at[item.agent_id] = self.clock()
            self._summary_dirty = True
        self._broadcast("vendor_error", entry)  # not "error": EventSource's own event
        if item is not None:
            self.touch((item.agent_id,))

    # ------------------------------------------------------------------------------------- rows

    def _row(self, rec: AgentRecord, pending: list[PendingWrite]) -> dict[str, Any]:
        link = self.links[rec.agent_id]
        rule = self._rules.get(rec.agent_id)
        view = rec.view(link.team_id)
        wanted = decide(self.config.rules, view) if rule is not None else None
        failed_at = self._agent_failed_at.get(rec.agent_id)
        if not pending and not rec.expected and wanted is None:
            status = "in_step"
        elif failed_at is not None or any(p.attempts > 0 for p in pending):
            status = "failing"
        elif pending or rec.expected:
            status = "pending"
        else:
            status = "out_of_step"
        sync = self._last_sync.get(rec.agent_id)
        omni_seen = "sf" in rec.seen_at
        return {
            "agent_id": rec.agent_id,
            "email": link.email,
            "team_id": link.team_id,
            "rule": rule.name if rule else None,
            "cxone_state": rec.acd,
            "omni_status": (self.status_names.get(rec.sf, rec.sf) if rec.sf else ("Offline" if omni_seen else None)),
            "omni_status_id": rec.sf,
            "status": status,
            "in_step": status == "in_step",
            "pending": {SIDE_NAMES[p.side]: self._shown(p.side, p.target) for p in pending},
            "source": SIDE_NAMES.get(rec.source or ""),
            "last_change": _iso(rec.source_changed_at),
            "last_sync": _iso(sync.at) if sync else None,
            "last_sync_latency": None if sync is None or sync.latency is None else round(sync.latency, 4),
            "last_sync_direction": sync.direction if sync else None,
        }

    def _shown(self, side: str, state: str) -> str:
        return self.status_names.get(state, state) if side == "sf" else state

    def refresh(self, agent_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Re-read agents from the store (all of them when ``agent_ids`` is None); returns the rows that changed."""
        if agent_ids is None:
            known = {rec.agent_id: rec for rec in self.store.all_agents()}  # type: ignore[attr-defined]
            ids = self._order
            outbox: dict[int, list[PendingWrite]] = {}
            for item in self.store.pending_writes():
                outbox.setdefault(item.agent_id, []).append(item)
            records = [(known.get(a) or AgentRecord(agent_id=a), outbox.get(a, [])) for a in ids]
        else:
            records = [(self.store.load_agent(a), self.store.pending_writes(a)) for a in agent_ids if a in self.links]
        changed = []
        with self._lock:
            for rec, pending in records:
                row = self._row(rec, pending)
                if self._rows.get(rec.agent_id) != row:
                    self._rows[rec.agent_id] = row
                    changed.append(row)
            if changed:
                self._summary_dirty = True
        return changed

    # ------------------------------------------------------------------------------------- refresher

    def start(self) -> None:
        """Load every row and follow changes; the first request does it (nobody watching costs nothing)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self.refresh()
        threading.Thread(target=self._refresher, name="live-view", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.put(None)

    def _refresher(self) -> None:
        last_full = last_summary = time.monotonic()
        while not self._stopped.is_set() and not self._service_stopping():
            if self._wake.wait(SUMMARY_EVERY_SECONDS):
                # Let a burst's touches gather: one re-read of many agents, not one per wake-up, so the view
                # does not compete with the reconcile workers for the store while they are busiest.
                self._stopped.wait(REFRESH_GATHER_SECONDS)
            self._wake.clear()
            with self._lock:
                touched, self._touched = self._touched, set()
            try:
                now = time.monotonic()
                if now - last_full >= self.full_refresh_seconds or len(touched) > 1000:
                    changed = self.refresh()
                    last_full = now
                else:
                    changed = self.refresh(sorted(touched)) if touched else []
                for row in changed:
                    self._broadcast("agent", row)
                if (self._summary_dirty and now - last_summary >= SUMMARY_EVERY_SECONDS) or (
                    now - last_summary >= FULL_REFRESH_SECONDS
                ):
                    self._summary_dirty = False
                    last_summary = now
                    self._broadcast("summary", self.summary())
            except Exception:
                if self._stopped.is_set() or self._service_stopping():
                    return
                log.exception("live view refresh failed")

    def _service_stopping(self) -> bool:
        stop = getattr(self.service, "_stop", None)
        return bool(stop is not None and stop.is_set())

    def _broadcast(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        if not subscribers:
            return
        payload = self._scrub(json.dumps(data, default=str))
        for subscriber in subscribers:
            subscriber.put((event, payload))

    # ------------------------------------------------------------------------------------- API

    def agents(
        self,
        *,
        status: str | None = None,
        rule: str | None = None,
        team: int | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> dict[str, Any]:
        """A page of rows in agent id order. ``status``: one of STATUSES, or ``not_in_step`` (all but in_step);
        ``rule``: a rule's name, ``(none)`` for agents no rule covers; ``team``: a team id; ``q``: e-mail or id."""
        needle = (q or "").strip().lower()
        with self._lock:
            rows = [self._rows[a] for a in self._order if a in self._rows]
        if status == "not_in_step":
            rows = [r for r in rows if r["status"] != "in_step"]
        elif status:
            rows = [r for r in rows if r["status"] == status]
        if rule:
            rows = [r for r in rows if (r["rule"] or "") == ("" if rule == "(none)" else rule)]
        if team is not None:
            rows = [r for r in rows if r["team_id"] == team]
        if needle:
            rows = [r for r in rows if needle in (r["email"] or "").lower() or needle in str(r["agent_id"])]
        limit = max(1, min(MAX_PAGE, limit))
        offset = max(0, offset)
        return {
            "version": API_VERSION,
            "total": len(rows),
            "offset": offset,
            "limit": limit,
            "agents": rows[offset : offset + limit],
        }

    def latency(self, window: float) -> dict[str, Any]:
        since = self.clock() - window
        with self._lock:
            samples = [(d, s) for at, d, s in self._samples if at >= since]
        result: dict[str, Any] = {}
        for direction in ("cxone_to_salesforce", "salesforce_to_cxone"):
            values = sorted(s for d, s in samples if d == direction)
            counts = [0] * (len(LATENCY_BUCKETS) + 1)
            for value in values:
                counts[bisect.bisect_left(LATENCY_BUCKETS, value)] += 1
            result[direction] = {
                "count": len(values),
                "p50": _percentile(values, 0.5),
                "p99": _percentile(values, 0.99),
                "max": values[-1] if values else None,
                "histogram": counts,
            }
        return {"window_seconds": window, "bucket_upper_bounds": [*LATENCY_BUCKETS, None], "directions": result}

    def _api_calls(self) -> dict[str, Any]:
        today = dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()
        totals: dict[str, int] = {}
        for vendor, feed in (("cxone", self.service.cxone_feed), ("salesforce", self.service.salesforce_feed)):
            client = getattr(feed, "client", None)
            calls = getattr(client, "api_calls", None)
            auth = getattr(client, "auth_calls", None)
            totals[vendor] = (calls if isinstance(calls, int) else 0) + (auth if isinstance(auth, int) else 0)
        with self._lock:
            if self._day != today:  # counted from the first look of the day (or the start) on
                self._day, self._calls_at_day_start = today, dict(totals) if self._day else {v: 0 for v in totals}
            used = {vendor: total - self._calls_at_day_start.get(vendor, 0) for vendor, total in totals.items()}
        return {"date": today, **used}

    def summary(self, window: float = DEFAULT_WINDOW_SECONDS) -> dict[str, Any]:
        with self._lock:
            rows = list(self._rows.values())
            errors = list(self._errors)[::-1][:20]
        counts = dict.fromkeys(STATUSES, 0)
        for row in rows:
            counts[row["status"]] += 1
        circuits = {}
        for side, breaker in self.reconciler.breakers.items():
            retry_in = breaker.retry_in()
            state = "closed" if not breaker.is_open else ("open" if retry_in > 0 else "half-open")
            circuits[SIDE_NAMES[side]] = {"state": state, "retry_in_seconds": round(retry_in, 3)}
        feeds = {}
        for feed in (self.service.cxone_feed, self.service.salesforce_feed):
            feeds[feed.name] = {"last_success": _iso(feed.last_success), "failing": feed.last_error is not None}
        ready, reason = self.service.ready()
        return {
            "version": API_VERSION,
            "generated_at": _iso(self.clock()),
            "ready": {"ok": ready, "reason": reason},
            "agents": {
                "total": len(rows),
                **counts,
                "not_in_step": len(rows) - counts["in_step"],
                "unmatched": len(self.config.unmatched),
            },
            "latency": self.latency(window),
            "circuits": circuits,
            "feeds": feeds,
            "api_calls_today": self._api_calls(),
            "errors": errors,
            "rules": self.rule_names,
            "teams": self.teams,
        }

    # ------------------------------------------------------------------------------------- HTTP

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

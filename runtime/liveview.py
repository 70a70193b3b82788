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

The parts: ``liveview_api.py`` (the table, latency, the summary, answered from the rows in memory) and
``liveview_http.py`` (access, the page, the JSON API, the event stream).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from presence_sync.clients.errors import VendorError

from .liveview_api import API_VERSION, SIDE_NAMES, ServiceView, Sync, iso
from .liveview_http import COOKIE_NAME, LiveViewHttp
from .reconciler_types import DIRECTION
from .rules import decide, rule_for
from .store import AgentRecord, PendingWrite

__all__ = ["API_VERSION", "COOKIE_NAME", "LiveView"]

log = logging.getLogger("runtime.liveview")

FULL_REFRESH_SECONDS = 5.0
REFRESH_GATHER_SECONDS = 0.5  # a change reaches the page within this (plus a store read) of the wake-up
SUMMARY_EVERY_SECONDS = 1.0
# Vendor credentials the clients read from the environment: never in a body we send, whatever a bug lets through.
SECRET_VARIABLES = (
    "SF_CLIENT_SECRET",
    "SF_PASSWORD",
    "SF_SECURITY_TOKEN",
    "CXONE_CLIENT_SECRET",
    "CXONE_ACCESS_KEY_ID",
    "CXONE_ACCESS_KEY_SECRET",
)


class LiveView(LiveViewHttp):
    """State, API and event stream of the live view for one ``SyncService``."""

    def __init__(self, service: ServiceView, *, environ: dict[str, str] | None = None) -> None:
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
        self._last_sync: dict[int, Sync] = {}
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
            self._last_sync[item.agent_id] = Sync(done, latency, direction)
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
            "at": iso(self.clock()),
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
            "last_change": iso(rec.source_changed_at),
            "last_sync": iso(sync.at) if sync else None,
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

    def _broadcast(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        if not subscribers:
            return
        payload = self._scrub(json.dumps(data, default=str))
        for subscriber in subscribers:
            subscriber.put((event, payload))

    # ------------------------------------------------------------------------------------- HTTP

"""Where changes come from. Each feed reads its vendor through the client, turns what it read into
``Observation``s and hands them to the reconciler together with its durable cursor (one transaction).

* ``CxoneFeed``: ``agent_states(updatedSince=<lastPollTime>)`` every ``poll_interval_seconds`` (within the CXone
  API budget); the changes are handed over before the sweep for late rows is read (``CxoneClient.agent_states``).
  The real-time API returns each agent's *current* state, so two changes between polls arrive as one.
* ``SalesforceFeed``: ``UserServicePresenceChangeEvent`` from the Salesforce Pub/Sub API (``salesforce_topic``,
  through ``presence_sync.clients.pubsub.PubSubPresenceFeed``; fakes bring their own ``read_presence_changes``).
  The replay id of the last event processed is the durable cursor, stored in the same transaction as what the
  events showed, so a restart resumes exactly after it. A change is a pair of events -- the old row closed
  (``IsCurrentState`` false), the new one created -- kept in order; a close with no new row is "logged out of
  Omni" (None).

  A stored replay id the org refuses (older than the 72-hour retention), a stream that lost its position, or no
  stored position at all (the stream starts "from now") means a full resync: the stream is reopened at its
  newest event, then every current presence row is read once; logged and counted
  (``presence_sync_salesforce_resyncs``). A topic the org refuses is one error line naming what to enable; only
  with ``salesforce_poll_fallback`` (or ``salesforce_feed: poll``) does the feed poll ``UserServicePresence`` by
  ``LastModifiedDate`` within the API budget instead (logouts are invisible there; the resync catches up).
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from presence_sync.clients.errors import VendorError
from presence_sync.clients.pubsub.feed import PubSubPresenceFeed
from presence_sync.clients.pubsub.stream import ReplayIdRefused, StreamPositionLost, TopicRefused
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.runtime_config import RuntimeConfig

from .metrics import Metrics
from .reconciler import Observation, Reconciler
from .vendor_values import acd_notation, parse_time

__all__ = ["CxoneFeed", "SalesforceFeed"]

log = logging.getLogger("runtime.feeds")


class _Stoppable:
    name = "feed"

    def __init__(self, metrics: Metrics, clock: Callable[[], float]) -> None:
        self.metrics = metrics
        self.clock = clock
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.caught_up = False  # its catch-up read (or a fresh store's baseline) is done: set by whoever runs it
        self.on_failure: Callable[[VendorError], None] | None = None  # hook for observers (the live view)

    def _ok(self, changed: Iterable[float | None]) -> None:
        now = self.clock()
        self.last_success = now
        self.last_error = None
        self.metrics.feed_last_success.labels(self.name).set(now)
        times = [t for t in changed if t is not None]
        if times:
            self.metrics.feed_lag.labels(self.name).set(max(0.0, now - max(times)))

    def failed(self, exc: VendorError) -> None:
        self.last_error = str(exc)
        self.metrics.errors.labels(exc.vendor, type(exc).__name__).inc()
        log.warning("feed read failed", extra={"feed": self.name, "error": str(exc)})
        if self.on_failure is not None:
            self.on_failure(exc)

    def connected(self, within: float) -> bool:
        return self.last_success is not None and self.clock() - self.last_success <= within


class _CxoneClient(Protocol):
    def agent_states(self, updated_since: str | datetime | None = None) -> tuple[list[Any], str | None]: ...


@runtime_checkable
class _SweepingCxone(Protocol):  # the changes after the cursor's head, then (when due) the rows made visible late
    feed_pages: int

    def agent_state_changes(self, since: Any = None, on_page: Callable[[list[Any]], Any] | None = None) -> Any: ...
    def late_agent_states(self, cursor: str) -> tuple[list[Any], str]: ...


class CxoneFeed(_Stoppable):
    name = "cxone"
    CURSOR = "cxone.lastPollTime"

    def __init__(
        self,
        client: _CxoneClient | _SweepingCxone,
        reconciler: Reconciler,
        config: RuntimeConfig,
        *,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(metrics, clock)
        self.client = client
        self.reconciler = reconciler
        self.config = config
        self.interval = max(config.poll_interval_seconds, 60.0 / config.api_budget_per_minute.cxone)
        self._calls: collections.deque[float] = collections.deque()  # when the last minute's calls were made

    def catch_up(self) -> None:
        """At start: a fresh store takes a baseline (nothing propagates), else a read from the cursor, before writes."""
        fresh = self.reconciler.store.get_cursor(self.CURSOR) is None
        self.poll_once(full=fresh, baseline=fresh)

    def poll_once(self, *, full: bool = False, baseline: bool = False) -> int:
        """One read since the durable cursor (all when ``full``); pages are observed as they come, before a sweep.
        A ``baseline`` is the state found when the read began: a row changed later (beyond the clock skew bound;
        the agent acted while the pages were read) is a change, or it would be recorded and never propagated."""
        cursor = None if full else self.reconciler.store.get_cursor(self.CURSOR)
        found_until = self.clock() + self.config.clock_skew_seconds if baseline else None
        if not isinstance(client := self.client, _SweepingCxone):
            return self._take(*client.agent_states(cursor), found_until)
        pages, taken = client.feed_pages, [0]  # each page is observed as it comes, then the cursor after them
        _, after = client.agent_state_changes(cursor, lambda rows: taken.append(self._take(rows, None, found_until)))
        self._take([], after, found_until)
        late, swept = client.late_agent_states(after)
        if swept != after:
            taken.append(self._take(late, swept, found_until))
        if count := sum(taken):  # the benchmark reads these lines
            log.info("cxone poll: %d states (%d by a sweep) in %d pages", count, len(late), client.feed_pages - pages)
        return count

    def _take(self, states: Iterable[Any], cursor: str | None, found_until: float | None) -> int:  # cursor None: kept
        codes = self.config.unavailable_codes
        observations = [
            Observation(
                s.agent_id,
                acd_notation(s.agent_state_name, s.out_state_id, s.out_state_description, codes),
                parse_time(s.last_update_time),
            )
            for s in states
        ]
        position = None if cursor is None else (self.CURSOR, cursor)
        until = math.inf if found_until is None else found_until
        if during := [o for o in observations if (o.changed_at or 0.0) > until]:  # changed while a baseline was read
            self.reconciler.observe("acd", during)
        found = [o for o in observations if (o.changed_at or 0.0) <= until]
        self.reconciler.observe("acd", found, position, baseline=found_until is not None)
        self._ok(o.changed_at for o in observations)
        return len(observations)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started, pages = time.monotonic(), getattr(self.client, "feed_pages", None)
            try:
                self.poll_once()
            except VendorError as exc:
                self.failed(exc)
            except Exception:
                if stop.is_set():
                    return  # the store closed under us while stopping
                log.exception("feed read failed unexpectedly", extra={"feed": self.name})
            now = time.monotonic()
            made = 1 if pages is None else max(1, getattr(self.client, "feed_pages", pages) - pages)
            stop.wait(max(0.0, self.interval - (now - started), self._budget_wait(now, made)))  # start to start

    def _budget_wait(self, now: float, made: int) -> float:
        """How long until the last minute's calls are fewer than ``api_budget_per_minute.cxone``: the budget is
        calls, not polls, so a burst's pages are spent from it and the polls after them wait their turn (one
        poll's pages can still take a minute's window past it: a read is not cut half way)."""
        budget = self.config.api_budget_per_minute.cxone
        self._calls.extend([now] * made)
        while self._calls and self._calls[0] <= now - 60.0:
            self._calls.popleft()
        return 0.0 if len(self._calls) < budget else self._calls[len(self._calls) - budget] + 60.0 - now


class _ChangeStream(Protocol):
    def read_presence_changes(self, after: Any, wait_ms: int = 0, limit: int = 100) -> tuple[list[Any], Any]: ...


@runtime_checkable
class _OpaquePositions(Protocol):
    """A stream whose positions are opaque text (Pub/Sub replay ids) and whose None means "from now"."""

    def position_from_text(self, text: str) -> Any: ...


class _SalesforceClient(Protocol):
    def poll_current_presence(self, since: datetime | None = None) -> tuple[list[Any], datetime | None]: ...


def change_stream(client: Any, config: RuntimeConfig) -> _ChangeStream:
    """The production client reads changes from the Pub/Sub API; a test fake is its own stream."""
    if isinstance(client, SalesforceClient):
        return PubSubPresenceFeed(client, topic=config.salesforce_topic)
    stream: _ChangeStream = client
    return stream


class SalesforceFeed(_Stoppable):
    name = "salesforce"
    CURSOR = "salesforce.replayId"
    POLL_CURSOR = "salesforce.lastModified"
    BASELINE = "salesforce.baseline"
    LIMIT = 1000
    REFUSED_RETRY_SECONDS = 60.0

    def __init__(
        self,
        client: _SalesforceClient,
        reconciler: Reconciler,
        config: RuntimeConfig,
        *,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        stream: _ChangeStream | None = None,
    ) -> None:
        super().__init__(metrics, clock)
        self.client = client
        self.reconciler = reconciler
        self.config = config
        self.mode = config.salesforce_feed
        self._stream = stream
        self.poll_interval = max(config.poll_interval_seconds, 60.0 / config.api_budget_per_minute.salesforce)
        self._record_user: dict[str, str] = {}  # UserServicePresence id -> user id (closing events lack UserId)
        self.metrics.salesforce_polling.set(1 if self.mode == "poll" else 0)

    @property
    def stream(self) -> _ChangeStream:
        if self._stream is None:  # opened on first use: a polling feed never connects to the Pub/Sub API
            self._stream = change_stream(self.client, self.config)
        return self._stream

    def close(self) -> None:
        if isinstance(self._stream, PubSubPresenceFeed):
            self._stream.close()

    def catch_up(self) -> None:
        """At start: a fresh store takes the stream's position and a baseline snapshot (nothing propagates);
        otherwise the stream (or the poll) is read from its durable cursor until it has nothing more."""
        store = self.reconciler.store
        # Stores written before the baseline marker existed were baselined together with the CXone cursor.
        if store.get_cursor(self.BASELINE) is None and store.get_cursor(CxoneFeed.CURSOR) is None:
            self.start_position()
            self.poll_once(full=True, baseline=True)
            store.set_cursor(self.BASELINE, "done")
            return
        if self.mode == "stream":
            try:
                if self._position() is None and isinstance(self.stream, _OpaquePositions):
                    self.resync("no replay id stored")
                    return
                while self.read_once(0) >= self.LIMIT:
                    pass
                return
            except (ReplayIdRefused, StreamPositionLost) as exc:
                self.resync(str(exc))
                return
            except TopicRefused as exc:
                self._refused(exc)
                if self.mode == "stream":
                    return
        self.poll_once()

    # -- stream
    def _position(self) -> Any:
        raw = self.reconciler.store.get_cursor(self.CURSOR)
        if raw in (None, ""):
            return None
        return self.stream.position_from_text(raw) if isinstance(self.stream, _OpaquePositions) else int(raw)

    def start_position(self) -> None:
        """A fresh store starts at the stream's newest event (the snapshot that follows covers the past)."""
        if self.mode == "stream" and self.reconciler.store.get_cursor(self.CURSOR) is None:
            try:
                _, latest = self.stream.read_presence_changes(-1, 0, 1)
            except TopicRefused as exc:
                self._refused(exc)
                return
            self.reconciler.store.set_cursor(self.CURSOR, None if latest is None else str(latest))

    def resync(self, reason: str) -> None:
        """Reopen the stream at its newest event, then read every current presence row once: what happened
        while the stream's position was unknown is seen, nothing is lost (the rows are the state)."""
        log.warning("salesforce change stream: full resync", extra={"feed": self.name, "error": reason.splitlines()[0]})
        self.metrics.salesforce_resyncs.inc()
        self.reconciler.store.set_cursor(self.CURSOR, None)
        self.start_position()
        self.poll_once(full=True)

    def read_once(self, wait_ms: int = 0) -> int:
        """One read of the stream after the durable replay id; returns how many events came."""
        events, last = self.stream.read_presence_changes(self._position(), wait_ms, self.LIMIT)
        observations = self.fold(events)
        cursor = None if last is None else str(last)
        self.reconciler.observe("sf", observations, (self.CURSOR, cursor))
        self._ok(o.changed_at for o in observations)
        return len(events)

    def fold(self, events: Iterable[Any]) -> list[Observation]:
        """Change events -> each status the agents took, in order (None: logged out of Omni).

        A status change is the old row closed and the new one created in one transaction: a close directly
        followed by the same user's create is one change, a close with none after it a logout. Every change is
        kept, not only the batch's last: a change of the agent's followed by our write's echo in one batch
        must still be seen as theirs (the reconciler collapses the writes)."""
        changes: list[tuple[str, str | None, float | None]] = []  # (user, status, time)
        closed_last: dict[str, int] = {}  # user -> index of a close that a create may still pair with
        for event in events:
            changed_at = parse_time(event.commit_timestamp)
            if event.change_type == "CREATE" and event.user_id and event.is_current is not False:
                if event.record_id:
                    self._record_user[event.record_id] = event.user_id
                pending_close = closed_last.pop(event.user_id, None)
                if pending_close is not None and pending_close == len(changes) - 1:
                    changes[pending_close] = (event.user_id, event.status_id, changed_at)
                else:
                    changes.append((event.user_id, event.status_id, changed_at))
            elif event.change_type == "UPDATE" and event.is_current is False:
                user = self._record_user.pop(event.record_id or "", None) or event.commit_user
                if user:
                    closed_last[user] = len(changes)
                    changes.append((user, None, changed_at))
        observations = []
        for user_id, status_id, changed_at in changes:
            agent_id = self.reconciler.agent_for_user(user_id)
            if agent_id is not None:
                observations.append(Observation(agent_id, status_id, changed_at))
        return observations

    # -- polling fallback
    def _refused(self, exc: TopicRefused) -> None:
        """The org refused the topic: poll if the admin opted in, else say what to enable (and retry later)."""
        if self.config.salesforce_poll_fallback:
            log.warning(
                "salesforce change stream refused; polling UserServicePresence (salesforce_poll_fallback)",
                extra={"feed": self.name, "error": str(exc)},
            )
            self.mode = "poll"
            self.metrics.salesforce_polling.set(1)
            return
        log.error(str(exc), extra={"feed": self.name})
        self.failed(exc)

    def poll_once(self, *, full: bool = False, baseline: bool = False) -> int:
        raw = None if full else self.reconciler.store.get_cursor(self.POLL_CURSOR)
        since = datetime.fromisoformat(raw) if raw else None
        rows, newest = self.client.poll_current_presence(since)
        observations = []
        for row in rows:
            agent_id = self.reconciler.agent_for_user(row.user_id)
            if agent_id is not None:
                # Beside the change stream, LastModifiedDate is not on the change events' time basis (their
                # CommitTimestamp): such a read shows a different state, never a repeated one.
                observations.append(
                    Observation(agent_id, row.status_id, parse_time(row.last_modified), snapshot=self.mode == "stream")
                )
        cursor = (self.POLL_CURSOR, newest.isoformat()) if newest is not None and not full else None
        self.reconciler.observe("sf", observations, cursor, baseline=baseline)
        self._ok(o.changed_at for o in observations)
        return len(observations)

    def run(self, stop: threading.Event) -> None:
        wait_ms = int(self.config.stream_wait_seconds * 1000)
        while not stop.is_set():
            started = time.monotonic()
            try:
                if self.mode == "stream":
                    self.read_once(wait_ms)
                    continue
                self.poll_once()
            except (ReplayIdRefused, StreamPositionLost) as exc:
                self._resync_or_fail(exc, stop)
                continue
            except TopicRefused as exc:
                self._refused(exc)
                if self.mode == "stream":
                    stop.wait(self.REFUSED_RETRY_SECONDS)  # until the admin enables it
                continue
            except VendorError as exc:
                self.failed(exc)
                stop.wait(min(self.poll_interval, 1.0))
                continue
            except Exception:
                if stop.is_set():
                    return  # the store closed under us while stopping
                log.exception("feed read failed unexpectedly", extra={"feed": self.name})
                stop.wait(1.0)
                continue
            stop.wait(max(0.0, self.poll_interval - (time.monotonic() - started)))  # start to start, as above

    def _resync_or_fail(self, exc: VendorError, stop: threading.Event) -> None:
        try:
            self.resync(str(exc))
        except VendorError as failure:
            self.failed(failure)
            stop.wait(min(self.poll_interval, 1.0))

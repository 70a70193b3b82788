"""Per-agent, level-triggered reconcile with an outbox, retries and a circuit per vendor.

    feeds ──observe()──▶ store (states, source, dirty) ──mark_dirty──▶ queue ──worker──▶ reconcile(agent)
                                                                                         │ decide (rules)
                                                                                         ▼
                                                                 outbox + echo ledger ──▶ writer (vendor)

* ``observe`` records what a feed saw (in chunks of transactions, the feed's cursor with the last). An observation that
  matches the echo ledger is our own write coming back: it confirms the write and is never propagated.
  Anything else that differs from the known state is a change: its side becomes the agent's *source* and the
  agent is marked dirty.
* ``reconcile(agent)`` looks only at the latest states (``rules.decide``), so duplicates, reordering and
  bursts collapse into at most one write per side. The decision goes to the outbox and the ledger in one
  transaction, then the write is made; only a confirmed write leaves the outbox.
* One reconcile per agent at a time (a key that becomes dirty while in flight runs again afterwards).
* Transient vendor errors keep the write in the outbox and retry it with capped exponential backoff and
  jitter; each vendor has a circuit that opens after consecutive failures, so an outage on one side costs
  one probe per cooldown while the other direction keeps flowing. Permanent errors drop the write (logged
  and counted). Token refresh is the clients' job.
"""

from __future__ import annotations

import collections
import heapq
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from presence_sync.clients.errors import TransientVendorError, VendorError

from .config import AgentLink, RuntimeConfig
from .metrics import Metrics
from .rules import LedgerEntry, Side, decide, is_echo, previous_after_write
from .store import PendingWrite, Store

__all__ = ["CircuitBreaker", "Observation", "Reconciler", "Writer"]

log = logging.getLogger("runtime.reconciler")

VENDOR: dict[Side, str] = {"acd": "cxone", "sf": "salesforce"}
DIRECTION: dict[Side, str] = {"sf": "cxone_to_salesforce", "acd": "salesforce_to_cxone"}


@dataclass(frozen=True)
class Observation:
    """A feed saw ``agent_id``'s ``side`` in ``state`` (None: logged out of Omni), changed at ``changed_at``."""

    agent_id: int
    state: str | None
    changed_at: float | None = None


class Writer(Protocol):
    def write(self, pending: PendingWrite, link: AgentLink) -> None:
        """Make the write; raise ``VendorError`` (transient or permanent) when it did not happen."""
        ...


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures → half-open after a cooldown (one probe);
    the cooldown doubles on each failed probe, up to ``max_cooldown``."""

    def __init__(self, name: str, *, threshold: int = 3, cooldown: float = 0.5, max_cooldown: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.name = name
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._cooldown = cooldown
        self._open_until: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None

    def retry_in(self) -> float:
        with self._lock:
            return 0.0 if self._open_until is None else max(0.0, self._open_until - self._clock())

    def allow(self) -> bool:
        with self._lock:
            if self._open_until is None:
                return True
            if self._clock() >= self._open_until and not self._probing:
                self._probing = True  # half-open: exactly one caller probes
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None
            self._probing = False
            self._cooldown = self.base_cooldown

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing:
                self._cooldown = min(self.max_cooldown, self._cooldown * 2)
            if self._probing or self._failures >= self.threshold:
                if self._open_until is None:
                    log.warning("circuit %s opened after %d failures", self.name, self._failures)
                self._open_until = self._clock() + self._cooldown
            self._probing = False


class Reconciler:
    OBSERVE_CHUNK = 32  # observations per store transaction in observe()

    def __init__(
        self,
        config: RuntimeConfig,
        store: Store,
        writers: Mapping[Side, Writer],
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        breakers: Mapping[Side, CircuitBreaker] | None = None,
        retry_base: float = 0.2,
        retry_max: float = 5.0,
        clock_skew: float | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.writers = dict(writers)
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.rand = rand
        self.breakers: dict[Side, CircuitBreaker] = dict(breakers or {
            "acd": CircuitBreaker("cxone"), "sf": CircuitBreaker("salesforce")})  # fmt: skip
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.clock_skew = config.clock_skew_seconds if clock_skew is None else clock_skew
        self.links: dict[int, AgentLink] = {link.agent_id: link for link in config.agents}
        self.by_user: dict[str, int] = {link.salesforce_user_id: link.agent_id for link in config.agents}
        self._cond = threading.Condition()
        self._queue: collections.deque[int] = collections.deque()
        self._queued: set[int] = set()
        self._inflight: set[int] = set()
        self._again: set[int] = set()
        self._timers: list[tuple[float, int]] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.on_write: Callable[[PendingWrite, float], None] | None = None  # hook: (write, completed at)

    # ------------------------------------------------------------------------------------- feeds side

    def observe(self, side: Side, observations: Iterable[Observation], cursor: tuple[str, str | None] | None = None,
                *, baseline: bool = False) -> list[int]:  # fmt: skip
        """Record what a feed saw, and then its cursor; returns the agents that became dirty.

        ``baseline``: the first snapshot of a fresh store; states are recorded, nothing is a change.
        """
        dirty: list[int] = []
        now = self.clock()
        batch = [obs for obs in observations if obs.agent_id in self.links]
        # Large reads are recorded in chunks, each its own transaction, so the workers (which need the store
        # for every reconcile) are not held up by a whole burst, and the first agents are queued at once. The
        # cursor goes in with the last chunk: a crash in between repeats the read, and what the earlier chunks
        # recorded is then already known (no change, no second echo), while their dirty agents are durable.
        start = 0
        while True:
            chunk = batch[start:start + self.OBSERVE_CHUNK]
            start += len(chunk)
            last = start >= len(batch)
            marked = []
            with self.store.transaction():
                for obs in chunk:
                    if self._observe_one(side, obs, now, baseline):
                        marked.append(obs.agent_id)
                if last and cursor is not None:
                    self.store.set_cursor(*cursor)
            for agent_id in marked:
                self.mark_dirty(agent_id)
            dirty.extend(marked)
            if last:
                return dirty

    def _observe_one(self, side: Side, obs: Observation, now: float, baseline: bool) -> bool:
        rec = self.store.load_agent(obs.agent_id)
        known = rec.observed(side)
        if obs.state == known and side not in rec.expected:
            return False  # nothing new (a repeated read, a resync): the common case, answered without the ledger
        echo = is_echo(self.store.ledger(obs.agent_id), side, obs.state, now, obs.changed_at, self.clock_skew)
        if echo is not None and not baseline:
            self.store.consume_ledger(obs.agent_id, side, echo.written_at)
            rec.set_observed(side, obs.state)
            # The echo of a write we since cancelled (no write expected now): look at the agent again.
            stale = side not in rec.expected
            if rec.expected.get(side) == obs.state:
                rec.expected.pop(side, None)
                rec.expected_at.pop(side, None)
            for pending in self.store.pending_writes(obs.agent_id):
                if pending.side == side and pending.target == obs.state:
                    self.store.delete_write(obs.agent_id, side, pending.command_id)  # done (e.g. before a crash)
            rec.dirty = rec.dirty or stale
            self.store.save_agent(rec)
            self.metrics.echoes_suppressed.labels(side).inc()
            log.debug("echo suppressed", extra={"agent_id": obs.agent_id, "side": side, "state": obs.state})
            return stale
        if obs.state == known:
            return False
        rec.set_observed(side, obs.state)
        if baseline:
            self.store.save_agent(rec)
            return False
        rec.source = side
        rec.source_changed_at = obs.changed_at if obs.changed_at is not None else now
        rec.caused_by_us[side] = False
        rec.expected.pop(side, None)
        rec.expected_at.pop(side, None)
        for pending in self.store.pending_writes(obs.agent_id):
            if pending.side == side:  # the agent's own newer choice beats our queued write to that side
                self.store.delete_write(obs.agent_id, side, pending.command_id)
                self.store.drop_ledger_command(obs.agent_id, pending.command_id)
        rec.dirty = True
        self.store.save_agent(rec)
        self.metrics.changes_seen.labels(side).inc()
        log.info("change seen", extra={"agent_id": obs.agent_id, "side": side, "state": obs.state})
        return True

    def agent_for_user(self, user_id: str | None) -> int | None:
        return None if user_id is None else self.by_user.get(user_id)

    # ------------------------------------------------------------------------------------- queue

    def mark_dirty(self, agent_id: int) -> None:
        with self._cond:
            if agent_id in self._inflight:
                self._again.add(agent_id)
            elif agent_id not in self._queued:
                self._queued.add(agent_id)
                self._queue.append(agent_id)
                self._cond.notify()

    def mark_all_dirty(self) -> None:
        for agent_id in self.links:
            self.mark_dirty(agent_id)

    def recover(self) -> None:
        """After a restart: agents left dirty and every pending write get a reconcile."""
        for agent_id in self.store.dirty_agents():
            self.mark_dirty(agent_id)
        for pending in self.store.pending_writes():
            self.mark_dirty(pending.agent_id)

    def _schedule(self, at: float, agent_id: int) -> None:
        with self._cond:
            heapq.heappush(self._timers, (at, agent_id))
            self._cond.notify_all()

    def _take(self, block: bool) -> int | None:
        with self._cond:
            while True:
                self._release_due_timers()
                if self._queue:
                    agent_id = self._queue.popleft()
                    self._queued.discard(agent_id)
                    self._inflight.add(agent_id)
                    return agent_id
                if not block or self._stopping:
                    return None
                wait = 0.5 if not self._timers else max(0.001, min(0.5, self._timers[0][0] - self.clock()))
                self._cond.wait(wait)

    def _release_due_timers(self) -> None:
        now = self.clock()
        while self._timers and self._timers[0][0] <= now:
            _, agent_id = heapq.heappop(self._timers)
            if agent_id in self._inflight:
                self._again.add(agent_id)
            elif agent_id not in self._queued:
                self._queued.add(agent_id)
                self._queue.append(agent_id)

    def _done(self, agent_id: int) -> None:
        with self._cond:
            self._inflight.discard(agent_id)
            if agent_id in self._again:
                self._again.discard(agent_id)
                self._queued.add(agent_id)
                self._queue.append(agent_id)
                self._cond.notify()

    def drain(self) -> int:
        """Reconcile queued agents in this thread until the queue is empty (tests); returns how many ran."""
        count = 0
        while (agent_id := self._take(block=False)) is not None:
            try:
                self.reconcile(agent_id)
            finally:
                self._done(agent_id)
            count += 1
        return count

    def start(self, workers: int | None = None) -> None:
        self._stopping = False
        for number in range(workers or self.config.workers):
            thread = threading.Thread(target=self._work, name=f"reconcile-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and not self._inflight

    def _work(self) -> None:
        while (agent_id := self._take(block=True)) is not None:
            try:
                self.reconcile(agent_id)
            except Exception:
                log.exception("reconcile failed", extra={"agent_id": agent_id})
                self._schedule(self.clock() + 1.0, agent_id)
            finally:
                self._done(agent_id)

    # ------------------------------------------------------------------------------------- reconcile

    def reconcile(self, agent_id: int) -> None:
        """Decide from the latest states, queue the write (outbox + ledger), then make the due writes."""
        link = self.links.get(agent_id)
        if link is None:
            return
        now = self.clock()
        window = self.config.echo_window_seconds
        with self.store.transaction():
            rec = self.store.load_agent(agent_id)
            rec.dirty = False
            queued = {p.side: p for p in self.store.pending_writes(agent_id)}
            for side, at in list(rec.expected_at.items()):
                if now - at > window and side not in queued:  # never confirmed: stop assuming it
                    rec.expected.pop(side, None)
                    rec.expected_at.pop(side, None)
            # A write still in the outbox has not been made (a made one leaves it at once): decide as if it never
            # lands, so a change that is undone while the write waits (outage, backoff) costs no write at all.
            view = rec.view(link.team_id)
            for side in queued:
                view.expected.pop(side, None)
            write = decide(self.config.rules, view)
            for side, item in queued.items():
                if write is None or write.side != side:
                    # Nothing to write any more: forget the queued write. Its ledger entry stays, so a late
                    # landing (a timeout that did reach the vendor) is recognised and reconciled again.
                    self.store.delete_write(agent_id, side, item.command_id)
                    rec.expected.pop(side, None)
                    rec.expected_at.pop(side, None)
            already = queued.get(write.side) if write is not None else None
            if write is not None and already is not None and already.target == write.target:
                write = None  # already queued
            if write is not None:
                command_id = uuid.uuid4().hex
                rec.previous[write.side] = previous_after_write(
                    rec.view(link.team_id), write.side, rec.caused_by_us.get(write.side, False))
                rec.caused_by_us[write.side] = True
                rec.expected[write.side] = write.target
                rec.expected_at[write.side] = now
                self.store.put_write(PendingWrite(agent_id, write.side, write.target, command_id, now,
                                                  rec.source_changed_at))  # fmt: skip
                self.store.add_ledger(agent_id, LedgerEntry(write.side, write.target, now, now + window, command_id))
                log.debug("write decided", extra={"agent_id": agent_id, "side": write.side, "state": write.target,
                                                 "rule": write.rule, "command_id": command_id})  # fmt: skip
            self.store.save_agent(rec)
            pending = self.store.pending_writes(agent_id)
        # A write whose echo the feed already showed (say, made just before a crash) left the outbox in observe().
        for item in pending:
            self._attempt(item, link)

    def _attempt(self, item: PendingWrite, link: AgentLink) -> None:
        now = self.clock()
        if item.next_attempt_at > now:
            self._schedule(item.next_attempt_at, item.agent_id)
            return
        breaker = self.breakers[item.side]
        if not breaker.allow():
            self._schedule(now + max(0.05, breaker.retry_in()), item.agent_id)
            return
        vendor = VENDOR[item.side]
        try:
            self.writers[item.side].write(item, link)
        except TransientVendorError as exc:
            breaker.failure()
            self.metrics.errors.labels(vendor, type(exc).__name__).inc()
            attempts = item.attempts + 1
            step = min(self.retry_max, self.retry_base * 2 ** (attempts - 1))
            retry_at = self.clock() + step / 2 + self.rand() * step / 2
            if self.store.update_write(replace(item, attempts=attempts, next_attempt_at=retry_at)):
                self._schedule(retry_at, item.agent_id)
            log.warning("write deferred", extra={"agent_id": item.agent_id, "side": item.side,
                                                 "attempts": attempts, "error": str(exc)})  # fmt: skip
            return
        except VendorError as exc:
            breaker.success()  # the vendor answered; the request itself is wrong
            self.metrics.errors.labels(vendor, type(exc).__name__).inc()
            with self.store.transaction():
                self.store.delete_write(item.agent_id, item.side, item.command_id)
                self.store.drop_ledger_command(item.agent_id, item.command_id)
                rec = self.store.load_agent(item.agent_id)
                if rec.expected.get(item.side) == item.target:
                    rec.expected.pop(item.side, None)
                    rec.expected_at.pop(item.side, None)
                    self.store.save_agent(rec)
            log.error("write failed", extra={"agent_id": item.agent_id, "side": item.side, "error": str(exc)})
            return
        breaker.success()
        done = self.clock()
        self.store.delete_write(item.agent_id, item.side, item.command_id)
        self.metrics.writes.labels(item.side).inc()
        if item.source_changed_at is not None:
            self.metrics.latency.labels(DIRECTION[item.side]).observe(max(0.0, done - item.source_changed_at))
        if self.on_write is not None:
            self.on_write(item, done)
        log.info("write made", extra={"agent_id": item.agent_id, "side": item.side, "state": item.target,
                                      "command_id": item.command_id})  # fmt: skip


"""Per-agent, level-triggered reconcile: what the feeds saw, ordered by the vendors' change times, decides one
write per side; an outbox, retries and a circuit per vendor make it happen.

    feeds ──observe()──▶ store (states, change times, source) ──▶ KeyedWorkQueue ──worker──▶ reconcile(agent)
                                                                         ▲                     │ decide (rules)
                                                                         └── requeue at ◀──────┤
                                                             outbox + echo ledger ──▶ writer (vendor)

* ``observe`` records what a feed saw (in chunks of transactions, the feed's cursor with the last). An
  observation that matches the echo ledger is our own write coming back: it confirms the write, teaches the
  vendor's clock offset (``clocks.SkewEstimator``) and is never propagated. Anything else that is newer than
  what the side showed before -- a different state, or the same state with a newer vendor time (the agent went
  away and came back) -- is the agent's own change. The agent's latest change by vendor time (on our clock)
  is the *source*: the other side follows it. A change older than the agent's latest change on the other side
  (it was invisible for a while: an outage, a slow poll) does not win because it arrived last; it is overwritten.
  Two changes closer together than the clocks' uncertainty are ambiguous: the best estimate still decides.
* ``reconcile(agent)`` decides from the latest states only (``rules.decide``), so duplicates, reordering and
  bursts collapse into at most one write per side, and returns when it wants to run again (a backoff, an open
  circuit). The queue (``workqueue.KeyedWorkQueue``) runs one reconcile per agent at a time.
* A write is stored (outbox + ledger) before the vendor is called; only a landed write leaves the outbox. A
  write whose outcome is unknown (no answer), or that waited longer than ``reread_after`` seconds, re-reads the
  target side first, so it never lands over a change the agent made meanwhile.
* A write is marked in the outbox before each attempt goes out, so after a crash one that was under way counts
  as one without an answer: it re-reads its side before it is made again, so it is never repeated over its own
  echo, and neither feed waits for the other to catch up.
"""

from __future__ import annotations

import collections
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from presence_sync.clients.errors import TransientVendorError, VendorError
from presence_sync.clients.retry import certainly_not_processed
from presence_sync.runtime_config import AgentLink, RuntimeConfig

from .circuit import CircuitBreaker
from .clocks import APPLY_ALLOWANCE, SETTLED, SkewEstimator
from .metrics import Metrics
from .rules import LedgerEntry, Side, Write, decide, is_echo, other, previous_after_write
from .store import AgentRecord, PendingWrite, Store
from .workqueue import KeyedWorkQueue

__all__ = ["CircuitBreaker", "Observation", "Reconciler", "Result", "Writer"]

log = logging.getLogger("runtime.reconciler")

VENDOR: dict[Side, str] = {"acd": "cxone", "sf": "salesforce"}
DIRECTION: dict[Side, str] = {"sf": "cxone_to_salesforce", "acd": "salesforce_to_cxone"}


@dataclass(frozen=True)
class Observation:
    """A feed saw ``agent_id``'s ``side`` in ``state`` (None: logged out of Omni), changed at ``changed_at``
    (the vendor's clock). ``snapshot``: read from a full current-state listing whose timestamps are not on the
    same basis as the side's change feed (Salesforce's UserServicePresence vs its change events): it reveals a
    different state, never a repeated one."""

    agent_id: int
    state: str | None
    changed_at: float | None = None
    snapshot: bool = False


@dataclass(frozen=True)
class Result:
    """What a reconcile asks of the queue: run again at ``requeue_at`` (our clock), or not (None)."""

    requeue_at: float | None = None


class Writer(Protocol):
    def write(self, pending: PendingWrite, link: AgentLink) -> None:
        """Make the write; raise ``VendorError`` (transient or permanent) when it did not happen."""
        ...


@runtime_checkable
class Rereader(Protocol):
    """A writer that can also read its side back (both real writers can; test fakes may not)."""

    def current(self, link: AgentLink) -> Observation | None:
        """The side's state right now, read from the vendor (None: cannot tell)."""
        ...


class Reconciler:
    OBSERVE_CHUNK = 32  # observations per store transaction in observe()
    CLOCK_CURSOR = "clock."  # + side: the clock samples, kept with the cursors
    RESTAMP_AFTER = 0.05  # seconds after its decision a write's first attempt re-stamps its ledger entry

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
        reread_after: float | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.writers = dict(writers)
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.rand = rand
        self.breakers: dict[Side, CircuitBreaker] = dict(
            breakers or {"acd": CircuitBreaker("cxone"), "sf": CircuitBreaker("salesforce")}
        )
        self.retry_base = retry_base
        self.retry_max = retry_max
        initial = config.clock_skew_seconds if clock_skew is None else clock_skew
        self.skew: dict[Side, SkewEstimator] = {"acd": SkewEstimator(initial), "sf": SkewEstimator(initial)}
        for side, estimator in self.skew.items():  # what earlier runs learnt: a restart does not start blind
            saved = store.get_cursor(self.CLOCK_CURSOR + side)
            if saved:
                estimator.restore(json.loads(saved))
        self.reread_after = config.reread_after_seconds if reread_after is None else reread_after
        # How long a landed write is assumed to be its side's state without its echo: two polls and the longest a
        # vendor takes to apply it. After that the side's own observed state counts again (a missed echo, or an
        # agent's change the feed folded with it, no longer hides that the sides disagree).
        self.expect_for = 2 * config.poll_interval_seconds + APPLY_ALLOWANCE
        self._reads: dict[str, collections.deque[float]] = {
            "acd": collections.deque(maxlen=2),
            "sf": collections.deque(maxlen=2),
        }
        self.links: dict[int, AgentLink] = {link.agent_id: link for link in config.agents}
        self.by_user: dict[str, int] = {link.salesforce_user_id: link.agent_id for link in config.agents}
        self.queue: KeyedWorkQueue[int] = KeyedWorkQueue(clock)
        self._sending: set[str] = set()  # command ids being written right now (their echo may still come)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # Hooks for observers (the live view): never change what the reconciler does.
        self.on_write: Callable[[PendingWrite, float], None] | None = None  # (write, completed at)
        self.on_change: Callable[[Iterable[int]], None] | None = None  # agents whose record may have changed
        self.on_error: Callable[[PendingWrite, VendorError, bool], None] | None = None  # (write, error, retrying)

    # ------------------------------------------------------------------------------------- feeds side

    def observe(
        self,
        side: Side,
        observations: Iterable[Observation],
        cursor: tuple[str, str | None] | None = None,
        *,
        baseline: bool = False,
    ) -> list[int]:
        """Record what a feed saw, and then its cursor; returns the agents that became dirty.

        ``baseline``: the side's first snapshot in a fresh store; states are recorded, nothing is a change.
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
            chunk = batch[start : start + self.OBSERVE_CHUNK]
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
            if self.on_change is not None:
                self.on_change(obs.agent_id for obs in chunk)
            if last:
                self._reads[side].append(self.clock())
                if self.breakers[side].reachable():  # the writes waiting for the circuit: try them then
                    probe_at = self.clock() + self.breakers[side].retry_in()
                    for pending in self.store.pending_writes():
                        if pending.side == side:
                            self.queue.add_at(pending.agent_id, probe_at)
                return dirty

    def _observe_one(self, side: Side, obs: Observation, now: float, baseline: bool) -> bool:
        rec = self.store.load_agent(obs.agent_id)
        known, known_at = rec.observed(side), rec.seen_at.get(side)
        newer = False
        if obs.changed_at is not None and known_at is not None:
            if obs.changed_at < known_at and obs.state != known:
                return False  # older than what this side already showed: a read that started before the last one
            newer = obs.changed_at > known_at and not obs.snapshot
        if obs.state == known and not newer:
            return False  # nothing new (a repeated read, a resync): the common case, answered without the ledger
        if obs.changed_at is not None:
            self.skew[side].arrived(vendor_time=obs.changed_at, received_at=now)
        if baseline:
            self._record_state(rec, side, obs)
            rec.dirty = rec.source is not None  # the other side changed before this side's snapshot came
            self.store.save_agent(rec)
            return rec.dirty
        estimate = self.skew[side].estimate
        changed = estimate.to_ours(obs.changed_at) if obs.changed_at is not None else now
        echo = is_echo(
            self._could_have_landed(obs.agent_id),
            side,
            obs.state,
            now,
            changed,
            estimate.uncertainty,
            estimate.apply_delay,
        )
        if echo is not None:
            return self._confirm_echo(rec, side, obs, echo, known_at, changed)
        self._record_state(rec, side, obs)
        rec.human_at[side] = changed
        rec.human_state[side] = obs.state
        rec.caused_by_us[side] = False
        # A write of ours whose attempt ended before this change can no longer come back after it.
        with self._lock:
            sending = set(self._sending)
        # (Until the vendor's clock is measured, its stamps may also be off by the assumed bound.)
        unmeasured = estimate.uncertainty if self.skew[side].sample_count < SETTLED else 0.0
        self.store.drop_ledger_acked_before(
            obs.agent_id, side, changed - estimate.apply_delay - unmeasured, keep=sending
        )
        # The best estimate decides, also inside the ambiguity window (u_cxone + u_salesforce) where it may be
        # wrong: the order seen would be no better, since a poll reports a change up to an interval late.
        other_at = rec.human_at.get(other(side))
        if other_at is None or changed >= other_at:
            rec.source = side
            rec.source_changed_at = changed
            rec.expected.pop(side, None)
            rec.expected_at.pop(side, None)
            for pending in self.store.pending_writes(obs.agent_id):
                if pending.side == side:  # the agent's own newer choice beats our queued write to that side
                    self._cancel(pending)
        elif not any(
            e.side == side and e.written_at > changed and e.expires_at > now for e in self.store.ledger(obs.agent_id)
        ):
            # The agent changed the other side later; that change still governs, and this side follows it
            # again. (A write of ours decided after this change is on its way and will land over it: still
            # expected, so it is not made twice.)
            rec.expected.pop(side, None)
            rec.expected_at.pop(side, None)
        rec.dirty = True
        self.store.save_agent(rec)
        self.metrics.changes_seen.labels(side).inc()
        log.info("change seen", extra={"agent_id": obs.agent_id, "side": side, "state": obs.state})
        return True

    def _confirm_echo(
        self,
        rec: AgentRecord,
        side: Side,
        obs: Observation,
        echo: LedgerEntry,
        shown_before: float | None,
        changed: float,
    ) -> bool:
        """Our own write came back: it is the side's state now, it is never propagated."""
        if not obs.snapshot:  # a snapshot's echo comes again on the change feed: keep the entry for it
            self._consume(rec.agent_id, side, echo, changed)
        # It measures the vendor's clock only when it is the first change the side shows since the write went
        # out: an older write matched later (its own echo missed) would measure the wait, not the clock.
        first = shown_before is None or self.skew[side].estimate.to_ours(shown_before) < (echo.sent_at or 0.0)
        if first and echo.sent_at is not None and echo.acked_at is not None and obs.changed_at is not None:
            self.skew[side].sample(sent_at=echo.sent_at, acked_at=echo.acked_at, vendor_time=obs.changed_at)
            self.store.set_cursor(self.CLOCK_CURSOR + side, json.dumps(self.skew[side].samples()))
        self._record_state(rec, side, obs)
        # The echo of a write we since cancelled (no write expected now): look at the agent again.
        stale = side not in rec.expected
        if rec.expected.get(side) == obs.state:
            rec.expected.pop(side, None)
            rec.expected_at.pop(side, None)
        for pending in self.store.pending_writes(rec.agent_id):
            if pending.side == side and pending.target == obs.state:
                if pending.command_id == echo.command_id:
                    self.store.delete_write(rec.agent_id, side, pending.command_id)  # done (e.g. before a crash)
                else:  # the side is there already: a later write of the same state is not needed (nor its entry)
                    self._cancel(pending)
        # Our write landed after the agent changed this side themselves (it was on its way, or decided before
        # their change was seen): the agent's latest change is on this side and the side no longer shows it, so
        # the reconcile puts it back.
        overwrote = rec.source == side and side in rec.human_state and rec.human_state[side] != obs.state
        rec.dirty = rec.dirty or stale or overwrote
        self.store.save_agent(rec)
        self.metrics.echoes_suppressed.labels(side).inc()
        log.debug("echo suppressed", extra={"agent_id": rec.agent_id, "side": side, "state": obs.state})
        return stale or overwrote

    def _consume(self, agent_id: int, side: Side, echo: LedgerEntry, changed: float) -> None:
        """The echo's entry is done, and so are older writes to the side that landed before it changed (at
        ``changed``, our clock). An older write that could still land after it stays: when an agent chose our
        target just before we wrote it, their change is taken for that write's echo (indistinguishable), and the
        echo of a write made before it, stamped after their change, must still be recognised."""
        estimate = self.skew[side].estimate
        live = {p.command_id for p in self.store.pending_writes(agent_id)}
        with self._lock:
            live |= self._sending
        for entry in self.store.ledger(agent_id):
            if entry.side != side or entry.written_at > echo.written_at:
                continue
            ended = entry.acked_at if entry.acked_at is not None or entry.command_id in live else entry.written_at
            landed = ended is not None and ended + estimate.apply_delay + estimate.uncertainty < changed
            if entry.command_id == echo.command_id or landed:
                self.store.drop_ledger_command(agent_id, entry.command_id)

    def _could_have_landed(self, agent_id: int) -> list[LedgerEntry]:
        """The agent's ledger less the writes that certainly have not reached the vendor yet: still waiting in the
        outbox with every attempt refused (or none made), and not being sent right now."""
        pending = {p.command_id: p for p in self.store.pending_writes(agent_id)}
        with self._lock:
            sending = set(self._sending)
        entries = []
        for entry in self.store.ledger(agent_id):
            write = pending.get(entry.command_id)
            live = write is not None or entry.command_id in sending
            if entry.acked_at is None and not live:
                # Out of the outbox without an answer on record: whatever became of it happened after it was
                # decided, and is bounded like any unanswered attempt.
                entry = replace(entry, acked_at=entry.written_at)
            if entry.acked_at is not None or entry.command_id in sending or (write is not None and write.maybe_landed):
                entries.append(entry)
        return entries

    @staticmethod
    def _record_state(rec: AgentRecord, side: Side, obs: Observation) -> None:
        rec.set_observed(side, obs.state)
        if obs.changed_at is not None:
            # A snapshot's time counts too: a change event older than a state a listing already showed is stale
            # (the two time bases differ by milliseconds; a snapshot never makes a repeated state a change).
            rec.seen_at[side] = max(obs.changed_at, rec.seen_at.get(side, obs.changed_at))

    def _cancel(self, pending: PendingWrite) -> None:
        """Forget a queued write. Its ledger entry stays while it may have landed (an attempt without an answer,
        or one under way now), so a late landing is recognised as ours and reconciled again."""
        self.store.delete_write(pending.agent_id, pending.side, pending.command_id)
        with self._lock:
            sending = pending.command_id in self._sending
        if not pending.maybe_landed and not sending:
            self.store.drop_ledger_command(pending.agent_id, pending.command_id)
        elif not sending:  # its last attempt went out when it was marked (see _attempt): it can land only around then
            self.store.bound_ledger(
                pending.agent_id, pending.command_id, max(pending.created_at, pending.next_attempt_at - APPLY_ALLOWANCE)
            )

    def agent_for_user(self, user_id: str | None) -> int | None:
        return None if user_id is None else self.by_user.get(user_id)

    # ------------------------------------------------------------------------------------- queue and workers

    def mark_dirty(self, agent_id: int) -> None:
        self.queue.add(agent_id)

    def mark_all_dirty(self) -> None:
        for agent_id in self.links:
            self.queue.add(agent_id)

    def recover(self) -> None:
        """After a restart: agents left dirty and every pending write get a reconcile. A write that was under way
        when the process died was marked so before it went out (``_attempt``): it re-reads its side first."""
        for agent_id in self.store.dirty_agents():
            self.queue.add(agent_id)
        for pending in self.store.pending_writes():
            self.queue.add(pending.agent_id)

    def drain(self) -> int:
        """Reconcile due agents in this thread until none is due (tests); returns how many ran."""
        count = 0
        while (agent_id := self.queue.get(block=False)) is not None:
            self._run(agent_id)
            count += 1
        return count

    def start(self, workers: int | None = None) -> None:
        self.queue.restart()
        for number in range(workers or self.config.workers):
            thread = threading.Thread(target=self._work, name=f"reconcile-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self.queue.shut_down()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def idle(self) -> bool:
        return self.queue.idle()

    def _work(self) -> None:
        while (agent_id := self.queue.get()) is not None:
            self._run(agent_id)

    def _run(self, agent_id: int) -> None:
        try:
            result = self.reconcile(agent_id)
        except Exception:
            log.exception("reconcile failed", extra={"agent_id": agent_id})
            result = Result(requeue_at=self.clock() + 1.0)
        finally:
            self.queue.done(agent_id)
            if self.on_change is not None:
                self.on_change((agent_id,))
        if result.requeue_at is not None:
            self.queue.add_at(agent_id, result.requeue_at)

    # ------------------------------------------------------------------------------------- reconcile

    def reconcile(self, agent_id: int) -> Result:
        """Decide from the latest states, queue the writes (outbox + ledger), then make the due ones."""
        link = self.links.get(agent_id)
        if link is None:
            return Result()
        with self.store.transaction():
            rec = self.store.load_agent(agent_id)
            rec.dirty = False
            for write in self._decide(rec, link):
                self._queue_write(rec, link, write)
            self.store.save_agent(rec)
            pending = self.store.pending_writes(agent_id)
            unconfirmed = [
                max(at + self.expect_for, self.clock() + self.config.poll_interval_seconds)
                for side, at in rec.expected_at.items()
                if side not in {p.side for p in pending}
            ]
        # A write whose echo the feed already showed (say, made just before a crash) left the outbox in observe().
        due = [at for item in pending if (at := self._attempt(item, link)) is not None]
        due += [at + 0.001 for at in unconfirmed]  # look again when a landed write should have been confirmed
        return Result(requeue_at=min(due) if due else None)

    def _decide(self, rec: AgentRecord, link: AgentLink) -> list[Write]:
        """The writes that bring the agent in line, with queued writes that no longer fit cancelled."""
        now = self.clock()
        queued = {p.side: p for p in self.store.pending_writes(rec.agent_id)}
        for side, at in list(rec.expected_at.items()):
            if now - at > self.expect_for and side not in queued and self._read_since(side, at + APPLY_ALLOWANCE):
                # Landed, and two reads of the side since it could have been applied did not confirm it: stop
                # assuming (while the side cannot be read -- an outage, a token -- nothing is known either way).
                rec.expected.pop(side, None)
                rec.expected_at.pop(side, None)
        # A write still in the outbox has not been made (a made one leaves it at once): decide as if it never
        # lands, so a change that is undone while the write waits (outage, backoff) costs no write at all.
        view = rec.view(link.team_id)
        for side in queued:
            view.expected.pop(side, None)
        writes: list[Write] = []
        restore = self._restore(rec)
        if restore is not None:
            made = restore.side not in queued and rec.expected.get(restore.side) == restore.target
            if not made:  # (a restore already made waits for its echo)
                writes.append(restore)
            if restore.side == "acd":  # the other side follows the agent's own choice, not what we overwrote it with
                view.acd = restore.target
            else:
                view.sf = restore.target
        follow = decide(self.config.rules, view)
        if follow is not None:
            writes.append(follow)
        wanted = {w.side: w.target for w in writes}
        for side, item in queued.items():
            if wanted.get(side) != item.target:
                self._cancel(item)
                rec.expected.pop(side, None)
                rec.expected_at.pop(side, None)
        return [w for w in writes if not (w.side in queued and queued[w.side].target == w.target)]

    def _read_since(self, side: str, since: float) -> bool:
        """Whether a read of ``side`` started after ``since``: the earlier of the last two ended after it."""
        reads = self._reads[side]
        return len(reads) == 2 and reads[0] > since

    @staticmethod
    def _restore(rec: AgentRecord) -> Write | None:
        """A write of ours that landed over the agent's newer change to the source side puts their choice back."""
        side = rec.source
        if side is None or side not in rec.human_state:
            return None
        chosen = rec.human_state[side]
        if chosen is None or chosen == rec.observed(side) or (side == "acd" and chosen == "LoggedOut"):
            return None  # nothing to put back, or nothing a write can set (logged out)
        return Write(side, chosen, "restore the agent's own change")

    def _queue_write(self, rec: AgentRecord, link: AgentLink, write: Write) -> None:
        now = self.clock()
        command_id = uuid.uuid4().hex
        rec.previous[write.side] = previous_after_write(
            rec.view(link.team_id), write.side, rec.caused_by_us.get(write.side, False)
        )
        rec.caused_by_us[write.side] = True
        rec.expected[write.side] = write.target
        rec.expected_at[write.side] = now
        self.store.put_write(
            PendingWrite(rec.agent_id, write.side, write.target, command_id, now, rec.source_changed_at)
        )
        window = self.config.echo_window_seconds
        self.store.add_ledger(rec.agent_id, LedgerEntry(write.side, write.target, now, now + window, command_id))
        log.debug(
            "write decided",
            extra={
                "agent_id": rec.agent_id,
                "side": write.side,
                "state": write.target,
                "rule": write.rule,
                "command_id": command_id,
            },
        )

    def _attempt(self, item: PendingWrite, link: AgentLink) -> float | None:
        """Make one due write; returns when to look at it again (None: done, dropped or superseded)."""
        now = self.clock()
        if item.next_attempt_at > now:
            return item.next_attempt_at
        breaker = self.breakers[item.side]
        if not breaker.allow():
            return now + max(0.05, breaker.retry_in())
        try:
            sent_at = None
            if (item.maybe_landed or now - item.created_at > self.reread_after) and not self._still_due(item, link):
                breaker.success()
                return None  # the side already shows it, or the agent changed it meanwhile
            with self._lock:
                self._sending.add(item.command_id)
            sent_at = self._going_out(item)
            try:
                self.writers[item.side].write(item, link)
            finally:
                with self._lock:
                    self._sending.discard(item.command_id)
        except TransientVendorError as exc:
            return self._deferred(item, exc, sent_at)
        except VendorError as exc:
            self._failed(item, exc)
            return None
        self._landed(item, sent_at)
        return None

    def _going_out(self, item: PendingWrite) -> float:
        """Mark the attempt durably before it goes out: a crash now leaves its outcome unknown, and the vendor may
        still be applying it when the runtime is back, so it is read back only once it could have been applied.
        When no earlier attempt can have landed (none made, or each refused), the write's ledger entry starts
        now: a change the side shows from before this attempt went out is not its echo (an agent's choice of
        the same state during an outage was taken for the echo of a write that only went out after it)."""
        now = self.clock()
        with self.store.transaction():
            if not item.maybe_landed and now - item.created_at > self.RESTAMP_AFTER:
                entry = next((e for e in self.store.ledger(item.agent_id) if e.command_id == item.command_id), None)
                if entry is not None:
                    self.store.drop_ledger_command(item.agent_id, item.command_id)
                    self.store.add_ledger(item.agent_id, replace(entry, written_at=now))
            self.store.update_write(replace(item, maybe_landed=True, next_attempt_at=now + APPLY_ALLOWANCE))
        return now

    def _still_due(self, item: PendingWrite, link: AgentLink) -> bool:
        """Re-read the target side before a write whose outcome is unknown or whose decision is old: the read
        goes through ``observe`` (an echo confirms the write; the agent's own change cancels it)."""
        writer = self.writers[item.side]
        if not isinstance(writer, Rereader):
            return True
        current = writer.current
        try:
            observed = current(link)
        except TransientVendorError:
            raise
        except VendorError as exc:
            log.warning("re-read before a write failed", extra={"agent_id": item.agent_id, "error": str(exc)})
            if item.maybe_landed:  # it may have landed: never repeat it blind; try the read again later
                raise TransientVendorError(
                    f"could not read the side back before repeating a write: {exc}",
                    vendor=exc.vendor,
                    operation="re-read",
                    not_processed=True,
                ) from exc
            return True  # an old decision only: the read says nothing about the write, so make it
        changed = bool(self.observe(item.side, [observed])) if observed is not None else False
        still = next((p for p in self.store.pending_writes(item.agent_id) if p.command_id == item.command_id), None)
        if still is None:
            return False
        if changed:
            return False  # the side moved since the decision: decide again (the agent is queued) before writing
        estimate = self.skew[item.side].estimate
        moved_since = (
            observed is not None
            and observed.changed_at is not None
            and observed.state != still.target
            and estimate.to_ours(observed.changed_at) > still.created_at - estimate.uncertainty
        )
        if moved_since:
            # The side changed after this write was decided (or may have, within the clocks' uncertainty), to
            # something else: whether or not it landed, it is not repeated as it is -- the agent is decided again
            # from what the side shows now. (Taken for a change from before the decision, an agent's change just
            # after the write landed made it look unapplied, and it was applied twice.)
            with self.store.transaction():
                self._cancel(still)
            self.mark_dirty(item.agent_id)
            return False
        if still.maybe_landed and observed is not None and observed.changed_at is not None:
            shown_since = estimate.to_ours(observed.changed_at)
            if shown_since < still.created_at - estimate.uncertainty:
                # The side has not changed since before the write was decided: no attempt of it landed, so
                # nothing of it can come back later to be taken for the agent's change.
                with self.store.transaction():
                    self.store.unack_ledger(item.agent_id, item.command_id)
                    self.store.update_write(replace(still, maybe_landed=False))
        return True

    def _deferred(self, item: PendingWrite, exc: TransientVendorError, sent_at: float | None) -> float | None:
        """A transient failure (of the write, or of the read before it): back off and try again. A write that
        may have landed keeps its ledger entry, stamped with when the attempt ended; one the vendor refused and
        that was cancelled meanwhile leaves nothing behind to take a later change of the agent's for its echo."""
        self.breakers[item.side].failure()
        self.metrics.errors.labels(VENDOR[item.side], type(exc).__name__).inc()
        if self.on_error is not None:
            self.on_error(item, exc, True)
        attempts = item.attempts + 1
        step = min(self.retry_max, self.retry_base * 2 ** (attempts - 1))
        ended = self.clock()
        retry_at = ended + step / 2 + self.rand() * step / 2
        maybe = sent_at is not None and not certainly_not_processed(exc)
        if maybe:  # the vendor may still be applying it (both apply after answering): read back only after the
            # longest it is allowed to take, not the delay measured on answered writes (this one had trouble)
            retry_at = max(retry_at, ended + APPLY_ALLOWANCE)
        again = replace(item, attempts=attempts, next_attempt_at=retry_at, maybe_landed=item.maybe_landed or maybe)
        log.warning(
            "write deferred",
            extra={"agent_id": item.agent_id, "side": item.side, "attempts": attempts, "error": str(exc)},
        )
        with self.store.transaction():
            if maybe:
                self.store.ack_ledger(item.agent_id, item.command_id, None, ended)
            still_pending = self.store.update_write(again)
            if not still_pending and not again.maybe_landed:
                self.store.drop_ledger_command(item.agent_id, item.command_id)
        return retry_at if still_pending else None

    def _failed(self, item: PendingWrite, exc: VendorError) -> None:
        self.breakers[item.side].success()  # the vendor answered; the request itself is wrong
        self.metrics.errors.labels(VENDOR[item.side], type(exc).__name__).inc()
        if self.on_error is not None:
            self.on_error(item, exc, False)
        with self.store.transaction():
            self.store.delete_write(item.agent_id, item.side, item.command_id)
            self.store.drop_ledger_command(item.agent_id, item.command_id)
            rec = self.store.load_agent(item.agent_id)
            if rec.expected.get(item.side) == item.target:
                rec.expected.pop(item.side, None)
                rec.expected_at.pop(item.side, None)
                self.store.save_agent(rec)
        log.error("write failed", extra={"agent_id": item.agent_id, "side": item.side, "error": str(exc)})

    def _landed(self, item: PendingWrite, sent_at: float) -> None:
        self.breakers[item.side].success()
        done = self.clock()
        with self.store.transaction():
            self.store.delete_write(item.agent_id, item.side, item.command_id)
            self.store.ack_ledger(item.agent_id, item.command_id, sent_at, done)
            rec = self.store.load_agent(item.agent_id)
            if rec.expected.get(item.side) == item.target:  # its echo is due from now, not from the decision
                rec.expected_at[item.side] = done
                self.store.save_agent(rec)
        self.metrics.writes.labels(item.side).inc()
        if item.source_changed_at is not None:
            self.metrics.latency.labels(DIRECTION[item.side]).observe(max(0.0, done - item.source_changed_at))
        if self.on_write is not None:
            self.on_write(item, done)
        log.info(
            "write made",
            extra={"agent_id": item.agent_id, "side": item.side, "state": item.target, "command_id": item.command_id},
        )

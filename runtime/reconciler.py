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
from collections.abc import Callable, Mapping

from presence_sync.runtime_config import AgentLink, RuntimeConfig

from .backoff import EqualJitter
from .circuit import CircuitBreaker
from .clocks import APPLY_ALLOWANCE, SkewEstimator
from .metrics import Metrics
from .reconciler_observe import Observing
from .reconciler_outbox import Outbox
from .reconciler_types import DIRECTION, VENDOR, Observation, Rereader, Result, Writer
from .rules import LedgerEntry, Side, Write, decide, previous_after_write
from .store import AgentRecord, PendingWrite, Store
from .workqueue import KeyedWorkQueue

__all__ = ["DIRECTION", "VENDOR", "CircuitBreaker", "Observation", "Reconciler", "Rereader", "Result", "Writer"]

log = logging.getLogger("runtime.reconciler")


class Reconciler(Observing, Outbox):
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
        self.backoff = EqualJitter(retry_base, retry_max, rand)  # a failed write's next attempt
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
        self._sending = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.on_write = self.on_change = self.on_error = None  # hooks (ReconcilerBase)

    def agent_for_user(self, user_id: str | None) -> int | None:
        return None if user_id is None else self.by_user.get(user_id)

    # ------------------------------------------------------------------------------------- queue and workers

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

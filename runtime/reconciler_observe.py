"""The feeds side of the reconciler: what a feed saw becomes each agent's ordered state.

An observation that matches the echo ledger is our own write coming back: it confirms the write, teaches the
vendor's clock offset (``clocks.SkewEstimator``) and is never propagated. Anything else newer than what the side
showed -- a different state, or the same state with a newer vendor time -- is the agent's own change, and the
agent's latest change by vendor time (on our clock) is the *source* the other side follows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace

from .clocks import RECOMPUTE_ALWAYS, RECOMPUTE_EVERY, SETTLED, SkewEstimate
from .reconciler_types import Observation, ReconcilerBase
from .rules import LedgerEntry, Side, is_echo, other
from .store import AgentRecord

__all__ = ["Observing"]

log = logging.getLogger("runtime.reconciler")


class Observing(ReconcilerBase):
    OBSERVE_CHUNK = 32  # observations per store transaction in observe()
    CLOCK_CURSOR = "clock."  # + side: the clock samples, kept with the cursors

    def observe(
        self,
        side: Side,
        observations: Iterable[Observation],
        cursor: tuple[str, str | None] | None = None,
        *,
        baseline: bool = False,
        side_read: bool = True,
        read_at: float | None = None,
    ) -> list[int]:
        """Record what a feed saw, and then its cursor; returns the agents that became dirty.

        ``baseline``: the side's first snapshot in a fresh store; states are recorded, nothing is a change.
        ``side_read``: whether this was a read of the whole side (a feed's), which counts towards when a landed
        write stops being assumed without its echo; a re-read of one agent does not. ``read_at``: when that read
        ended, when it is recorded later than it happened (a routed read waits in the inbox); else now.
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
                if side_read:  # a read of one agent (a re-read before a write) says nothing of the others' echoes
                    self._reads[side].append(self.clock() if read_at is None else min(self.clock(), read_at))
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
        self._agent_changed(rec, side, obs, now, changed, estimate)
        return True

    def _agent_changed(
        self, rec: AgentRecord, side: Side, obs: Observation, now: float, changed: float, estimate: SkewEstimate
    ) -> None:
        """The agent's own change (at ``changed``, our clock): the source when it is their latest."""
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
            estimator = self.skew[side]
            estimator.sample(sent_at=echo.sent_at, acked_at=echo.acked_at, vendor_time=obs.changed_at)
            if estimator.accepted <= RECOMPUTE_ALWAYS or estimator.accepted % RECOMPUTE_EVERY == 0:
                self.store.set_cursor(self.CLOCK_CURSOR + side, json.dumps(estimator.samples()))
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

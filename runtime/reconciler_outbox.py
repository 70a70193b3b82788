"""The writes side of the reconciler: one due write attempted, re-read first when its outcome is unknown or its
decision old, and what each outcome leaves in the outbox, the echo ledger and the circuit."""

from __future__ import annotations

import logging
from dataclasses import replace

from presence_sync.clients.errors import TransientVendorError, VendorError
from presence_sync.clients.retry import certainly_not_processed
from presence_sync.runtime_config import AgentLink

from .backoff import EqualJitter, delay
from .clocks import APPLY_ALLOWANCE
from .reconciler_types import DIRECTION, VENDOR, ReconcilerBase, Rereader
from .store import PendingWrite

__all__ = ["Outbox"]

log = logging.getLogger("runtime.reconciler")


class Outbox(ReconcilerBase):
    RESTAMP_AFTER = 0.05  # seconds after its decision a write's first attempt re-stamps its ledger entry
    backoff: EqualJitter  # the delay before a failed write's next attempt

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
        changed = bool(self.observe(item.side, [observed], side_read=False)) if observed is not None else False
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
        ended = self.clock()
        retry_at = ended + delay(self.backoff, attempts)
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
            extra={
                "agent_id": item.agent_id,
                "side": item.side,
                "state": item.target,
                "command_id": item.command_id,
                "sent_at": sent_at,  # when the attempt was marked in the store, under the lease's epoch
            },
        )

"""The reconciler's vocabulary and the state its parts share (``reconciler.py`` puts them together).

``Observation`` is what a feed saw, ``Result`` what a reconcile asks of the queue, ``Writer``/``Rereader`` what
a side's writer does. ``ReconcilerBase`` holds the state ``reconciler_observe`` (feeds side) and
``reconciler_outbox`` (writes side) work on, and the two steps both need: cancelling a queued write, queueing an
agent.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from presence_sync.clients.errors import VendorError
from presence_sync.runtime_config import AgentLink, RuntimeConfig

from .circuit import CircuitBreaker
from .clocks import APPLY_ALLOWANCE, SkewEstimator
from .metrics import Metrics
from .rules import Side
from .store import PendingWrite, Store
from .workqueue import KeyedWorkQueue

__all__ = ["DIRECTION", "VENDOR", "Observation", "ReconcilerBase", "Rereader", "Result", "Writer"]

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


class ReconcilerBase:
    """The state shared by the reconciler's steps (set up by ``Reconciler.__init__``)."""

    config: RuntimeConfig
    store: Store
    writers: dict[Side, Writer]
    metrics: Metrics
    clock: Callable[[], float]
    rand: Callable[[], float]
    breakers: dict[Side, CircuitBreaker]
    skew: dict[Side, SkewEstimator]
    links: dict[int, AgentLink]
    queue: KeyedWorkQueue[int]
    reread_after: float
    _reads: dict[str, collections.deque[float]]
    _sending: set[str]  # command ids being written right now (their echo may still come)
    _lock: threading.Lock
    # Hooks for observers (the live view): never change what the reconciler does.
    on_write: Callable[[PendingWrite, float], None] | None  # (write, completed at)
    on_change: Callable[[Iterable[int]], None] | None  # agents whose record may have changed
    on_error: Callable[[PendingWrite, VendorError, bool], None] | None  # (write, error, retrying)

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
        raise NotImplementedError  # reconciler_observe.Observing

    def mark_dirty(self, agent_id: int) -> None:
        self.queue.add(agent_id)

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

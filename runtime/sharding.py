"""Several replicas on one PostgreSQL store: each reconciles the agents of the shards it leases, and one reads
the vendor feeds for all.

    feed lease holder: feeds ──observe()──▶ FeedRouter ──▶ inbox rows (+ the feed's cursor, one transaction)
                                                             │ NOTIFY
    shard owner (every replica): InboxConsumer ──take its shards' rows──▶ Reconciler.observe (one transaction)

* ``FeedRouter`` stands in for the reconciler the feeds talk to: what a feed read is queued in the store's
  inbox, one row per observation, in the transaction that moves the feed's cursor (under the feed lease), so a
  crash repeats a read but never skips one, as with one replica.
* ``InboxConsumer`` takes the rows of the shards this replica holds, whole feed reads at a time, oldest first,
  and records each read through the real ``Reconciler.observe`` in the same transaction (taken exactly when
  recorded); the agents are queued after the commit. It waits on PostgreSQL's ``LISTEN``/``NOTIFY`` when
  there is nothing to take.
* ``ShardedReconciler`` reconciles only agents whose shard lease this replica holds (an agent queued before its
  shard moved is left to its new owner); the store refuses any write under a lease that moved anyway.
* ``Replica`` runs the lease rounds (``runtime/leases.py``), the consumer, and the feeds while it holds the feed
  lease; a shard it gains has its dirty agents and pending writes queued (the outbox travels with the shard).
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from presence_sync.runtime_config import PostgresStoreConfig

from .leases import LeaseManager, Round
from .reconciler import Observation, Reconciler, Result
from .rules import Side
from .store import Fence, StaleEpoch
from .store.fence import FEED_LEASE
from .store.postgres import INBOX_CHANNEL, PostgresStore

__all__ = ["FeedRouter", "InboxConsumer", "Replica", "ShardedReconciler", "replica_id"]

log = logging.getLogger("runtime.sharding")


def replica_id() -> str:
    """This process among the replicas: the host (a pod's name) and a per-start suffix."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class ShardedReconciler(Reconciler):
    """A ``Reconciler`` that leaves agents of shards it does not hold to their owners."""

    fence: Fence

    def reconcile(self, agent_id: int) -> Result:
        if not self.fence.owns_agent(agent_id):
            return Result()
        try:
            return super().reconcile(agent_id)
        except StaleEpoch as exc:  # the shard moved while this ran: nothing was written, the new owner decides
            log.info("reconcile stopped: the agent's shard moved", extra={"agent_id": agent_id, "error": str(exc)})
            return Result()

    def observe_read(self, side: Side, observations: list[Observation], *, baseline: bool, read_at: float) -> list[int]:
        """``observe`` one routed feed read that ended at ``read_at`` (the feed holder's clock). The reconciler
        notes a read when observe returns; a routed read is recorded later than it happened (a busy owner, or
        the backlog a new owner takes over), and reads noted too late would let a landed write stop being
        assumed before its echo could come. So the note gets the read's own time back."""
        return self.observe(side, observations, baseline=baseline, read_at=read_at)

    def owned_agents(self, shards: Iterable[int] | None = None) -> list[int]:
        wanted = set(self.fence.owned_shards() if shards is None else shards)
        return [agent for agent in self.links if self.fence.shard_of(agent) in wanted]

    def mark_all_dirty(self) -> None:
        for agent_id in self.owned_agents():
            self.queue.add(agent_id)


class FeedRouter:
    """What the feeds see as their reconciler on a sharded runtime: observations go to the inbox."""

    def __init__(
        self, reconciler: Reconciler, store: PostgresStore, on_stale: Callable[[], None] | None = None
    ) -> None:
        self.reconciler = reconciler
        self.store = store
        self.on_stale = on_stale  # the feed lease moved: stop reading now, not at the next lease round

    def agent_for_user(self, user_id: str | None) -> int | None:
        return self.reconciler.agent_for_user(user_id)

    def observe(
        self,
        side: Side,
        observations: Iterable[Observation],
        cursor: tuple[str, str | None] | None = None,
        *,
        baseline: bool = False,
    ) -> list[int]:
        links = self.reconciler.links
        observed = list(observations)
        rows = [(o.agent_id, o.state, o.changed_at, o.snapshot) for o in observed if o.agent_id in links]
        # How current the read is: when it ended, or its newest change if older (a catch-up after the feed lease
        # moved reads a backlog: what it holds happened before, and counting it as a read made now would let a
        # landed write stop being assumed before its echo, further on in the backlog, could arrive).
        newest = max((o.changed_at for o in observed if o.changed_at is not None), default=None)
        read_at = self.reconciler.clock() if newest is None else min(self.reconciler.clock(), newest)
        try:
            with self.store.transaction():
                self.store.route(side, rows, baseline, read_at)
                if cursor is not None:
                    self.store.set_cursor(*cursor)
        except StaleEpoch:
            if self.on_stale is not None:
                self.on_stale()
            raise
        return []


class InboxConsumer:
    READS = 16  # feed reads taken per transaction

    def __init__(
        self,
        reconciler: ShardedReconciler,
        store: PostgresStore,
        *,
        wait: float = 0.5,
        on_drained: Callable[[], None] | None = None,
    ) -> None:
        self.reconciler = reconciler
        self.store = store
        self.wait = wait
        self.on_drained = on_drained  # called whenever the inbox of this replica's shards is found empty
        self.taken = 0

    def once(self) -> int:
        """Take and record one batch of this replica's shards; returns how many observations it took."""
        shards = self.reconciler.fence.owned_shards()
        with self.store.transaction():
            rows = self.store.take_inbox(shards, self.READS)
            # One observe() per feed read, as the feed itself would have called it: the reconciler counts reads
            # (a landed write stops being assumed after two reads that do not show it). A read with nothing for
            # these shards is not counted here, so that assumption lasts longer, never shorter.
            for _, group in itertools.groupby(rows, key=lambda r: r.read_id):
                read = list(group)
                observed = [Observation(r.agent_id, r.state, r.changed_at, r.snapshot) for r in read]
                first = read[0]
                self.reconciler.observe_read(first.side, observed, baseline=first.baseline, read_at=first.read_at)
        for agent_id in {row.agent_id for row in rows}:  # queued again after the commit: the workers see it now
            self.reconciler.mark_dirty(agent_id)
        self.taken += len(rows)
        return len(rows)

    def run(self, stop: threading.Event) -> None:
        listener: psycopg.Connection[Any] | None = None
        while not stop.is_set():
            try:
                if listener is None:
                    listener = psycopg.connect(self.store.dsn, autocommit=True)
                    listener.execute(f"LISTEN {INBOX_CHANNEL}".encode())
                if self.once():
                    continue
                if self.on_drained is not None:
                    self.on_drained()
                for _ in listener.notifies(timeout=self.wait, stop_after=1):
                    pass
            except StaleEpoch as exc:
                log.info("inbox batch refused: a shard moved", extra={"error": str(exc)})
            except Exception as exc:
                if stop.is_set():
                    break
                log.warning("inbox read failed", extra={"error": str(exc)})
                if listener is not None:
                    listener.close()
                    listener = None
                stop.wait(self.wait)
        if listener is not None:
            listener.close()


class Replica:
    """One replica's share of a sharded runtime: leases, the inbox consumer, and the feeds while it holds them."""

    def __init__(self, settings: PostgresStoreConfig, *, holder: str | None = None) -> None:
        dsn = os.environ.get(settings.dsn_env)
        if not dsn:
            raise ValueError(
                f"runtime.store.dsnEnv: the environment variable {settings.dsn_env} is not set "
                "(it holds the PostgreSQL connection string, e.g. from the rendered Secret)"
            )
        self.fence = Fence(holder or replica_id(), settings.shards)
        self.store = PostgresStore(
            dsn, fence=self.fence, pool_size=settings.pool_size, idle_in_transaction=settings.lease_seconds / 2
        )
        self.leases = LeaseManager(self.store.pool, self.fence, lease_seconds=settings.lease_seconds)
        self._stop = threading.Event()
        self._feed_stop: threading.Event | None = None
        self._gained: set[int] = set()  # shards whose agents wait for the backlog to be recorded
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.reconciler: ShardedReconciler | None = None
        self.follow_feeds: Callable[[threading.Event], None] | None = None

    def router(self, reconciler: Reconciler) -> FeedRouter:
        return FeedRouter(reconciler, self.store, on_stale=self._feed_lost)

    def _feed_lost(self) -> None:
        self.fence.revoke(FEED_LEASE)
        if self._feed_stop is not None:
            self._feed_stop.set()

    def holds_feed(self) -> bool:
        return self.fence.epoch(FEED_LEASE) is not None

    def start(self, reconciler: ShardedReconciler, follow_feeds: Callable[[threading.Event], None]) -> None:
        """Take this replica's leases (one round now), then keep them, consume the inbox and follow the feeds."""
        self.reconciler, self.follow_feeds = reconciler, follow_feeds
        self.leases.on_round = self._on_round
        try:
            self.leases.tick()
        except Exception as exc:
            log.warning("first lease round failed; retrying", extra={"error": str(exc)})
        self._spawn("leases", lambda: self.leases.run(self._stop))
        consumer = InboxConsumer(reconciler, self.store, on_drained=self._caught_up)
        self._spawn("inbox", lambda: consumer.run(self._stop))

    def _caught_up(self) -> None:
        """The inbox of the shards held is empty: the shards gained since have had their backlog recorded."""
        with self._lock:
            gained, self._gained = self._gained, set()
        reconciler = self.reconciler
        if gained and reconciler is not None:  # their dirty agents and outbox are in the store: picked up here
            for agent_id in reconciler.owned_agents(gained):
                reconciler.mark_dirty(agent_id)

    def _on_round(self, done: Round) -> None:
        reconciler = self.reconciler
        assert reconciler is not None
        gained = [int(name.split(".")[1]) for name in done.gained if name.startswith("shard.")]
        if gained:
            # Their agents are reconciled once the inbox backlog the shards carry (reads since their last owner
            # stopped) is recorded: a reconcile before that would decide without an echo still in the backlog.
            with self._lock:
                self._gained.update(gained)
            log.info("shards gained", extra={"lease": ",".join(sorted(done.gained))})
        if done.lost:
            log.info("leases lost or released", extra={"lease": ",".join(sorted(done.lost))})
        if FEED_LEASE in done.gained and self.follow_feeds is not None:
            self._feed_stop = threading.Event()
            self.follow_feeds(self._feed_stop)
        if FEED_LEASE in done.lost and self._feed_stop is not None:
            self._feed_stop.set()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def ready(self) -> tuple[bool, str]:
        return self.leases.ready()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the rounds and the consumer, then free every lease for the other replicas."""
        self._stop.set()
        if self._feed_stop is not None:
            self._feed_stop.set()
        for thread in self._threads:
            thread.join(timeout)
        try:
            self.leases.release_all()
        except Exception as exc:
            log.warning("could not release the leases; they expire instead", extra={"error": str(exc)})

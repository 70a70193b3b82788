"""Shard and feed leases in PostgreSQL: which replica owns which agents, and which one reads the vendor feeds.

Every ``interval`` (a third of the lease) each replica runs one round (``LeaseManager.tick``), each step a short
transaction of its own, on the database's clock only (replicas' clocks never meet):

1. heartbeat: its row in ``replicas`` is stamped; the live replicas are those stamped within one lease time;
2. renew: the leases it holds get ``expires_at = now + lease`` where the row still names it *and* the epoch it
   was granted; a lease not renewed was taken over (the replica was paused or cut off): it is revoked from the
   ``Fence`` at once, and the store refuses its writes anyway (``runtime/store/postgres.py``);
3. rebalance: shard ``n`` belongs to the live replica at position ``n mod live`` in id order. A shard it holds
   that now belongs to another is released (revoked from the fence first, then its row freed); a shard that
   belongs to it is taken when free or expired, with ``epoch + 1``. A take waits one round at most for the row's
   lock: a lock held longer on an expired lease is a holder frozen where the server ends nothing (mid-statement),
   whose sessions are ended (``pg_terminate_backend``, found by ``session_name``) before the take is retried;
4. the feed lease is taken by whichever replica finds it free or expired, and kept while that replica lives.

A replica that could not renew for a whole lease time revokes everything locally too. Killing a replica
(SIGKILL) costs the others one lease time plus one round before they take its shards; SIGTERM releases them at
once (``release_all``), so a rolling update hands shards over without waiting.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from .store.fence import FEED_LEASE, Fence, session_name, shard_lease

__all__ = ["LeaseManager", "Round"]

log = logging.getLogger("runtime.leases")


@dataclass(frozen=True)
class Round:
    """What one round changed: leases gained and lost (by name), and the live replicas it saw."""

    gained: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()
    live: tuple[str, ...] = ()
    wanted: frozenset[str] = field(default_factory=frozenset)


class LeaseManager:
    def __init__(
        self,
        pool: ConnectionPool,
        fence: Fence,
        *,
        lease_seconds: float = 5.0,
        on_round: Callable[[Round], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.fence = fence
        self.lease_seconds = lease_seconds
        self.interval = lease_seconds / 3
        self.on_round = on_round
        self.monotonic = monotonic
        self.last_round: Round | None = None
        self.last_renewed: float | None = None  # monotonic time of the last successful round
        self.setup()

    @property
    def me(self) -> str:
        return self.fence.holder

    def _all_shards(self) -> list[str]:
        return [shard_lease(n) for n in range(self.fence.shards)]

    def setup(self) -> None:
        """The lease rows exist (one per shard, one for the feed); the shard count is the database's own."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("INSERT INTO settings VALUES ('shards', %s) ON CONFLICT DO NOTHING", (str(self.fence.shards),))
            row = conn.execute("SELECT value FROM settings WHERE name = 'shards'").fetchone()
            if row is None or int(row[0]) != self.fence.shards:
                raise ValueError(
                    f"runtime.store.shards is {self.fence.shards} but this database was set up with {row and row[0]} "
                    "shards: the shard count of a database cannot change (set it back, or start on a new database)"
                )
            conn.execute(
                "INSERT INTO leases (name) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
                ([*self._all_shards(), FEED_LEASE],),
            )

    def tick(self) -> Round:
        """One round: heartbeat, renew, rebalance, feed. Raises the database's error when it cannot be reached."""
        before = set(self.fence.held())
        try:
            live = self._heartbeat()
            self._renew()
            wanted = self._wanted(live)
            self._release(set(self.fence.held()) - wanted - {FEED_LEASE})
            for lease in sorted(wanted - set(self.fence.held())):
                self._acquire(lease)
            if self.fence.epoch(FEED_LEASE) is None:
                self._acquire(FEED_LEASE)
        except Exception:
            self._expire_locally()
            raise
        self.last_renewed = self.monotonic()
        after = set(self.fence.held())
        done = Round(frozenset(after - before), frozenset(before - after), tuple(live), frozenset(wanted))
        self.last_round = done
        if self.on_round is not None and (done.gained or done.lost):
            self.on_round(done)
        return done

    def _heartbeat(self) -> list[str]:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO replicas VALUES (%s, clock_timestamp()) ON CONFLICT (replica_id) "
                "DO UPDATE SET seen_at = excluded.seen_at",
                (self.me,),
            )
            rows = conn.execute(
                "SELECT replica_id FROM replicas WHERE seen_at > clock_timestamp() - make_interval(secs => %s) "
                "ORDER BY replica_id",
                (self.lease_seconds,),
            ).fetchall()
        return [row[0] for row in rows]

    def _wanted(self, live: list[str]) -> set[str]:
        if self.me not in live:
            return set()
        mine = live.index(self.me)
        return {shard_lease(n) for n in range(self.fence.shards) if n % len(live) == mine}

    def _renew(self) -> None:
        held = self.fence.held()
        if not held:
            return
        names, epochs = list(held), [held[name] for name in held]
        with self.pool.connection() as conn:
            rows = conn.execute(
                "UPDATE leases AS l SET expires_at = clock_timestamp() + make_interval(secs => %s) "
                "FROM unnest(%s::text[], %s::bigint[]) AS h(name, epoch) "
                "WHERE l.name = h.name AND l.epoch = h.epoch AND l.holder = %s RETURNING l.name",
                (self.lease_seconds, names, epochs, self.me),
            ).fetchall()
        renewed = {row[0] for row in rows}
        for name in set(names) - renewed:
            self.fence.revoke(name)
            log.warning("lease lost: taken over while this replica was away", extra={"lease": name})

    def _acquire(self, lease: str) -> None:
        try:
            row = self._take(lease)
        except psycopg.errors.LockNotAvailable:
            # The row is locked by a transaction that outlived a lease round. Only a replica that stopped driving
            # its transaction where no server timeout applies (frozen inside a statement's messages or while
            # results are sent) holds it so long; once its lease has expired, its sessions are ended and the
            # takeover tried again.
            if not self._end_sessions_of_expired_holder(lease):
                raise
            row = self._take(lease)
        if row is not None:
            self.fence.grant(lease, int(row[0]))
            log.info("lease taken", extra={"lease": lease, "epoch": int(row[0])})

    def _take(self, lease: str) -> tuple[Any, ...] | None:
        with self._statement() as conn:
            return conn.execute(
                "UPDATE leases SET holder = %s, epoch = epoch + 1, "
                "expires_at = clock_timestamp() + make_interval(secs => %s) "
                "WHERE name = %s AND (holder IS NULL OR expires_at IS NULL OR expires_at < clock_timestamp()) "
                "RETURNING epoch",
                (self.me, self.lease_seconds, lease),
            ).fetchone()

    def _end_sessions_of_expired_holder(self, lease: str) -> bool:
        """End the open transactions of the replica whose expiry of ``lease`` the takeover waits for; whatever
        they were about to write is refused anyway (its epoch is stale once the lease is taken)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT holder FROM leases WHERE name = %s AND holder <> %s AND expires_at < clock_timestamp()",
                (lease, self.me),
            ).fetchone()
            if row is None:
                return False
            try:
                ended = conn.execute(  # what each was waiting for, for the log: the server's view of a frozen client
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)), "
                    "string_agg(state || ' (' || coalesce(wait_event, 'running') || ')', ', ') "
                    "FROM pg_stat_activity "
                    "WHERE application_name = %s AND datname = current_database() AND xact_start IS NOT NULL",
                    (session_name(row[0]),),
                ).fetchone()
            except psycopg.errors.InsufficientPrivilege as exc:
                raise PermissionError(
                    f"lease {lease!r} expired but its holder's transaction still locks it, and this role may not "
                    "end another session: grant the runtime's role pg_signal_backend, or run every replica as one "
                    "role"
                ) from exc
        count = int(ended[0]) if ended is not None else 0
        log.warning(
            "ended the sessions of a replica whose lease expired inside a transaction",
            extra={"lease": lease, "holder": row[0], "sessions": count, "waiting": ended and ended[1]},
        )
        return count > 0

    @contextlib.contextmanager
    def _statement(self) -> Iterator[psycopg.Connection[Any]]:
        """A lease statement waits for a row lock at most one round: a lock held longer is diagnosed, not
        waited on (the next round tries again)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(self.interval * 1000)}ms",))
            yield conn

    def _release(self, leases: set[str]) -> None:
        for lease in sorted(leases):
            epoch = self.fence.epoch(lease)
            self.fence.revoke(lease)  # no new write under it from here on
            with self.pool.connection() as conn:
                conn.execute(
                    "UPDATE leases SET holder = NULL, expires_at = NULL WHERE name = %s AND holder = %s AND epoch = %s",
                    (lease, self.me, epoch),
                )
            log.info("lease released", extra={"lease": lease})

    def _expire_locally(self) -> None:
        """The database cannot be reached: past one lease time since the last round, nothing is ours any more."""
        if self.last_renewed is not None and self.monotonic() - self.last_renewed > self.lease_seconds:
            for lease in self.fence.held():
                self.fence.revoke(lease)

    def release_all(self) -> None:
        """Graceful stop: free every lease now (the others take them on their next round) and leave."""
        self._release(set(self.fence.held()))
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM replicas WHERE replica_id = %s", (self.me,))

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = self.monotonic()
            try:
                self.tick()
            except Exception as exc:
                log.warning("lease round failed", extra={"error": str(exc)})
            stop.wait(max(0.0, self.interval - (self.monotonic() - started)))

    def ready(self) -> tuple[bool, str]:
        """Ready when the last round succeeded within a lease time and every shard assigned here is held."""
        if self.last_round is None or self.last_renewed is None:
            return False, "no lease round has succeeded yet"
        if self.monotonic() - self.last_renewed > self.lease_seconds:
            return False, "the lease database has not answered for a whole lease time"
        missing = sorted(self.last_round.wanted - set(self.fence.held()))
        if missing:
            return False, f"waiting for {len(missing)} shard lease(s) to be released: {', '.join(missing[:3])}"
        return True, "ready"

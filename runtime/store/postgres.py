"""``PostgresStore``: the runtime's state in PostgreSQL (psycopg 3 and its pool), shared by several replicas.

Same semantics as ``SqliteStore``: a feed's observations and its cursor in one transaction, the outbox, the echo
ledger, and no two transactions interleaving on one agent (the first read or write of an agent in a transaction
locks it until the end, as SQLite runs one transaction at a time; PostgreSQL's READ COMMITTED alone would let a
later commit overwrite an earlier one with what it read before). The schema is versioned in
``migrations/postgres`` and brought up to date at open, under an advisory lock so replicas starting together
apply each migration once.

Fencing: with a ``Fence``, every write is made in a transaction that first reads the row of the lease covering it
(``shard.<n>`` for an agent's rows, ``feed`` for the feed cursors and the inbox) ``FOR SHARE`` and refuses it
(``StaleEpoch``) unless the row still carries the epoch this replica was granted. The shared lock holds a
takeover (an ``UPDATE`` of that row) until the transaction ends, so no write lands after a takeover. A replica
that stops driving its transaction (SIGSTOP, a partition) has it ended by the server when it froze between
statements (``idle_in_transaction_session_timeout``); where no server timeout applies (inside a pipeline, half
way through a statement's messages, blocked sending results) the replica taking the expired lease over ends its
sessions (``runtime/leases.py``), found by their ``application_name`` (``session_name``). Reads are never
fenced; reads over all agents are limited to the shards this replica holds.

Routing (``route``/``take_inbox``): the feed lease's holder records what it read as inbox rows, one per
observation, in the transaction that moves the feed's cursor; each shard's owner takes its rows oldest first, in
the transaction that records them (``runtime/sharding.py``). A ``NOTIFY`` tells the owners there is work.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ..rules import LedgerEntry, Side
from .fence import FEED_LEASE, Fence, StaleEpoch, session_name
from .migrations import migrations
from .records import AgentRecord, PendingWrite

__all__ = ["INBOX_CHANNEL", "PostgresStore", "Routed"]

INBOX_CHANNEL = "presence_sync_inbox"
_MIGRATION_LOCK = 0x70726573  # pg_advisory_xact_lock key: one migrator at a time
_AGENT_LOCKS = 1  # pg_advisory_xact_lock(1, agent_id): one transaction per agent at a time (the two-key space)
_OUTBOX_COLUMNS = (
    "agent_id, side, target, command_id, created_at, source_changed_at, attempts, next_attempt_at, maybe_landed"
)


@dataclass(frozen=True)
class Routed:
    """An observation on its way from the feed lease's holder to its shard's owner."""

    seq: int
    read_id: int  # the feed read it came from: one read's observations are recorded together
    read_at: float  # when that read ended (the feed holder's clock)
    side: Side
    agent_id: int
    state: str | None
    changed_at: float | None
    snapshot: bool
    baseline: bool


class _Tx(threading.local):
    conn: psycopg.Connection[Any] | None = None
    checked: set[str]  # leases checked in this transaction
    locked: set[int]  # agents locked in this transaction


class PostgresStore:
    """``Store`` in PostgreSQL. ``fence``: the leases this replica holds (None: one unfenced writer, e.g. a tool).

    ``transaction()`` blocks nest per thread; the outer one commits. Outside a block each write is a transaction
    of its own (with its fence check) and each read a statement on any pooled connection.
    """

    def __init__(
        self, dsn: str, *, fence: Fence | None = None, pool_size: int = 16, idle_in_transaction: float = 5.0
    ) -> None:
        options = f"-c idle_in_transaction_session_timeout={int(idle_in_transaction * 1000)}"
        self.pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            kwargs={
                "autocommit": True,
                "options": options,
                "application_name": session_name(fence.holder if fence is not None else None),
            },
            open=True,
            name="presence-sync-store",
        )
        self.dsn = dsn
        self.fence = fence
        self.refused = 0  # writes refused for a stale or missing lease (a metric)
        self._tx = _Tx()
        try:
            self.migrate()
        except BaseException:
            self.pool.close()
            raise

    # -- schema
    def migrate(self) -> list[int]:
        """Apply the migrations this database has not had; returns their versions."""
        applied: list[int] = []
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
            for migration in migrations("postgres"):
                if migration.version in done:
                    continue
                for statement in migration.statements():
                    conn.execute(statement.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
                )
                applied.append(migration.version)
        return applied

    def schema_version(self) -> int:
        return int(self._rows("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0])

    # -- transactions and statements
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        tx = self._tx
        if tx.conn is not None:
            yield
            return
        with self.pool.connection() as conn:
            tx.conn, tx.checked, tx.locked = conn, set(), set()
            try:
                with conn.transaction():
                    yield
            finally:
                tx.conn = None

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if self._tx.conn is not None:
            cursor = self._tx.conn.execute(sql.encode(), args)
            return cursor.fetchall() if cursor.description else []
        with self.pool.connection() as conn:
            cursor = conn.execute(sql.encode(), args)
            return cursor.fetchall() if cursor.description else []

    def _write(self, leases: Iterable[str | None], sql: str, args: Sequence[object] = ()) -> int:
        """Run a write under ``leases`` (fence-checked in its transaction); returns the rows it touched."""
        with self.transaction():
            self._check(leases)
            conn = self._tx.conn
            assert conn is not None
            return conn.execute(sql.encode(), args).rowcount

    def _check(self, leases: Iterable[str | None]) -> None:
        if self.fence is None:
            return
        wanted = {lease for lease in leases if lease is not None} - self._tx.checked
        if not wanted:
            return
        held = {lease: self.fence.epoch(lease) for lease in wanted}
        current = dict(self._rows("SELECT name, epoch FROM leases WHERE name = ANY(%s) FOR SHARE", (sorted(wanted),)))
        for lease, epoch in sorted(held.items()):
            if epoch is None or current.get(lease) != epoch:
                self.refused += 1
                raise StaleEpoch(lease, epoch, current.get(lease))
        self._tx.checked |= wanted

    def _agent(self, agent_id: int) -> list[str | None]:
        return [None if self.fence is None else self.fence.lease_for_agent(agent_id)]

    def _owned_filter(self) -> tuple[str, tuple[object, ...]]:
        """A WHERE clause limiting a read over all agents to the shards this replica holds."""
        if self.fence is None:
            return "TRUE", ()
        return "agent_id %% %s = ANY(%s)", (self.fence.shards, self.fence.owned_shards())

    # -- cursors
    def get_cursor(self, name: str) -> str | None:
        rows = self._rows("SELECT value FROM cursors WHERE name = %s", (name,))
        return None if not rows else rows[0][0]

    def set_cursor(self, name: str, value: str | None) -> None:
        lease = None if self.fence is None else self.fence.lease_for_cursor(name)
        self._write(
            [lease],
            "INSERT INTO cursors VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # -- agents
    def _lock(self, agent_id: int) -> None:
        """Inside a transaction: the agent is this transaction's until it ends (see the module's docstring)."""
        conn = self._tx.conn
        if conn is not None and agent_id not in self._tx.locked:
            conn.execute(b"SELECT pg_advisory_xact_lock(%s, %s)", (_AGENT_LOCKS, agent_id))
            self._tx.locked.add(agent_id)

    def _agent_write(self, agent_id: int, sql: str, args: Sequence[object]) -> int:
        """A write of one agent's rows: locked, fenced by its shard's lease, in a transaction."""
        with self.transaction():
            self._lock(agent_id)
            return self._write(self._agent(agent_id), sql, args)

    def load_agent(self, agent_id: int) -> AgentRecord:
        self._lock(agent_id)
        rows = self._rows("SELECT data FROM agents WHERE agent_id = %s", (agent_id,))
        return AgentRecord(agent_id=agent_id) if not rows else AgentRecord(**json.loads(rows[0][0]))

    def save_agent(self, record: AgentRecord) -> None:
        self._agent_write(
            record.agent_id,
            "INSERT INTO agents VALUES (%s, %s, %s) ON CONFLICT (agent_id) DO UPDATE SET data = excluded.data, "
            "dirty = excluded.dirty",
            (record.agent_id, record.to_json(), record.dirty),
        )

    def dirty_agents(self) -> list[int]:
        where, args = self._owned_filter()
        return [r[0] for r in self._rows(f"SELECT agent_id FROM agents WHERE dirty AND {where} ORDER BY 1", args)]

    def all_agents(self) -> list[AgentRecord]:
        where, args = self._owned_filter()
        return [AgentRecord(**json.loads(r[0])) for r in self._rows(f"SELECT data FROM agents WHERE {where}", args)]

    # -- echo ledger (the meaning of each operation is documented on SqliteStore)
    def ledger(self, agent_id: int) -> list[LedgerEntry]:
        self._lock(agent_id)
        rows = self._rows(
            "SELECT side, state, written_at, expires_at, command_id, sent_at, acked_at FROM ledger "
            "WHERE agent_id = %s ORDER BY written_at",
            (agent_id,),
        )
        return [LedgerEntry(r[0], r[1], r[2], r[3], r[4], sent_at=r[5], acked_at=r[6]) for r in rows]

    def add_ledger(self, agent_id: int, entry: LedgerEntry) -> None:
        self._agent_write(
            agent_id,
            "INSERT INTO ledger (agent_id, side, state, written_at, expires_at, command_id, sent_at, acked_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (agent_id, *astuple(entry)),
        )

    def ack_ledger(self, agent_id: int, command_id: str, sent_at: float | None, acked_at: float) -> None:
        self._agent_write(
            agent_id,
            "UPDATE ledger SET sent_at = %s, acked_at = %s WHERE agent_id = %s AND command_id = %s",
            (sent_at, acked_at, agent_id, command_id),
        )

    def bound_ledger(self, agent_id: int, command_id: str, last_attempt: float) -> None:
        self._agent_write(
            agent_id,
            "UPDATE ledger SET acked_at = %s WHERE agent_id = %s AND command_id = %s AND acked_at IS NULL",
            (last_attempt, agent_id, command_id),
        )

    def unack_ledger(self, agent_id: int, command_id: str) -> None:
        self._agent_write(
            agent_id,
            "UPDATE ledger SET sent_at = NULL, acked_at = NULL WHERE agent_id = %s AND command_id = %s",
            (agent_id, command_id),
        )

    def drop_ledger_acked_before(self, agent_id: int, side: Side, before: float, keep: Collection[str] = ()) -> None:
        self._agent_write(
            agent_id,
            "DELETE FROM ledger WHERE agent_id = %s AND side = %s AND acked_at IS NOT NULL AND acked_at < %s "
            "AND NOT (command_id = ANY(%s))",
            (agent_id, side, before, list(keep)),
        )

    def consume_ledger(self, agent_id: int, side: Side, upto_written_at: float) -> None:
        self._agent_write(
            agent_id,
            "DELETE FROM ledger WHERE agent_id = %s AND side = %s AND written_at <= %s",
            (agent_id, side, upto_written_at),
        )

    def prune_ledger(self, now: float) -> int:
        if self.fence is None:
            return self._write([], "DELETE FROM ledger WHERE expires_at <= %s", (now,))
        shards = self.fence.owned_shards()
        leases = [f"shard.{shard}" for shard in shards]
        sql = "DELETE FROM ledger WHERE expires_at <= %s AND agent_id %% %s = ANY(%s)"
        return self._write(leases, sql, (now, self.fence.shards, shards)) if shards else 0

    def drop_ledger_command(self, agent_id: int, command_id: str) -> None:
        self._agent_write(
            agent_id, "DELETE FROM ledger WHERE agent_id = %s AND command_id = %s", (agent_id, command_id)
        )

    # -- outbox
    def put_write(self, write: PendingWrite) -> None:
        self._agent_write(
            write.agent_id,
            f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (agent_id, side) DO UPDATE SET target = excluded.target, command_id = excluded.command_id, "
            "created_at = excluded.created_at, source_changed_at = excluded.source_changed_at, "
            "attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, "
            "maybe_landed = excluded.maybe_landed",
            astuple(write),
        )

    def pending_writes(self, agent_id: int | None = None) -> list[PendingWrite]:
        if agent_id is not None:
            self._lock(agent_id)
        where, args = ("agent_id = %s", (agent_id,)) if agent_id is not None else self._owned_filter()
        rows = self._rows(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE {where} ORDER BY created_at", args)
        return [PendingWrite(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])) for r in rows]

    def delete_write(self, agent_id: int, side: Side, command_id: str) -> bool:
        sql = "DELETE FROM outbox WHERE agent_id = %s AND side = %s AND command_id = %s"
        return self._agent_write(agent_id, sql, (agent_id, side, command_id)) > 0

    def update_write(self, write: PendingWrite) -> bool:
        return (
            self._agent_write(
                write.agent_id,
                "UPDATE outbox SET attempts = %s, next_attempt_at = %s, maybe_landed = %s WHERE agent_id = %s "
                "AND side = %s AND command_id = %s",
                (write.attempts, write.next_attempt_at, write.maybe_landed, *astuple(write)[:2], write.command_id),
            )
            > 0
        )

    # -- routing from the feed lease's holder to the shard owners
    def route(
        self,
        side: Side,
        observed: Iterable[tuple[int, str | None, float | None, bool]],
        baseline: bool,
        read_at: float,
    ) -> int:
        """Queue ``(agent_id, state, changed_at, snapshot)`` observations of one feed read (ended at ``read_at``)
        for their shards' owners, under the feed lease, in the caller's transaction when there is one (with the
        feed's cursor); returns how many."""
        shards = 1 if self.fence is None else self.fence.shards
        rows = [(agent % shards, side, agent, state, at, snapshot, baseline) for agent, state, at, snapshot in observed]
        with self.transaction():
            self._check([FEED_LEASE] if self.fence is not None else [])
            conn = self._tx.conn
            assert conn is not None
            if rows:
                # One statement for the whole read, not one per row (executemany pipelines them): a replica frozen
                # mid-pipeline leaves its backend "active", waiting for the rest, where no server timeout ends it,
                # so its FOR SHARE on the feed row holds a takeover up until the taker ends its session.
                shard_ids, sides, agents, states, changed, snapshots, baselines = map(list, zip(*rows, strict=True))
                conn.execute(
                    b"WITH read AS (SELECT nextval('inbox_reads') AS id) INSERT INTO inbox (read_id, read_at, shard, "
                    b"side, agent_id, state, changed_at, snapshot, baseline) SELECT read.id, %s, o.shard, o.side, "
                    b"o.agent_id, o.state, o.changed_at, o.snapshot, o.baseline FROM read, unnest(%s::integer[], "
                    b"%s::text[], %s::bigint[], %s::text[], %s::double precision[], %s::boolean[], %s::boolean[]) "
                    b"WITH ORDINALITY AS o(shard, side, agent_id, state, changed_at, snapshot, baseline, n) "
                    b"ORDER BY o.n",  # in the read's order (seq)
                    (read_at, shard_ids, sides, agents, states, changed, snapshots, baselines),
                )
                conn.execute(f"NOTIFY {INBOX_CHANNEL}".encode())
        return len(rows)

    def take_inbox(self, shards: Sequence[int], reads: int = 16) -> list[Routed]:
        """Take (delete and return) the observations of ``shards`` from their oldest ``reads`` feed reads (whole
        reads), fenced by the shards' leases: call it in the transaction that records them, so they are taken
        exactly when they are recorded."""
        if not shards:
            return []
        with self.transaction():
            self._check([f"shard.{shard}" for shard in shards] if self.fence is not None else [])
            rows = self._rows(
                "DELETE FROM inbox WHERE shard = ANY(%s) AND read_id IN (SELECT DISTINCT read_id FROM inbox "
                "WHERE shard = ANY(%s) ORDER BY read_id LIMIT %s) "
                "RETURNING seq, read_id, read_at, side, agent_id, state, changed_at, snapshot, baseline",
                (list(shards), list(shards), reads),
            )
        return sorted((Routed(*row) for row in rows), key=lambda routed: routed.seq)

    def inbox_size(self) -> int:
        return int(self._rows("SELECT count(*) FROM inbox")[0][0])

    def close(self) -> None:
        self.pool.close()

"""``SqliteStore``: the runtime's state in one SQLite file (WAL), the embedded default for one replica.

The schema is versioned in ``migrations/sqlite/NNNN_*.sql``; a file is brought up to date when it is opened
(``PRAGMA user_version`` records how far), so no one runs SQL by hand.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Literal

from ..rules import LedgerEntry, Side
from .migrations import migrations
from .records import AgentRecord, PendingWrite

__all__ = ["Durability", "SqliteStore"]


# Columns added before the schema was versioned: a file written then gets them when it is first migrated.
_ADDED_COLUMNS = (
    ("ledger", "sent_at", "REAL"),
    ("ledger", "acked_at", "REAL"),
    ("outbox", "maybe_landed", "INTEGER NOT NULL DEFAULT 0"),
)

Durability = Literal["normal", "full"]


class SqliteStore:
    """``Store`` in one SQLite file, in WAL mode.

    ``durability``: ``normal`` (synchronous=NORMAL, the default) -- a committed transaction survives a crash of
    the process (kill -9, OOM) but the last transactions before a power loss or kernel crash may be lost (the
    WAL is not fsynced on every commit); the runtime then repeats a feed read from an older cursor and may
    repeat a write whose echo it no longer remembers. ``full`` (synchronous=FULL) -- every commit is fsynced
    and survives power loss too, at the cost of one fsync per transaction (see docs/runtime.md).

    One connection guarded by a re-entrant lock: ``transaction()`` blocks nest, only the outer one commits.
    """

    def __init__(self, path: str | Path, *, durability: Durability = "normal") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        self._lock = threading.RLock()
        self._depth = 0

    def _migrate(self) -> None:
        """Apply the versioned migrations this file has not had, each with its version in one transaction."""
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        for migration in migrations("sqlite"):
            if migration.version <= version:
                continue
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in migration.statements():
                    self._conn.execute(statement)
                if migration.version == 1:
                    self._add_legacy_columns()
                self._conn.execute(f"PRAGMA user_version = {migration.version:d}")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _add_legacy_columns(self) -> None:
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, args)

    # -- cursors
    def get_cursor(self, name: str) -> str | None:
        row = self._run("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def set_cursor(self, name: str, value: str | None) -> None:
        self._run(
            "INSERT INTO cursors VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value)
        )

    # -- agents
    def load_agent(self, agent_id: int) -> AgentRecord:
        row = self._run("SELECT data FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
        if row is None:
            return AgentRecord(agent_id=agent_id)
        return AgentRecord(**json.loads(row[0]))

    def save_agent(self, record: AgentRecord) -> None:
        self._run(
            "INSERT INTO agents VALUES (?, ?, ?) ON CONFLICT(agent_id) DO UPDATE SET data = excluded.data, "
            "dirty = excluded.dirty",
            (record.agent_id, record.to_json(), int(record.dirty)),
        )

    def dirty_agents(self) -> list[int]:
        return [r[0] for r in self._run("SELECT agent_id FROM agents WHERE dirty = 1 ORDER BY agent_id").fetchall()]

    def all_agents(self) -> list[AgentRecord]:
        return [AgentRecord(**json.loads(r[0])) for r in self._run("SELECT data FROM agents").fetchall()]

    # -- echo ledger
    def ledger(self, agent_id: int) -> list[LedgerEntry]:
        rows = self._run(
            "SELECT side, state, written_at, expires_at, command_id, sent_at, acked_at FROM ledger WHERE agent_id = ?",
            (agent_id,),
        ).fetchall()
        return [
            LedgerEntry(
                side=r[0], state=r[1], written_at=r[2], expires_at=r[3], command_id=r[4], sent_at=r[5], acked_at=r[6]
            )
            for r in rows
        ]

    def add_ledger(self, agent_id: int, entry: LedgerEntry) -> None:
        self._run(
            "INSERT INTO ledger (agent_id, side, state, written_at, expires_at, command_id, sent_at, acked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                agent_id,
                entry.side,
                entry.state,
                entry.written_at,
                entry.expires_at,
                entry.command_id,
                entry.sent_at,
                entry.acked_at,
            ),
        )

    def ack_ledger(self, agent_id: int, command_id: str, sent_at: float | None, acked_at: float) -> None:
        """The write's last attempt ended at ``acked_at`` (our clock): answered, having gone out at ``sent_at`` (its
        echo then measures the vendor's clock), or without an answer (``sent_at`` None: if it landed, it did so
        around then, too loosely timed to measure a clock by)."""
        self._run(
            "UPDATE ledger SET sent_at = ?, acked_at = ? WHERE agent_id = ? AND command_id = ?",
            (sent_at, acked_at, agent_id, command_id),
        )

    def bound_ledger(self, agent_id: int, command_id: str, last_attempt: float) -> None:
        """A write given up on, whose last attempt (at ``last_attempt``) had no answer: if it landed, it did so then."""
        self._run(
            "UPDATE ledger SET acked_at = ? WHERE agent_id = ? AND command_id = ? AND acked_at IS NULL",
            (last_attempt, agent_id, command_id),
        )

    def unack_ledger(self, agent_id: int, command_id: str) -> None:
        """No attempt of the write landed (a read-back showed the side unchanged): it has not been made yet."""
        self._run(
            "UPDATE ledger SET sent_at = NULL, acked_at = NULL WHERE agent_id = ? AND command_id = ?",
            (agent_id, command_id),
        )

    def drop_ledger_acked_before(self, agent_id: int, side: Side, before: float, keep: Collection[str] = ()) -> None:
        """Forget writes that could not land after ``before`` (answered, or their attempt ended without an answer):
        a change the feed shows after that time is not theirs. ``keep``: commands being attempted again now."""
        rows = self._run(
            "SELECT command_id FROM ledger WHERE agent_id = ? AND side = ? AND acked_at IS NOT NULL AND acked_at < ?",
            (agent_id, side, before),
        ).fetchall()
        for (command_id,) in rows:
            if command_id not in keep:
                self.drop_ledger_command(agent_id, command_id)

    def consume_ledger(self, agent_id: int, side: Side, upto_written_at: float) -> None:
        self._run(
            "DELETE FROM ledger WHERE agent_id = ? AND side = ? AND written_at <= ?", (agent_id, side, upto_written_at)
        )

    def prune_ledger(self, now: float) -> int:
        return self._run("DELETE FROM ledger WHERE expires_at <= ?", (now,)).rowcount

    # -- outbox
    def put_write(self, write: PendingWrite) -> None:
        self._run(
            "INSERT OR REPLACE INTO outbox (agent_id, side, target, command_id, created_at, source_changed_at, "
            "attempts, next_attempt_at, maybe_landed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                write.agent_id,
                write.side,
                write.target,
                write.command_id,
                write.created_at,
                write.source_changed_at,
                write.attempts,
                write.next_attempt_at,
                int(write.maybe_landed),
            ),
        )

    def pending_writes(self, agent_id: int | None = None) -> list[PendingWrite]:
        sql = (
            "SELECT agent_id, side, target, command_id, created_at, source_changed_at, attempts, next_attempt_at, "
            "maybe_landed FROM outbox"
        )
        sql += (" WHERE agent_id = ?" if agent_id is not None else "") + " ORDER BY created_at"
        rows = self._run(sql, (agent_id,) if agent_id is not None else ()).fetchall()
        return [
            PendingWrite(
                agent_id=r[0],
                side=r[1],
                target=r[2],
                command_id=r[3],
                created_at=r[4],
                source_changed_at=r[5],
                attempts=r[6],
                next_attempt_at=r[7],
                maybe_landed=bool(r[8]),
            )
            for r in rows
        ]

    def delete_write(self, agent_id: int, side: Side, command_id: str) -> bool:
        cursor = self._run(
            "DELETE FROM outbox WHERE agent_id = ? AND side = ? AND command_id = ?", (agent_id, side, command_id)
        )
        return cursor.rowcount > 0

    def update_write(self, write: PendingWrite) -> bool:
        """Reschedule a write that is still the pending one for its agent and side; False if it was superseded."""
        cursor = self._run(
            "UPDATE outbox SET attempts = ?, next_attempt_at = ?, maybe_landed = ? WHERE agent_id = ? "
            "AND side = ? AND command_id = ?",
            (
                write.attempts,
                write.next_attempt_at,
                int(write.maybe_landed),
                write.agent_id,
                write.side,
                write.command_id,
            ),
        )
        return cursor.rowcount > 0

    def drop_ledger_command(self, agent_id: int, command_id: str) -> None:
        self._run("DELETE FROM ledger WHERE agent_id = ? AND command_id = ?", (agent_id, command_id))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

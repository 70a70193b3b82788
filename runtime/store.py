"""Durable runtime state behind the ``Store`` protocol; ``SqliteStore`` is the default (one file, WAL).

What is kept, and why:
* ``cursors``  -- where each feed resumes (CXone ``lastPollTime``, Salesforce replay id). Saved in the same
  transaction as the states read with it, so a crash can repeat a read but never skip one.
* ``agents``   -- per agent: the latest observed state of each side, the source side, the pending (expected)
  write per side, "previous" per side, whether each side's state was caused by us, the dirty flag.
* ``ledger``   -- the echo ledger: our writes, recognisable on the other feed until they expire.
* ``outbox``   -- decided but not yet confirmed writes, one per agent and side (a newer decision replaces
  the older one), each with a command id. A kill -9 between deciding and writing loses nothing; after a
  restart a pending write whose effect the feeds already show is dropped instead of repeated.

A shared database can replace SQLite when several replicas shard the agents: implement ``Store``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from .rules import AgentView, LedgerEntry, Side

__all__ = ["AgentRecord", "Durability", "PendingWrite", "SqliteStore", "Store"]


@dataclass
class AgentRecord:
    """An agent's durable state; ``view()`` is what the rules see."""

    agent_id: int
    acd: str | None = None
    sf: str | None = None
    source: Side | None = None
    source_changed_at: float | None = None  # when the change that made ``source`` happened (our clock)
    seen_at: dict[str, float] = field(default_factory=dict)  # per side: the vendor's time of the latest state read
    human_at: dict[str, float] = field(default_factory=dict)  # per side: the agent's latest own change (our clock)
    human_state: dict[str, str | None] = field(default_factory=dict)  # per side: the state that change chose
    expected: dict[str, str] = field(default_factory=dict)
    expected_at: dict[str, float] = field(default_factory=dict)
    previous: dict[str, str | None] = field(default_factory=dict)
    caused_by_us: dict[str, bool] = field(default_factory=dict)
    dirty: bool = False

    def view(self, team_id: int | None) -> AgentView:
        return AgentView(
            agent_id=self.agent_id,
            team_id=team_id,
            acd=self.acd,
            sf=self.sf,
            source=self.source,
            expected=dict(self.expected),  # type: ignore[arg-type]
            previous=dict(self.previous),  # type: ignore[arg-type]
        )

    def to_json(self) -> str:
        """The record as stored (``dataclasses.asdict`` deep-copies through generic code: several times slower)."""
        return json.dumps(
            {
                "agent_id": self.agent_id,
                "acd": self.acd,
                "sf": self.sf,
                "source": self.source,
                "source_changed_at": self.source_changed_at,
                "seen_at": self.seen_at,
                "human_at": self.human_at,
                "human_state": self.human_state,
                "expected": self.expected,
                "expected_at": self.expected_at,
                "previous": self.previous,
                "caused_by_us": self.caused_by_us,
                "dirty": self.dirty,
            }
        )

    def observed(self, side: Side) -> str | None:
        return self.acd if side == "acd" else self.sf

    def set_observed(self, side: Side, state: str | None) -> None:
        if side == "acd":
            self.acd = state
        else:
            self.sf = state


@dataclass(frozen=True)
class PendingWrite:
    """A write in the outbox: set ``side`` of ``agent_id`` to ``target``; ``command_id`` makes it recognisable."""

    agent_id: int
    side: Side
    target: str
    command_id: str
    created_at: float
    source_changed_at: float | None = None
    attempts: int = 0
    next_attempt_at: float = 0.0
    maybe_landed: bool = False  # an attempt's outcome is unknown (no answer): re-read the side before repeating it


class Store(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def get_cursor(self, name: str) -> str | None: ...
    def set_cursor(self, name: str, value: str | None) -> None: ...
    def load_agent(self, agent_id: int) -> AgentRecord: ...
    def save_agent(self, record: AgentRecord) -> None: ...
    def dirty_agents(self) -> list[int]: ...
    def ledger(self, agent_id: int) -> list[LedgerEntry]: ...
    def add_ledger(self, agent_id: int, entry: LedgerEntry) -> None: ...
    def consume_ledger(self, agent_id: int, side: Side, upto_written_at: float) -> None: ...
    def ack_ledger(self, agent_id: int, command_id: str, sent_at: float | None, acked_at: float) -> None: ...
    def drop_ledger_acked_before(
        self, agent_id: int, side: Side, before: float, keep: Collection[str] = ()
    ) -> None: ...
    def unack_ledger(self, agent_id: int, command_id: str) -> None: ...
    def bound_ledger(self, agent_id: int, command_id: str, last_attempt: float) -> None: ...
    def prune_ledger(self, now: float) -> int: ...
    def put_write(self, write: PendingWrite) -> None: ...
    def pending_writes(self, agent_id: int | None = None) -> list[PendingWrite]: ...
    def delete_write(self, agent_id: int, side: Side, command_id: str) -> bool: ...
    def update_write(self, write: PendingWrite) -> bool: ...
    def drop_ledger_command(self, agent_id: int, command_id: str) -> None: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS agents (agent_id INTEGER PRIMARY KEY, data TEXT NOT NULL, dirty INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS agents_dirty ON agents (dirty) WHERE dirty = 1;
CREATE TABLE IF NOT EXISTS ledger (agent_id INTEGER NOT NULL, side TEXT NOT NULL, state TEXT NOT NULL,
    written_at REAL NOT NULL, expires_at REAL NOT NULL, command_id TEXT NOT NULL, sent_at REAL, acked_at REAL);
CREATE INDEX IF NOT EXISTS ledger_agent ON ledger (agent_id, side);
CREATE TABLE IF NOT EXISTS outbox (agent_id INTEGER NOT NULL, side TEXT NOT NULL, target TEXT NOT NULL,
    command_id TEXT NOT NULL, created_at REAL NOT NULL, source_changed_at REAL, attempts INTEGER NOT NULL,
    next_attempt_at REAL NOT NULL, maybe_landed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (agent_id, side));
"""

# Columns added after the first release: a store file written by an older runtime gets them at open.
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
        self._conn.executescript(_SCHEMA)
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        self._lock = threading.RLock()
        self._depth = 0

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

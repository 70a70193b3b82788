"""SQLite persistence for the CXone emulator: one connection, WAL mode, and a strictly increasing clock.

Every handler runs on the server's event loop, so one connection guarded by a lock is enough and keeps
each request to a few microseconds of SQLite work. ``write()`` is one ``BEGIN IMMEDIATE`` transaction.

Time is kept as integer milliseconds since the epoch. ``tick()`` never returns the same value twice and
never goes backwards (it survives restarts through ``meta.last_tick``), which is what makes the
``agents/states?updatedSince=<lastPollTime>`` cursor exact: a change made after a poll always carries a
``lastUpdateTime`` greater than that poll's ``lastPollTime``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import sqlite3
import threading
from collections.abc import Callable, Iterator

__all__ = ["SCHEMA_VERSION", "Store", "format_ms"]

SCHEMA_VERSION = 2  # 2: presence rules as NICE's agent SDK reads them (isActive; incontactAgentState...)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE teams (
    team_id INTEGER PRIMARY KEY, team_uuid TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    is_active INTEGER NOT NULL DEFAULT 1, description TEXT, notes TEXT, last_update INTEGER NOT NULL);
CREATE TABLE agents (
    agent_id INTEGER PRIMARY KEY, user_id TEXT NOT NULL UNIQUE, user_name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL, team_id INTEGER NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1, is_supervisor INTEGER NOT NULL DEFAULT 0, profile_id INTEGER,
    profile_name TEXT, time_zone TEXT, last_login INTEGER, last_update INTEGER NOT NULL);
CREATE INDEX agents_team ON agents(team_id);
CREATE TABLE unavailable_codes (
    code_id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE, is_active INTEGER NOT NULL DEFAULT 1,
    is_acw INTEGER NOT NULL DEFAULT 0, agent_timeout INTEGER, notes TEXT, last_update INTEGER NOT NULL);
CREATE TABLE team_codes (
    team_id INTEGER NOT NULL, code_id INTEGER NOT NULL, PRIMARY KEY (team_id, code_id)) WITHOUT ROWID;
CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY, agent_id INTEGER NOT NULL, station_phone TEXT,
    started_at INTEGER NOT NULL, ended_at INTEGER);
CREATE INDEX sessions_open ON sessions(agent_id) WHERE ended_at IS NULL;
CREATE TABLE agent_states (
    agent_id INTEGER PRIMARY KEY, state TEXT NOT NULL, out_state_id INTEGER, session_id TEXT,
    contact_id INTEGER, is_outbound INTEGER NOT NULL DEFAULT 0, start_date INTEGER NOT NULL,
    last_update INTEGER NOT NULL, resume_state TEXT, resume_code INTEGER, pending_state TEXT,
    pending_code INTEGER);
CREATE INDEX agent_states_update ON agent_states(last_update, agent_id);
CREATE TABLE state_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id INTEGER NOT NULL, state TEXT NOT NULL,
    out_state_id INTEGER, changed_at INTEGER NOT NULL, source TEXT NOT NULL, actor TEXT NOT NULL,
    session_id TEXT);
CREATE INDEX state_history_agent ON state_history(agent_id, id);
CREATE TABLE clients (client_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, name TEXT NOT NULL,
    agent_id INTEGER);
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY, agent_id INTEGER NOT NULL, secret_hash TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, last_used INTEGER);
CREATE INDEX access_keys_agent ON access_keys(agent_id);
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, agent_id INTEGER, access_key_id TEXT,
    client_id TEXT NOT NULL, expires_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE account_mappings (
    mapping_id TEXT PRIMARY KEY, partner TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE,
    agent_id INTEGER NOT NULL, access_key_id TEXT NOT NULL, sf_name TEXT NOT NULL,
    sf_instance_url TEXT NOT NULL, sf_consumer_key TEXT NOT NULL, sf_consumer_secret TEXT NOT NULL,
    is_selected INTEGER NOT NULL, created_at INTEGER NOT NULL, last_modified INTEGER NOT NULL,
    UNIQUE (partner, name));
CREATE TABLE presence_rules (
    rule_id TEXT PRIMARY KEY, partner TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE,
    priority INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
    last_modified INTEGER NOT NULL, UNIQUE (partner, name));
"""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def format_ms(ms: int | None) -> str | None:
    """Milliseconds since the epoch as CXone writes times: ``2024-05-01T12:34:56.789Z``."""
    if ms is None:
        return None
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Store:
    """The emulator's database. Open with ``Store.open``; use ``read()`` / ``write()`` for every access."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.clock = clock
        row = conn.execute("SELECT value FROM meta WHERE key = 'last_tick'").fetchone()
        self._last_tick = max(int(row[0]) if row else 0, self.now_ms() - 1)
        self._persisted_tick = self._last_tick
        self._closed = False

    @classmethod
    def open(cls, path: pathlib.Path, *, clock: Callable[[], float], reset: bool) -> tuple[Store, bool]:
        """Open (or create) the database at ``path``; returns the store and whether it is new (needs a seed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if reset:
            for suffix in ("", "-wal", "-shm"):
                pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is not None
        if exists:
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None or int(version[0]) != SCHEMA_VERSION:
                conn.close()
                raise RuntimeError(f"{path} was written by another version of the CXone emulator; start it with reset")
        else:
            conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        return cls(conn, clock), not exists

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def tick(self) -> int:
        """A timestamp (ms) later than every timestamp handed out before, and no earlier than the clock."""
        with self._lock:
            self._last_tick = max(self._last_tick + 1, self.now_ms())
            return self._last_tick

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                if self._last_tick != self._persisted_tick:
                    self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_tick', ?)", (str(self._last_tick),))
                self._conn.execute("COMMIT")
                self._persisted_tick = self._last_tick
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def meta(self, key: str) -> str | None:
        with self.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

    def close(self) -> None:
        """Persist the clock (a poll's ``lastPollTime`` may be later than the last write) and close."""
        with self._lock:
            if self._closed:
                return
            if self._last_tick != self._persisted_tick:
                self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_tick', ?)", (str(self._last_tick),))
            self._conn.close()
            self._closed = True

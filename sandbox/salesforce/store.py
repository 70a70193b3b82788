"""Durable state of the Salesforce emulator: SQLite (WAL) as the record of truth, the working set in memory.

The app runs on one event loop, so the in-memory tables are read without locks; writes go through to SQLite
under a lock (the connection may also be used from a test thread). Tables:

* ``records``   every sObject row, as JSON, keyed by id (deleted rows stay, with IsDeleted = true)
* ``metadata``  Metadata API components that are not sObjects (ConnectedApp, External Client Apps, CustomObject)
* ``tokens``    issued OAuth access / refresh tokens and authorization codes
* ``settings``  org settings the operator can change
* ``events``    the durable change feed (replay id = autoincrement row id)
* ``counters``  per-key-prefix id counters
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from .ids import make_id

__all__ = ["Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, sobject TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metadata (type TEXT NOT NULL, full_name TEXT NOT NULL, data TEXT NOT NULL,
                                     PRIMARY KEY (type, full_name));
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (replay_id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL,
                                   payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_channel ON events (channel, replay_id);
CREATE TABLE IF NOT EXISTS counters (prefix TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    def __init__(self, path: pathlib.Path, *, reset: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if reset:
            for suffix in ("", "-wal", "-shm"):
                pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.path = path
        self.fresh = reset or not path.exists()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A sandbox needs to survive a process restart, not a power cut: no fsync on commit or checkpoint.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._batch_depth = 0
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, Any] = {}
        self._counters: dict[str, int] = {}
        # (sobject, field) -> casefolded value -> ids of live records; built on first use, kept up to date.
        self._indexes: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._load()

    def _load(self) -> None:
        for id_, sobject, data in self._db.execute("SELECT id, sobject, data FROM records ORDER BY rowid"):
            self.tables.setdefault(sobject, {})[id_] = json.loads(data)
        for token, data in self._db.execute("SELECT token, data FROM tokens"):
            self.tokens[token] = json.loads(data)
        for key, value in self._db.execute("SELECT key, value FROM settings"):
            self.settings[key] = json.loads(value)
        for prefix, value in self._db.execute("SELECT prefix, value FROM counters"):
            self._counters[prefix] = value

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one SQLite transaction (one fsync instead of many)."""
        with self._lock:
            if self._batch_depth == 0:
                self._db.execute("BEGIN")
            self._batch_depth += 1
            try:
                yield
            except BaseException:
                self._batch_depth -= 1
                if self._batch_depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._db.execute("COMMIT")

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    # -- records ---------------------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        value = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = value
        self._write("INSERT OR REPLACE INTO counters (prefix, value) VALUES (?, ?)", (prefix, value))
        return make_id(prefix, value)

    def table(self, sobject: str) -> dict[str, dict[str, Any]]:
        return self.tables.setdefault(sobject, {})

    def get(self, sobject: str, id_: str) -> dict[str, Any] | None:
        table = self.tables.get(sobject)
        if table is None:
            return None
        record = table.get(id_)
        if record is None and len(id_) == 15:
            record = next((r for key, r in table.items() if key[:15] == id_), None)
        return record

    def find(self, id_: str) -> tuple[str, dict[str, Any]] | None:
        """The (sobject, record) that has this id, whatever its type."""
        for sobject, table in self.tables.items():
            record = table.get(id_) if len(id_) == 18 else self.get(sobject, id_)
            if record is not None:
                return sobject, record
        return None

    def lookup(self, sobject: str, field: str, value: str) -> set[str]:
        """Ids of live ``sobject`` records whose ``field`` equals ``value`` (case-insensitive)."""
        index = self._indexes.get((sobject, field))
        if index is None:
            index = {}
            for record in self.table(sobject).values():
                if not record.get("IsDeleted") and isinstance(record.get(field), str):
                    index.setdefault(record[field].casefold(), set()).add(record["Id"])
            self._indexes[(sobject, field)] = index
        return index.get(value.casefold(), set())

    def _unindex(self, sobject: str, record: dict[str, Any] | None) -> None:
        if record is None:
            return
        for (indexed, field), index in self._indexes.items():
            if indexed == sobject and isinstance(record.get(field), str):
                index.get(record[field].casefold(), set()).discard(record["Id"])

    def save(self, sobject: str, record: dict[str, Any]) -> None:
        self._unindex(sobject, self.table(sobject).get(record["Id"]))
        for (indexed, field), index in self._indexes.items():
            if indexed == sobject and not record.get("IsDeleted") and isinstance(record.get(field), str):
                index.setdefault(record[field].casefold(), set()).add(record["Id"])
        self.table(sobject)[record["Id"]] = record
        self._write(
            "INSERT OR REPLACE INTO records (id, sobject, data) VALUES (?, ?, ?)",
            (record["Id"], sobject, json.dumps(record)),
        )

    def purge(self, sobject: str, id_: str) -> None:
        self._unindex(sobject, self.table(sobject).pop(id_, None))
        self._write("DELETE FROM records WHERE id = ?", (id_,))

    # -- metadata components -------------------------------------------------------------------------------
    def metadata(self, type_: str, full_name: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT data FROM metadata WHERE type = ? AND full_name = ?", (type_, full_name)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def metadata_all(self, type_: str) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT data FROM metadata WHERE type = ? ORDER BY full_name", (type_,))
        return [json.loads(r[0]) for r in rows]

    def put_metadata(self, type_: str, full_name: str, data: dict[str, Any]) -> None:
        self._write(
            "INSERT OR REPLACE INTO metadata (type, full_name, data) VALUES (?, ?, ?)",
            (type_, full_name, json.dumps(data)),
        )

    def delete_metadata(self, type_: str, full_name: str) -> None:
        self._write("DELETE FROM metadata WHERE type = ? AND full_name = ?", (type_, full_name))

    # -- tokens, settings ----------------------------------------------------------------------------------
    def put_token(self, token: str, data: dict[str, Any]) -> None:
        self.tokens[token] = data
        self._write("INSERT OR REPLACE INTO tokens (token, data) VALUES (?, ?)", (token, json.dumps(data)))

    def drop_tokens(self, tokens: list[str]) -> None:
        with self.batch():
            for token in tokens:
                self.tokens.pop(token, None)
                self._write("DELETE FROM tokens WHERE token = ?", (token,))

    def set_setting(self, key: str, value: Any) -> None:
        self.settings[key] = value
        self._write("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- change feed ---------------------------------------------------------------------------------------
    def append_event(self, channel: str, payload: dict[str, Any]) -> int:
        cursor = self._write("INSERT INTO events (channel, payload) VALUES (?, ?)", (channel, json.dumps(payload)))
        return int(cursor.lastrowid or 0)

    def events(self, channel: str, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT replay_id, payload FROM events WHERE channel = ? AND replay_id > ? ORDER BY replay_id LIMIT ?",
                (channel, after, limit),
            ).fetchall()
        return [(replay_id, json.loads(payload)) for replay_id, payload in rows]

    def latest_replay_id(self, channel: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(replay_id) FROM events WHERE channel = ?", (channel,)).fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            self._db.close()

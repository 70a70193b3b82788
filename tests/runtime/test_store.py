"""The SQLite store: what is committed survives a kill -9; what is not, never half-appears."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from runtime.rules import LedgerEntry
from runtime.store import AgentRecord, PendingWrite, SqliteStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_agent_state_cursors_ledger_and_outbox_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    with store.transaction():
        store.save_agent(
            AgentRecord(
                agent_id=1,
                acd="Available",
                sf="0N5A",
                source="acd",
                previous={"sf": "0N5L"},
                caused_by_us={"sf": True},
                dirty=True,
            )
        )
        store.set_cursor("cxone.lastPollTime", "2026-11-25T10:00:00.000Z")
        store.add_ledger(1, LedgerEntry("sf", "0N5A", 10.0, 40.0, "c1"))
        store.put_write(PendingWrite(1, "sf", "0N5A", "c1", 10.0))
    store.close()

    again = SqliteStore(path)
    record = again.load_agent(1)
    assert (record.acd, record.sf, record.source, record.previous, record.dirty) == (
        "Available",
        "0N5A",
        "acd",
        {"sf": "0N5L"},
        True,
    )
    assert again.get_cursor("cxone.lastPollTime") == "2026-11-25T10:00:00.000Z"
    assert again.ledger(1) == [LedgerEntry("sf", "0N5A", 10.0, 40.0, "c1")]
    assert [w.command_id for w in again.pending_writes()] == ["c1"]
    assert again.dirty_agents() == [1]


def test_an_unknown_agent_loads_as_empty(tmp_path: Path) -> None:
    assert SqliteStore(tmp_path / "s.db").load_agent(5) == AgentRecord(agent_id=5)


def test_one_pending_write_per_agent_and_side_the_newest_wins(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put_write(PendingWrite(1, "sf", "0N5A", "old", 1.0))
    store.put_write(PendingWrite(1, "sf", "0N5B", "new", 2.0))
    store.put_write(PendingWrite(1, "acd", "Available", "other-side", 2.0))
    assert sorted((w.side, w.target) for w in store.pending_writes(1)) == [("acd", "Available"), ("sf", "0N5B")]
    # a superseded write can neither be rescheduled nor deleted by whoever still holds it
    assert not store.update_write(PendingWrite(1, "sf", "0N5A", "old", 1.0, attempts=1, next_attempt_at=5.0))
    assert not store.delete_write(1, "sf", "old")
    assert store.delete_write(1, "sf", "new")


def test_consuming_an_echo_forgets_it_and_every_older_write_of_that_side(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    for at, state in ((1.0, "A"), (2.0, "B"), (3.0, "A")):
        store.add_ledger(1, LedgerEntry("sf", state, at, at + 30, f"c{at}"))
    store.add_ledger(1, LedgerEntry("acd", "Available", 1.5, 31.5, "x"))
    store.consume_ledger(1, "sf", 2.0)
    assert sorted((e.side, e.state) for e in store.ledger(1)) == [("acd", "Available"), ("sf", "A")]
    assert store.prune_ledger(now=34.0) == 2


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        with store.transaction():
            store.set_cursor("x", "1")
            store.put_write(PendingWrite(1, "sf", "0N5A", "c", 1.0))
            raise RuntimeError("crash between deciding and recording")
    except RuntimeError:
        pass
    assert store.get_cursor("x") is None and store.pending_writes() == []


def test_a_commit_survives_kill_9_and_an_open_transaction_does_not(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from runtime.store import SqliteStore, PendingWrite
        store = SqliteStore({str(path)!r})
        with store.transaction():
            store.put_write(PendingWrite(1, "sf", "0N5A", "committed", 1.0))
            store.set_cursor("salesforce.replayId", "41")
        open_transaction = store.transaction()
        open_transaction.__enter__()
        store.put_write(PendingWrite(2, "sf", "0N5B", "uncommitted", 1.0))
        store.set_cursor("salesforce.replayId", "42")
        print("ready", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=30,
    )
    assert result.returncode == -signal.SIGKILL and "ready" in result.stdout, result.stderr
    store = SqliteStore(path)
    assert [w.command_id for w in store.pending_writes()] == ["committed"]
    assert store.get_cursor("salesforce.replayId") == "41"


def test_agent_record_json_is_every_field() -> None:
    import dataclasses
    import json

    record = AgentRecord(
        agent_id=7,
        acd="Available",
        sf=None,
        source="sf",
        source_changed_at=1.5,
        expected={"acd": "Available"},
        expected_at={"acd": 2.0},
        previous={"sf": None},
        caused_by_us={"acd": True},
        dirty=True,
    )
    assert json.loads(record.to_json()) == dataclasses.asdict(record)
    assert AgentRecord(**json.loads(record.to_json())) == record


def test_a_new_file_gets_every_versioned_migration_and_reopening_applies_none_again(tmp_path: Path) -> None:
    from runtime.store.migrations import migrations

    path = tmp_path / "versioned.db"
    SqliteStore(path).close()
    SqliteStore(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations("sqlite"))

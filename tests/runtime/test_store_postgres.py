"""The PostgreSQL store: the same semantics as SQLite, its schema migrated at open, and every write fenced by the
epoch of the lease that covers it (a stale epoch is refused by the store, whoever calls it)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from runtime.rules import LedgerEntry
from runtime.store import AgentRecord, Fence, PendingWrite, StaleEpoch
from runtime.store.migrations import migrations
from runtime.store.postgres import PostgresStore

from .support import wait_until


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_dsn)
    yield opened
    opened.close()


def grant(dsn: str, lease: str, holder: str, epoch: int) -> None:
    """What the lease manager does on a takeover: the row gets a holder and a new epoch."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO leases (name, holder, epoch, expires_at) VALUES (%s, %s, %s, now() + interval '1 minute') "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch",
            (lease, holder, epoch),
        )


def test_the_schema_is_migrated_at_open_once_and_recorded(postgres_dsn: str) -> None:
    first = PostgresStore(postgres_dsn)
    second = PostgresStore(postgres_dsn)  # a second replica starting: nothing left to apply
    try:
        assert first.schema_version() == len(migrations("postgres"))
        assert second.migrate() == []
    finally:
        first.close()
        second.close()


def test_states_cursors_ledger_and_outbox_round_trip(store: PostgresStore) -> None:
    with store.transaction():
        store.save_agent(AgentRecord(agent_id=1, acd="Available", sf="0N5A", source="acd", dirty=True))
        store.set_cursor("cxone.lastPollTime", "2026-11-25T10:00:00.000Z")
        store.add_ledger(1, LedgerEntry("sf", "0N5A", 10.0, 40.0, "c1"))
        store.put_write(PendingWrite(1, "sf", "0N5A", "c1", 10.0))
    assert (store.load_agent(1).acd, store.load_agent(1).dirty) == ("Available", True)
    assert store.get_cursor("cxone.lastPollTime") == "2026-11-25T10:00:00.000Z"
    assert store.ledger(1) == [LedgerEntry("sf", "0N5A", 10.0, 40.0, "c1")]
    assert [w.command_id for w in store.pending_writes()] == ["c1"]
    assert store.dirty_agents() == [1]
    assert store.load_agent(2) == AgentRecord(agent_id=2)


def test_one_pending_write_per_agent_and_side_the_newest_wins(store: PostgresStore) -> None:
    store.put_write(PendingWrite(1, "sf", "0N5A", "old", 1.0))
    store.put_write(PendingWrite(1, "sf", "0N5B", "new", 2.0))
    assert [(w.target, w.command_id) for w in store.pending_writes(1)] == [("0N5B", "new")]
    assert not store.update_write(PendingWrite(1, "sf", "0N5A", "old", 1.0, attempts=1))
    assert not store.delete_write(1, "sf", "old")
    assert store.update_write(PendingWrite(1, "sf", "0N5B", "new", 2.0, attempts=1, maybe_landed=True))
    assert store.pending_writes(1)[0].maybe_landed
    assert store.delete_write(1, "sf", "new")


def test_the_ledger_is_consumed_acknowledged_and_pruned(store: PostgresStore) -> None:
    for at, state in ((1.0, "A"), (2.0, "B"), (3.0, "A")):
        store.add_ledger(1, LedgerEntry("sf", state, at, at + 30, f"c{at}"))
    store.consume_ledger(1, "sf", 2.0)
    assert [e.command_id for e in store.ledger(1)] == ["c3.0"]
    store.ack_ledger(1, "c3.0", 3.1, 3.2)
    store.drop_ledger_acked_before(1, "sf", 4.0, keep={"c3.0"})
    assert [e.acked_at for e in store.ledger(1)] == [3.2]
    store.drop_ledger_acked_before(1, "sf", 4.0)
    assert store.ledger(1) == []
    store.add_ledger(2, LedgerEntry("acd", "Available", 1.0, 31.0, "x"))
    assert store.prune_ledger(now=31.0) == 1


def test_a_failed_transaction_leaves_nothing_behind(store: PostgresStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.save_agent(AgentRecord(agent_id=1, acd="Available"))
        store.set_cursor("cxone.lastPollTime", "x")
        raise RuntimeError("crash between the state and the cursor")
    assert store.load_agent(1) == AgentRecord(agent_id=1)
    assert store.get_cursor("cxone.lastPollTime") is None


def test_a_write_under_the_current_epoch_lands_and_under_a_stale_one_is_refused(postgres_dsn: str) -> None:
    fence = Fence("replica-a", shards=4)
    store = PostgresStore(postgres_dsn, fence=fence)
    try:
        grant(postgres_dsn, "shard.1", "replica-a", 7)
        fence.grant("shard.1", 7)
        store.save_agent(AgentRecord(agent_id=5, acd="Available"))  # 5 % 4 == 1
        grant(postgres_dsn, "shard.1", "replica-b", 8)  # replica-a was paused past its lease: b took over
        with pytest.raises(StaleEpoch, match=re.escape("'shard.1' epoch 7 is stale (the lease is at 8)")):
            store.save_agent(AgentRecord(agent_id=5, acd="Unavailable"))
        with pytest.raises(StaleEpoch):
            store.put_write(PendingWrite(5, "sf", "0N5A", "c1", 1.0))
        assert store.load_agent(5).acd == "Available"
        assert store.pending_writes(5) == []
        assert store.refused == 2
    finally:
        store.close()


def test_a_shard_never_granted_is_not_written_and_reads_over_all_agents_cover_only_held_shards(
    postgres_dsn: str,
) -> None:
    PostgresStore(postgres_dsn).close()
    for agent in (4, 5):
        unfenced = PostgresStore(postgres_dsn)
        unfenced.save_agent(AgentRecord(agent_id=agent, dirty=True))
        unfenced.put_write(PendingWrite(agent, "sf", "0N5A", f"c{agent}", 1.0))
        unfenced.close()
    fence = Fence("replica-a", shards=4)
    store = PostgresStore(postgres_dsn, fence=fence)
    try:
        grant(postgres_dsn, "shard.0", "replica-a", 1)
        fence.grant("shard.0", 1)
        with pytest.raises(StaleEpoch, match=re.escape("'shard.1' not held by this replica")):
            store.save_agent(AgentRecord(agent_id=5))
        assert store.dirty_agents() == [4]
        assert [w.agent_id for w in store.pending_writes()] == [4]
        assert [r.agent_id for r in store.all_agents()] == [4]
    finally:
        store.close()


def test_feed_cursors_move_only_under_the_feed_lease_and_clock_samples_under_none(postgres_dsn: str) -> None:
    fence = Fence("replica-a", shards=2)
    store = PostgresStore(postgres_dsn, fence=fence)
    try:
        store.set_cursor("clock.acd", "[]")
        with pytest.raises(StaleEpoch, match="'feed' not held"):
            store.set_cursor("cxone.lastPollTime", "t1")
        grant(postgres_dsn, "feed", "replica-a", 3)
        fence.grant("feed", 3)
        store.set_cursor("cxone.lastPollTime", "t1")
        assert store.get_cursor("cxone.lastPollTime") == "t1"
    finally:
        store.close()


def test_observations_routed_by_the_feed_holder_are_taken_once_by_their_shard_owner_in_order(
    postgres_dsn: str,
) -> None:
    feed_fence, owner_fence = Fence("reader", shards=2), Fence("owner", shards=2)
    reader, owner = PostgresStore(postgres_dsn, fence=feed_fence), PostgresStore(postgres_dsn, fence=owner_fence)
    try:
        grant(postgres_dsn, "feed", "reader", 1)
        feed_fence.grant("feed", 1)
        grant(postgres_dsn, "shard.1", "owner", 1)
        owner_fence.grant("shard.1", 1)
        with reader.transaction():
            reader.route("acd", [(1, "Available", 10.0, False), (2, "Unavailable", 11.0, False)], False, 13.0)
            reader.route("sf", [(3, "0N5A", 12.0, True)], False, 14.0)
            reader.set_cursor("cxone.lastPollTime", "t2")
        first = owner.take_inbox([1], reads=1)  # whole feed reads at a time: the CXone read first
        assert [(r.side, r.agent_id, r.state, r.snapshot) for r in first] == [("acd", 1, "Available", False)]
        second = owner.take_inbox([1])
        assert [(r.side, r.agent_id, r.state, r.snapshot) for r in second] == [("sf", 3, "0N5A", True)]
        assert first[0].read_id < second[0].read_id
        assert (first[0].read_at, second[0].read_at) == (13.0, 14.0)
        assert owner.take_inbox([1]) == []
        assert owner.inbox_size() == 1  # agent 2's shard (0) has no owner yet: it waits
        with pytest.raises(StaleEpoch):
            owner.take_inbox([0])
    finally:
        reader.close()
        owner.close()


def test_two_transactions_on_one_agent_never_interleave_so_no_update_is_lost(store: PostgresStore) -> None:
    """As with SQLite (one transaction at a time): a reconcile reading an agent while a feed batch records a change
    of it waits for that batch, and then reads the change, instead of writing back what it read before."""
    store.save_agent(AgentRecord(agent_id=1, acd="Unavailable"))
    seen: list[str | None] = []

    def reconcile() -> None:
        with store.transaction():
            record = store.load_agent(1)  # waits for the feed's transaction
            seen.append(record.acd)
            store.save_agent(replace(record, dirty=False))

    with store.transaction():
        observed = store.load_agent(1)
        other = threading.Thread(target=reconcile)
        other.start()
        wait_until(lambda: waiting_on_a_lock(store), what="the reconcile to wait for the agent")
        store.save_agent(replace(observed, acd="Available", dirty=True))
    other.join(30)
    assert seen == ["Available"]
    assert store.load_agent(1).acd == "Available"


def waiting_on_a_lock(store: PostgresStore) -> bool:
    with psycopg.connect(store.dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return row is not None and row[0] > 0

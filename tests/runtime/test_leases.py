"""Shard and feed leases: one replica owns every shard, replicas that join or leave rebalance, a replica paused
past its lease loses its shards to a new epoch and the store refuses what it writes after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.leases import LeaseManager
from runtime.store import AgentRecord, Fence, StaleEpoch
from runtime.store.postgres import PostgresStore

from .support import wait_until


class Replicas:
    """Lease managers with their fenced stores on one database, closed after the test."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.stores: list[PostgresStore] = []

    def make(self, name: str, lease_seconds: float = 1.0) -> tuple[LeaseManager, PostgresStore]:
        fence = Fence(name, shards=6)
        store = PostgresStore(self.dsn, fence=fence, pool_size=4)
        self.stores.append(store)
        return LeaseManager(store.pool, fence, lease_seconds=lease_seconds), store


@pytest.fixture
def replicas(postgres_dsn: str) -> Iterator[Replicas]:
    made = Replicas(postgres_dsn)
    yield made
    for store in made.stores:
        store.close()


def shards(manager: LeaseManager) -> list[int]:
    return manager.fence.owned_shards()


def test_one_replica_owns_every_shard_and_the_feed_and_is_ready(replicas: Replicas) -> None:
    alone, _ = replicas.make("a")
    assert alone.ready() == (False, "no lease round has succeeded yet")
    round_ = alone.tick()
    assert shards(alone) == [0, 1, 2, 3, 4, 5]
    assert "feed" in round_.gained
    assert alone.ready() == (True, "ready")


def test_a_joining_replica_gets_its_share_once_the_owner_releases_it(replicas: Replicas) -> None:
    first, _ = replicas.make("a")
    second, _ = replicas.make("b")
    first.tick()
    second.tick()  # b is live now, but a still holds everything
    assert shards(second) == []
    ready, reason = second.ready()
    assert not ready and "waiting for 3 shard lease(s) to be released" in reason
    first.tick()  # a sees b and releases b's share
    second.tick()
    assert (shards(first), shards(second)) == ([0, 2, 4], [1, 3, 5])
    assert first.fence.epoch("feed") is not None and second.fence.epoch("feed") is None
    assert second.ready() == (True, "ready")


def test_a_replica_paused_past_its_lease_loses_its_shards_to_a_new_epoch_and_its_writes_are_refused(
    replicas: Replicas,
) -> None:
    paused, paused_store = replicas.make("a")
    other, other_store = replicas.make("b")
    paused.tick()
    other.tick()
    paused.tick()
    other.tick()
    epoch_before = paused.fence.epoch("shard.0")
    paused_store.save_agent(AgentRecord(agent_id=6, acd="Available"))  # shard 0: a's
    # a stops running rounds (SIGSTOP); b's rounds see it die and take its shards once the lease has expired
    wait_until(lambda: other.tick() and shards(other) == [0, 1, 2, 3, 4, 5], timeout=30, what="b to take over")
    assert other.fence.epoch("shard.0") == (epoch_before or 0) + 1
    assert other.fence.epoch("feed") is not None
    # a resumes (SIGCONT): it still believes it holds shard 0, and the store refuses its write
    assert paused.fence.epoch("shard.0") == epoch_before
    with pytest.raises(StaleEpoch):
        paused_store.save_agent(AgentRecord(agent_id=6, acd="Unavailable"))
    other_store.save_agent(AgentRecord(agent_id=6, acd="Busy"))
    assert other_store.load_agent(6).acd == "Busy"
    paused.tick()  # its next round learns it lost them
    assert paused.fence.epoch("shard.0") is None


def test_a_graceful_stop_hands_the_shards_over_on_the_next_round(replicas: Replicas) -> None:
    leaving, _ = replicas.make("a", lease_seconds=30.0)
    staying, _ = replicas.make("b", lease_seconds=30.0)
    leaving.tick()
    staying.tick()
    leaving.tick()
    staying.tick()
    leaving.release_all()
    staying.tick()  # no lease time to wait: the rows were freed and a left the live set
    assert shards(staying) == [0, 1, 2, 3, 4, 5]
    assert staying.fence.epoch("feed") is not None


def test_the_shard_count_of_a_database_cannot_change(replicas: Replicas, postgres_dsn: str) -> None:
    replicas.make("a")
    store = PostgresStore(postgres_dsn)
    try:
        with pytest.raises(ValueError, match=r"runtime\.store\.shards is 8 but this database was set up with 6"):
            LeaseManager(store.pool, Fence("c", shards=8))
    finally:
        store.close()

"""The service on the PostgreSQL store: one replica of several. /readyz is lease ownership: ready once it holds
the shards the assignment gives it; the replica holding the feed lease is ready once the feeds read, too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.clients.errors import ConnectionFailed
from runtime.reconciler import Observation
from runtime.service import SyncService
from runtime.sharding import ShardedReconciler
from runtime.store.postgres import PostgresStore

from .fakes import Clock, config
from .test_reconciler import ADA, RereadableWriter, settled
from .test_rules import AVAILABLE
from .test_service_ready import Idle

GRACE = 8


@pytest.fixture
def replicas(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("PRESENCE_SYNC_TEST_DSN", postgres_dsn)
    built: list[SyncService] = []

    def replica() -> SyncService:
        settings = config(metrics_port=0, postgres={"dsn_env": "PRESENCE_SYNC_TEST_DSN", "shards": 4})
        service = SyncService(settings, salesforce=Idle(), cxone=Idle(), clock=Clock(1_700_000_000.0))
        service.started = True  # the feeds and threads are not started: the test runs the lease rounds itself
        built.append(service)
        return service

    yield replica
    for service in built:
        service.store.close()


def test_a_replica_is_ready_once_it_holds_its_shards_and_the_feed_holder_once_the_feeds_caught_up(
    replicas: Any,
) -> None:
    first, second = replicas(), replicas()
    assert isinstance(first.store, PostgresStore) and isinstance(first.reconciler, ShardedReconciler)
    assert second.ready() == (False, "no lease round has succeeded yet")

    assert first.replica is not None and second.replica is not None
    first.replica.leases.tick()  # alone: every shard and the feed
    assert first.replica.fence.owned_shards() == [0, 1, 2, 3] and first.replica.holds_feed()
    assert first.ready() == (False, "cxone feed not connected: no successful read since the service started")

    second.replica.leases.tick()
    ready, reason = second.ready()
    assert not ready and reason.startswith("waiting for 2 shard lease(s) to be released")
    first.replica.leases.tick()  # sees the second replica, releases its share
    second.replica.leases.tick()
    assert second.ready() == (True, "ready"), "no feed to read here: the shards are all it needs"
    assert sorted(first.replica.fence.owned_shards() + second.replica.fence.owned_shards()) == [0, 1, 2, 3]

    first.cxone_feed._ok([])
    first.salesforce_feed._ok([])
    ready, reason = first.ready()
    assert not ready and reason.startswith("cxone feed catching up")
    first.cxone_feed.caught_up = first.salesforce_feed.caught_up = True
    assert first.ready() == (True, "ready")


def test_a_landed_write_is_not_repeated_because_other_agents_writes_were_read_back(tmp_path: Path) -> None:
    """A replica that takes a shard back finds its writes without an answer and re-reads each agent before it
    repeats one. Those one-agent re-reads are not reads of the side: a landed write whose echo still waits in
    the inbox backlog stays assumed (counted as reads, they made it stop being assumed, and it was made again
    with a new command id: the duplicates of issue 16)."""
    clock = Clock()
    rec, _, _ = settled(tmp_path, clock, poll_interval_seconds=0.1)
    rec.writers["sf"] = omni = RereadableWriter("salesforce")
    rec.observe("acd", [Observation(GRACE, "Available", clock())], baseline=True)
    rec.observe("sf", [Observation(GRACE, AVAILABLE.status_id, clock())], baseline=True)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    assert [agent for agent, _, _ in omni.made] == [ADA]  # landed; its echo has not been read yet
    omni.fail_with = ConnectionFailed  # Grace's write goes out and no answer comes back, again and again
    rec.observe("acd", [Observation(GRACE, "Unavailable:Break", clock())])
    rec.drain()
    omni.shows = Observation(GRACE, AVAILABLE.status_id, clock() - 10)  # each re-read: it has not landed
    for _ in range(3):
        clock.advance(1.5)
        rec.drain()
        rec.mark_dirty(ADA)  # a routed read shows Ada's CXone side again: the consumer queues her
        rec.drain()
    assert omni.reads >= 2  # Grace's side was read back twice or more since Ada's write could have landed
    assert [p.agent_id for p in rec.store.pending_writes()] == [GRACE]
    assert [agent for agent, _, _ in omni.made] == [ADA] and omni.attempts == 2 + omni.reads

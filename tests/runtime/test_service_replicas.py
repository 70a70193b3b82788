"""The service on the PostgreSQL store: one replica of several. /readyz is lease ownership: ready once it holds
the shards the assignment gives it; the replica holding the feed lease is ready once the feeds read, too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.service import SyncService
from runtime.sharding import ShardedReconciler
from runtime.store.postgres import PostgresStore

from .fakes import Clock, config
from .test_service_ready import Idle


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


def test_a_replica_is_ready_once_it_holds_its_shards_and_the_feed_holder_once_the_feeds_read(replicas: Any) -> None:
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
    assert first.ready() == (True, "ready")

"""Shard and feed leases: one replica owns every shard, replicas that join or leave rebalance, a replica paused
past its lease loses its shards to a new epoch and the store refuses what it writes after."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest

from runtime.leases import LeaseManager
from runtime.store import AgentRecord, Fence, StaleEpoch
from runtime.store.fence import session_name
from runtime.store.postgres import PostgresStore

from .support import wait_until

# A feed lease holder in a process of its own: it takes every lease once, then routes one large feed read after
# another (what a replica does during a burst) without renewing, so its leases expire and can be taken over.
FEED_HOLDER = """
import sys
from runtime.leases import LeaseManager
from runtime.store import Fence
from runtime.store.postgres import PostgresStore

fence = Fence("a", shards=6)
store = PostgresStore(sys.argv[1], fence=fence, pool_size=2, idle_in_transaction=0.5)
LeaseManager(store.pool, fence, lease_seconds=1.0).tick()
print("holding", flush=True)
read = [(agent, "Available", 1.0, False) for agent in range(5000)]
while True:
    store.route("cxone", read, False, 1.0)
"""


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


def sessions_in_a_transaction(dsn: str, replica: str, doing: str = "") -> int:
    """How many of ``replica``'s database sessions are inside a transaction (whose last statement mentions
    ``doing``)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL "
            "AND query LIKE %s",
            (session_name(replica), f"%{doing}%"),
        ).fetchone()
    return 0 if row is None else int(row[0])


# A replica frozen inside a transaction, in a state where the server arms no timeout. Which states those are
# depends on the protocol (inside a pipeline, half way through one statement's messages, blocked sending results);
# none can be hit on purpose, so this holder turns the idle-in-transaction timeout off (0) and freezes idle.
FROZEN_IN_A_TRANSACTION = """
import sys
from runtime.leases import LeaseManager
from runtime.store import Fence
from runtime.store.postgres import PostgresStore

fence = Fence("a", shards=6)
store = PostgresStore(sys.argv[1], fence=fence, pool_size=2, idle_in_transaction=0)
LeaseManager(store.pool, fence, lease_seconds=1.0).tick()
with store.transaction():
    store.route("cxone", [], False, 1.0)  # holds the feed row FOR SHARE until the transaction ends
    print("in a transaction", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def frozen_holder(script: str, dsn: str, says: bytes, frozen_when: Callable[[], bool] | None = None) -> Iterator[None]:
    """Replica "a" in a process of its own, running ``script``: SIGSTOPped once it printed ``says`` (and
    ``frozen_when`` holds), killed by PID on the way out (a stopped process dies of SIGKILL too, its backends
    with it)."""
    holder = subprocess.Popen([sys.executable, "-c", script, dsn], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == says
        if frozen_when is not None:
            wait_until(frozen_when, timeout=60, interval=0.001, what="the moment to freeze the holder")
        os.kill(holder.pid, signal.SIGSTOP)
        yield
    finally:
        holder.kill()
        holder.wait()


@contextlib.contextmanager
def taking_over(replicas: Replicas) -> Iterator[LeaseManager]:
    """Replica "b", running its lease rounds on a thread until the block ends."""
    other, _ = replicas.make("b")
    stop = threading.Event()
    taker = threading.Thread(target=other.run, args=(stop,), daemon=True)
    taker.start()
    try:
        yield other
    finally:
        stop.set()
        taker.join(30)


def test_a_replica_frozen_inside_a_transaction_no_server_timeout_ends_has_its_sessions_ended_by_the_takeover(
    replicas: Replicas, postgres_dsn: str
) -> None:
    with frozen_holder(FROZEN_IN_A_TRANSACTION, postgres_dsn, b"in a transaction\n"), taking_over(replicas) as other:
        wait_until(lambda: other.fence.epoch("feed") is not None, timeout=60, what="b to take the feed lease")
        assert other.fence.epoch("feed") == 2 and shards(other) == [0, 1, 2, 3, 4, 5]
        assert sessions_in_a_transaction(postgres_dsn, "a") == 0


@pytest.mark.failover
@pytest.mark.parametrize("attempt", range(3))
def test_a_feed_holder_frozen_while_routing_a_read_cannot_hold_the_feed_takeover_up(
    replicas: Replicas, postgres_dsn: str, attempt: int
) -> None:
    """SIGSTOP lands while the holder routes a read: its backend holds the feed row FOR SHARE until the read's
    transaction ends. The server ends it only if the client froze between statements; frozen inside one (a
    large read's messages, a pipeline) or while results are sent, only the taker can, by ending the session."""

    def routing() -> bool:
        return sessions_in_a_transaction(postgres_dsn, "a", "INSERT INTO inbox") > 0

    with frozen_holder(FEED_HOLDER, postgres_dsn, b"holding\n", routing), taking_over(replicas) as other:
        wait_until(lambda: other.fence.epoch("feed") is not None, timeout=60, what="b to take the feed lease")
        assert other.fence.epoch("feed") == 2 and shards(other) == [0, 1, 2, 3, 4, 5]

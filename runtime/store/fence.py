"""What one replica may write: the leases it holds and the epoch each was granted under.

A lease is named ``shard.<n>`` (the agents whose id modulo the shard count is n) or ``feed`` (reading the vendor
feeds and their cursors). ``runtime/leases.py`` grants and revokes them here; ``PostgresStore`` checks, inside
every write's transaction, that the lease's row still carries the granted epoch (and locks it against a takeover
until the transaction ends). A takeover adds one to the epoch, so a replica that was paused or cut off past its
lease has its next write refused (``StaleEpoch``) even before it notices.
"""

from __future__ import annotations

import threading

__all__ = ["FEED_LEASE", "Fence", "StaleEpoch", "session_name", "shard_lease"]

FEED_LEASE = "feed"
_FEED_CURSORS = ("cxone.", "salesforce.")


def shard_lease(shard: int) -> str:
    return f"shard.{shard}"


def session_name(holder: str | None) -> str:
    """The ``application_name`` of a replica's database sessions, so that a replica taking over an expired lease
    can find the sessions of the one it replaces (``runtime/leases.py``). PostgreSQL keeps 63 bytes of it; a
    replica id ends in its per-start suffix, so the tail is kept."""
    return "presence-sync" if holder is None else f"presence-sync/{holder[-48:]}"


class StaleEpoch(RuntimeError):
    """A write under a lease this replica does not hold (never granted, released, or taken over): refused."""

    def __init__(self, lease: str, held: int | None, current: int | None) -> None:
        self.lease, self.held, self.current = lease, held, current
        what = "not held by this replica" if held is None else f"epoch {held} is stale (the lease is at {current})"
        super().__init__(f"write refused: lease {lease!r} {what}")


class Fence:
    """The leases ``holder`` holds, by name, with their epochs (thread-safe)."""

    def __init__(self, holder: str, shards: int) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.holder = holder
        self.shards = shards
        self._epochs: dict[str, int] = {}
        self._lock = threading.Lock()

    def shard_of(self, agent_id: int) -> int:
        return agent_id % self.shards

    def lease_for_agent(self, agent_id: int) -> str:
        return shard_lease(self.shard_of(agent_id))

    @staticmethod
    def lease_for_cursor(name: str) -> str | None:
        """Feed cursors move with the feed lease; other cursors (each replica's clock samples) are anyone's."""
        return FEED_LEASE if name.startswith(_FEED_CURSORS) else None

    def grant(self, lease: str, epoch: int) -> None:
        with self._lock:
            self._epochs[lease] = epoch

    def revoke(self, lease: str) -> None:
        with self._lock:
            self._epochs.pop(lease, None)

    def epoch(self, lease: str) -> int | None:
        with self._lock:
            return self._epochs.get(lease)

    def held(self) -> dict[str, int]:
        with self._lock:
            return dict(self._epochs)

    def owned_shards(self) -> list[int]:
        prefix = shard_lease(0)[:-1]
        return sorted(int(name[len(prefix) :]) for name in self.held() if name.startswith(prefix))

    def owns_agent(self, agent_id: int) -> bool:
        return self.epoch(self.lease_for_agent(agent_id)) is not None

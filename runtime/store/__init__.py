"""Durable runtime state behind the ``Store`` protocol.

``SqliteStore`` (one file, WAL) is the embedded default for one replica; ``PostgresStore`` is shared by several
replicas that split the agents into shards, each write fenced by the epoch of its shard's lease.
"""

from __future__ import annotations

from .fence import Fence, StaleEpoch
from .records import AgentRecord, PendingWrite, Store
from .sqlite import Durability, SqliteStore

__all__ = ["AgentRecord", "Durability", "Fence", "PendingWrite", "SqliteStore", "StaleEpoch", "Store"]
